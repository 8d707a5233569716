import type { IncomingMessage } from "node:http";
import { StandInServer } from "./stand-in-server";

/**
 * A stand-in of the Secret Manager REST API (v1) for the `botfleet` command's client, over its
 * HTTP/JSON transport: secrets.addVersion and secrets.versions.list, shaped as the API's discovery
 * document defines them (googleapis/google-api-go-client `secretmanager/v1/secretmanager-api.json`:
 * AddSecretVersionRequest `payload.data` base64; SecretVersion `name`
 * `projects/*\/secrets/*\/versions/<n>`, `createTime` RFC 3339, `state`; ListSecretVersionsResponse
 * `versions`, `totalSize`), and its errors (`error.code`, `status` NOT_FOUND). NOT Secret Manager:
 * no IAM, no replication. Tokens must be the metadata stand-in's.
 */
export class SecretManagerStandIn extends StandInServer {
  /** Versions of each `projects/<p>/secrets/<id>`. */
  readonly secrets = new Map<string, { value: Buffer; createTime: string }[]>();

  protected answer(req: IncomingMessage, url: URL, body: string, send: (status: number, json: unknown) => void): void {
    const error = (code: number, status: string, message: string) => send(code, { error: { code, message, status } });
    if (req.headers.authorization !== "Bearer stand-in-token") return error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    const add = /^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+):addVersion$/.exec(url.pathname);
    if (add && req.method === "POST") {
      const data = (JSON.parse(body) as { payload?: { data?: string } }).payload?.data;
      if (typeof data !== "string") return error(400, "INVALID_ARGUMENT", "payload.data is required");
      const versions = this.secrets.get(add[1]);
      if (!versions) return error(404, "NOT_FOUND", `Secret [${add[1]}] not found or has no versions.`);
      versions.push({ value: Buffer.from(data, "base64"), createTime: new Date().toISOString() });
      return send(200, { name: `${add[1]}/versions/${versions.length}`, createTime: versions[versions.length - 1].createTime, state: "ENABLED" });
    }
    const list = /^\/v1\/(projects\/[^/]+\/secrets\/[^/:]+)\/versions$/.exec(url.pathname);
    if (list && req.method === "GET") {
      const versions = this.secrets.get(list[1]);
      if (!versions) return error(404, "NOT_FOUND", `Secret [${list[1]}] not found.`);
      const all = versions.map((v, i) => ({ name: `${list[1]}/versions/${i + 1}`, createTime: v.createTime, state: "ENABLED" })).reverse();
      return send(200, { versions: all, totalSize: all.length });
    }
    error(404, "NOT_FOUND", "not implemented by the stand-in");
  }
}
