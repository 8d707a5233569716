import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/**
 * A stand-in for the parts of the Cloud Storage JSON API and the metadata server that state-sync
 * uses — NOT an emulator: objects with generations, `ifGenerationMatch` preconditions (0 = only if
 * absent) on media uploads and deletes, listing by prefix, `updated` times and the Date header, and a token endpoint.
 * It records every request so tests can assert their shape.
 */
export interface GcsObject {
  data: Buffer;
  generation: number;
  updated: Date;
}
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage["headers"];
}

export class GcsStandIn {
  readonly objects = new Map<string, GcsObject>();
  readonly requests: RecordedRequest[] = [];
  private generation = 1000;
  /** Fault injection: requests for which this returns a status get that status, empty. */
  fail?: (method: string, name: string) => number | undefined;
  private server?: Server;
  port = 0;

  async start(port = 0): Promise<number> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(port, "127.0.0.1", r));
    this.port = (this.server!.address() as { port: number }).port;
    return this.port;
  }

  /** Answers one request (also mounted by the container suite's cloud stand-in). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url!, "http://x");
      const query = Object.fromEntries(url.searchParams);
      this.requests.push({ method: req.method!, path: url.pathname, query, headers: req.headers });
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(Buffer.isBuffer(body) ? body : JSON.stringify(body));
      };
      if (url.pathname === "/computeMetadata/v1/instance/service-accounts/default/token") {
        if (req.headers["metadata-flavor"] !== "Google") return send(403, { error: "missing Metadata-Flavor" });
        return send(200, { access_token: "stand-in-token", expires_in: 3599, token_type: "Bearer" });
      }
      if (req.headers.authorization !== "Bearer stand-in-token") return send(401, { error: "no token" });
      const injected = this.fail?.(req.method!, query.name ?? decodeURIComponent(url.pathname.split("/o/")[1] ?? ""));
      if (injected) return send(injected, { error: "injected by the test" });
      const precondition = query.ifGenerationMatch;
      const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (upload && req.method === "POST") {
        if (query.uploadType !== "media") return send(400, { error: "uploadType" });
        const name = `${upload[1]}/${query.name}`;
        const current = this.objects.get(name);
        if (precondition !== undefined && String(current?.generation ?? 0) !== precondition) return send(412, { error: "conditionNotMet" });
        const o = { data: Buffer.concat(chunks), generation: ++this.generation, updated: new Date() };
        this.objects.set(name, o);
        return send(200, { name: query.name, generation: String(o.generation), updated: o.updated.toISOString() });
      }
      const listing = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (listing && req.method === "GET") {
        // objects.list: names in lexicographic order, paged by maxResults (default 1000).
        const bucket = `${listing[1]}/`;
        const names = [...this.objects.keys()]
          .filter((n) => n.startsWith(bucket + (query.prefix ?? "")))
          .map((n) => n.slice(bucket.length))
          .sort();
        const from = query.pageToken ? names.findIndex((n) => n > query.pageToken) : 0;
        const page = (from < 0 ? [] : names.slice(from)).slice(0, Number(query.maxResults ?? 1000));
        const more = from >= 0 && from + page.length < names.length;
        return send(200, { kind: "storage#objects", items: page.map((name) => ({ name })), ...(more && { nextPageToken: page[page.length - 1] }) });
      }
      const object = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
      if (object) {
        const name = `${object[1]}/${decodeURIComponent(object[2])}`;
        const current = this.objects.get(name);
        if (req.method === "DELETE") {
          if (!current) return send(404, {});
          if (precondition !== undefined && String(current.generation) !== precondition) return send(412, { error: "conditionNotMet" });
          this.objects.delete(name);
          res.writeHead(204).end();
          return;
        }
        if (!current) return send(404, {});
        if (query.alt === "media") return send(200, current.data, { "x-goog-generation": String(current.generation), "content-type": "application/octet-stream" });
        return send(200, { name: object[2], generation: String(current.generation), updated: current.updated.toISOString() });
      }
      send(404, { error: "not implemented by the stand-in" });
    });
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
