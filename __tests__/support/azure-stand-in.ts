import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Reply = { status: number; body?: unknown; delayMs?: number };

/**
 * A stand-in of the instance metadata service and the Key Vault REST API on 127.0.0.1, scripted
 * per test. Token replies are consumed in order (the last one repeats); every request is logged
 * with its arrival time, so tests can check retries and backoff.
 */
export class AzureStandIn {
  readonly requests: { path: string; at: number; headers: IncomingMessage["headers"] }[] = [];
  tokenReplies: Reply[] = [{ status: 200, body: { access_token: "stand-in-token" } }];
  secrets: Record<string, Reply> = {};
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  tokenRequests(): number {
    return this.requests.filter((r) => r.path.startsWith("/metadata/identity/oauth2/token")).length;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://stand-in");
    this.requests.push({ path: `${url.pathname}${url.search}`, at: Date.now(), headers: req.headers });
    let reply: Reply;
    if (url.pathname === "/metadata/instance/compute/subscriptionId") reply = { status: 200, body: "00000000-1111-2222-3333-444444444444" };
    else if (url.pathname === "/metadata/identity/oauth2/token")
      reply = req.headers.metadata === "true" ? (this.tokenReplies.length > 1 ? this.tokenReplies.shift()! : this.tokenReplies[0]) : { status: 400, body: { error: "no Metadata header" } };
    else if (url.pathname.startsWith("/secrets/"))
      reply =
        req.headers.authorization === "Bearer stand-in-token"
          ? (this.secrets[url.pathname.slice("/secrets/".length)] ?? { status: 404, body: { error: { code: "SecretNotFound" } } })
          : { status: 401, body: { error: { code: "Unauthorized" } } };
    else reply = { status: 404, body: "not here" };
    const send = () => {
      res.writeHead(reply.status, { "content-type": typeof reply.body === "string" ? "text/plain" : "application/json" });
      res.end(typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body ?? {}));
    };
    if (reply.delayMs) setTimeout(send, reply.delayMs);
    else send();
  }
}

export const secretValue = (value: string): Reply => ({ status: 200, body: { value, id: "https://stand-in/secrets/x/1" } });
