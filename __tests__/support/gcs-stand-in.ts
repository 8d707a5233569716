import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

/** CRC-32C (Castagnoli), the checksum Cloud Storage keeps of every object. */
function crc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/**
 * A stand-in for the parts of the Cloud Storage JSON API and the metadata server that state-sync and
 * `botfleet` (through the Cloud Storage client for Node.js) use; object resources shaped as the JSON
 * API's discovery document defines them (googleapis/google-api-go-client `storage/v1/storage-api.json`,
 * Object: `size` and `generation` as strings, `updated` RFC 3339) — NOT an emulator: objects with generations, `ifGenerationMatch` preconditions (0 = only if
 * absent) on media, multipart and resumable uploads and deletes, listing by prefix, `updated` times and the Date header, and a token endpoint.
 * Resumable uploads as cloud.google.com/storage/docs/performing-resumable-uploads describes them: the
 * session URI in the initiating POST's Location, parts sent with `Content-Range: bytes a-b/*`
 * (answered 308 with the `Range` persisted), the last one with the total size (answered 200 with
 * the object, or 412 when the precondition given at the start no longer holds).
 * It records every request so tests can assert their shape.
 */
/** A failed precondition as the JSON API reports it (an error resource with its reason). */
const PRECONDITION_FAILED = {
  error: {
    code: 412,
    message: "At least one of the pre-conditions you specified did not hold.",
    errors: [{ reason: "conditionNotMet", message: "At least one of the pre-conditions you specified did not hold." }],
  },
};

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
  /** Resumable upload sessions by upload_id: the object's name, its precondition, the bytes so far. */
  private readonly sessions = new Map<string, { name: string; precondition?: string; parts: Buffer[]; size: number }>();
  private sessionIds = 0;
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
      if (url.pathname.startsWith("/computeMetadata/v1/")) {
        // The metadata server answers with Metadata-Flavor: Google, which Google's auth library
        // checks before it trusts an answer (gcp-metadata).
        const flavor = { "metadata-flavor": "Google" };
        if (req.headers["metadata-flavor"] !== "Google") return send(403, { error: "missing Metadata-Flavor" }, flavor);
        if (url.pathname === "/computeMetadata/v1/instance/service-accounts/default/token") return send(200, { access_token: "stand-in-token", expires_in: 3599, token_type: "Bearer" }, flavor);
        if (url.pathname === "/computeMetadata/v1/instance" || url.pathname === "/computeMetadata/v1/instance/") return send(200, "", flavor);
        if (url.pathname === "/computeMetadata/v1/project/project-id") return send(200, Buffer.from("stand-in-project"), { ...flavor, "content-type": "text/plain" });
        return send(404, "", flavor);
      }
      // A resumable session's URI is its own credential: its requests need no token.
      const session = query.upload_id !== undefined ? this.sessions.get(query.upload_id) : undefined;
      if (req.headers.authorization !== "Bearer stand-in-token" && !session) return send(401, { error: "no token" });
      const injected = this.fail?.(req.method!, query.name ?? session?.name.split("/").slice(1).join("/") ?? decodeURIComponent(url.pathname.split("/o/")[1] ?? ""));
      if (injected) return send(injected, { error: "injected by the test" });
      const precondition = query.ifGenerationMatch;
      const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (upload && req.method === "POST" && query.uploadType === "resumable") {
        const id = String(++this.sessionIds);
        this.sessions.set(id, { name: `${upload[1]}/${query.name}`, precondition, parts: [], size: 0 });
        const location = `http://${req.headers.host}/upload/storage/v1/b/${upload[1]}/o?uploadType=resumable&upload_id=${id}`;
        return send(200, "", { location });
      }
      if (upload && req.method === "PUT" && query.upload_id !== undefined) {
        if (!session) return send(404, { error: "no such upload session" });
        const range = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(req.headers["content-range"] ?? "");
        if (!range) return send(400, { error: "Content-Range" });
        const body = Buffer.concat(chunks);
        if (range[1] !== undefined) {
          if (Number(range[1]) !== session.size || Number(range[2]) - Number(range[1]) + 1 !== body.length) return send(400, { error: "Content-Range does not follow the bytes persisted" });
          session.parts.push(body);
          session.size += body.length;
        }
        if (range[3] === "*" || Number(range[3]) !== session.size) {
          if (range[3] === "*" && body.length % (256 * 1024) !== 0) return send(400, { error: "a part but the last must be a multiple of 256 KiB" });
          res.writeHead(308, session.size ? { range: `bytes=0-${session.size - 1}` } : {}).end();
          return;
        }
        this.sessions.delete(query.upload_id);
        const current = this.objects.get(session.name);
        if (session.precondition !== undefined && String(current?.generation ?? 0) !== session.precondition) return send(412, PRECONDITION_FAILED);
        const o = { data: Buffer.concat(session.parts), generation: ++this.generation, updated: new Date() };
        this.objects.set(session.name, o);
        return send(200, this.resource(session.name.split("/").slice(1).join("/"), o));
      }
      if (upload && req.method === "POST") {
        let body = Buffer.concat(chunks);
        let objectName = query.name;
        if (query.uploadType === "multipart") {
          // multipart/related: the object's metadata (JSON), then its data (Cloud Storage JSON API, objects.insert).
          const boundary = /boundary="?([^";]+)"?/.exec(req.headers["content-type"] ?? "")?.[1];
          const parts = boundary ? body.toString("latin1").split(`--${boundary}`).slice(1, -1) : [];
          const [meta, media] = parts.map((p) => p.slice(p.indexOf("\r\n\r\n") + 4, p.length - 2));
          if (media === undefined) return send(400, { error: "multipart body" });
          objectName = JSON.parse(meta).name ?? objectName;
          body = Buffer.from(media, "latin1");
        } else if (query.uploadType !== "media") return send(400, { error: "uploadType" });
        const name = `${upload[1]}/${objectName}`;
        const current = this.objects.get(name);
        if (precondition !== undefined && String(current?.generation ?? 0) !== precondition) return send(412, PRECONDITION_FAILED);
        const o = { data: body, generation: ++this.generation, updated: new Date() };
        this.objects.set(name, o);
        return send(200, this.resource(objectName, o));
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
        return send(200, { kind: "storage#objects", items: page.map((name) => this.resource(name, this.objects.get(bucket + name)!)), ...(more && { nextPageToken: page[page.length - 1] }) });
      }
      const object = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(url.pathname);
      if (object) {
        const name = `${object[1]}/${decodeURIComponent(object[2])}`;
        const current = this.objects.get(name);
        if (req.method === "DELETE") {
          if (!current) return send(404, {});
          if (precondition !== undefined && String(current.generation) !== precondition) return send(412, PRECONDITION_FAILED);
          this.objects.delete(name);
          res.writeHead(204).end();
          return;
        }
        if (!current) return send(404, {});
        if (query.alt === "media") return send(200, current.data, { "x-goog-generation": String(current.generation), "content-type": "application/octet-stream" });
        return send(200, this.resource(decodeURIComponent(object[2]), current));
      }
      send(404, { error: "not implemented by the stand-in" });
    });
  }

  /**
   * An object resource as the JSON API gives it: int64 fields as strings, times in RFC 3339, and
   * the checksums clients verify an upload with (md5Hash; crc32c, base64 of its big-endian bytes).
   */
  private resource(name: string, o: GcsObject) {
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32c(o.data));
    return {
      kind: "storage#object",
      name,
      size: String(o.data.length),
      generation: String(o.generation),
      updated: o.updated.toISOString(),
      md5Hash: createHash("md5").update(o.data).digest("base64"),
      crc32c: crc.toString("base64"),
    };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}
