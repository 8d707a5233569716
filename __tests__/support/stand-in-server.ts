import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";

/** A stand-in of a cloud API on 127.0.0.1 (HTTPS with `tls`), handed each request with its body read. */
export abstract class StandInServer {
  /** Every request, in order, bodies included. */
  readonly requests: { method: string; path: string; authorization?: string; body: string }[] = [];
  port = 0;
  private server?: Server;

  protected abstract answer(req: IncomingMessage, url: URL, body: string, send: (status: number, json: unknown, headers?: Record<string, string>) => void): void;

  async start(tls?: { cert: string; key: string }): Promise<number> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url!, `http://127.0.0.1:${this.port}`);
        const body = Buffer.concat(chunks).toString("utf8");
        this.requests.push({ method: req.method!, path: url.pathname, authorization: req.headers.authorization, body });
        this.answer(req, url, body, (status, json, headers = {}) => {
          res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
          res.end(JSON.stringify(json));
        });
      });
    };
    this.server = tls ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler) : createHttpServer(handler);
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.port = (this.server!.address() as { port: number }).port;
    return this.port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
