import type { IncomingMessage } from "node:http";
import { StandInServer } from "./stand-in-server";

/**
 * A stand-in of the Cloud Run Admin API (v2) for the `botfleet` command's client over its HTTP/JSON
 * transport: services.get, services.patch (a long-running operation, done at its first poll:
 * operations.get), the Service shaped as the API's discovery document defines it
 * (googleapis/google-api-go-client `run/v2/run-api.json`, GoogleCloudRunV2Service:
 * `latestReadyRevision`, `latestCreatedRevision` as full revision names, `terminalCondition`
 * {type, state, message}, `etag`, `template.containers[]` with `ports` and `env[]` {name, value});
 * errors as Google's (`error.code`, `status`). NOT Cloud Run: no IAM; a patch makes the next
 * revision the latest, ready at once.
 */
export interface StandInService {
  latestCreated: string;
  readonly latestReady?: string;
  readonly release?: string;
  readonly terminal?: { readonly state: string; readonly message?: string };
}

type Template = { containers?: { name?: string; env?: { name: string; value: string }[] }[] };

export class CloudRunStandIn extends StandInServer {
  /** Services by `projects/<p>/locations/<r>/services/<s>`. */
  readonly services = new Map<string, StandInService>();
  /** Each update, as sent. */
  readonly updates: { name: string; updateMask: string | null; template: Template }[] = [];
  /** Each long-running operation's service, by operation id. */
  private readonly operations = new Map<string, string>();

  protected answer(req: IncomingMessage, url: URL, body: string, send: (status: number, json: unknown) => void): void {
    const error = (code: number, status: string, message: string) => send(code, { error: { code, message, status } });
    if (req.headers.authorization !== "Bearer stand-in-token") return error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    const operation = /^\/v2\/projects\/[^/]+\/locations\/[^/]+\/operations\/([^/]+)$/.exec(url.pathname);
    if (operation && req.method === "GET") {
      const serviceName = this.operations.get(operation[1]) ?? "";
      const service = this.services.get(serviceName);
      if (!service) return error(404, "NOT_FOUND", `Operation '${url.pathname}' was not found`);
      return send(200, { name: url.pathname.slice("/v2/".length), done: true, response: { "@type": "type.googleapis.com/google.cloud.run.v2.Service", ...this.resource(serviceName, service) } });
    }
    const name = /^\/v2\/(projects\/[^/]+\/locations\/[^/]+\/services\/[^/]+)$/.exec(url.pathname)?.[1];
    const service = name && this.services.get(name);
    if (!name || !service) return error(404, "NOT_FOUND", `Resource '${name ?? url.pathname}' was not found`);
    if (req.method === "PATCH") {
      const sent = JSON.parse(body) as { etag?: string; template?: Template };
      if (sent.etag !== `"${service.latestCreated}"`) return error(409, "ABORTED", "The etag does not match the service's: it changed meanwhile.");
      this.updates.push({ name, updateMask: url.searchParams.get("updateMask"), template: sent.template ?? {} });
      service.latestCreated = `${service.latestCreated}-next`;
      const location = name.split("/services/")[0];
      const id = `op-${this.operations.size + 1}`;
      this.operations.set(id, name);
      return send(200, { name: `${location}/operations/${id}`, done: false });
    }
    if (req.method !== "GET") return error(405, "INVALID_ARGUMENT", "not implemented by the stand-in");
    send(200, this.resource(name, service));
  }

  private resource(name: string, service: StandInService) {
    const revision = (r: string) => `${name}/revisions/${r}`;
    return {
      name,
      latestCreatedRevision: revision(service.latestCreated),
      latestReadyRevision: revision(service.latestReady ?? service.latestCreated),
      terminalCondition: { type: "Ready", state: service.terminal?.state ?? "CONDITION_SUCCEEDED", ...(service.terminal?.message && { message: service.terminal.message }) },
      etag: `"${service.latestCreated}"`,
      template: {
        containers: [
          {
            name: "agent",
            image: "us-central1-docker.pkg.dev/p/r/openclaw:2026.3.1",
            ports: [{ containerPort: 8080 }],
            env: [{ name: "BOTFLEET_STATE_DIR", value: "/state" }, ...(service.release ? [{ name: "BOTFLEET_RELEASE", value: service.release }] : [])],
          },
          { name: "state-sync", image: "node:24.21.0-bookworm-slim", env: [{ name: "STATE_SYNC_DIR", value: "/state" }] },
        ],
      },
    };
  }
}
