import type { IncomingMessage } from "node:http";
import { StandInServer } from "./stand-in-server";

/**
 * A stand-in of the Cloud Run Admin API (v2) for the `botfleet` command's client over its HTTP/JSON
 * transport: services.get, the Service shaped as the API's discovery document defines it
 * (googleapis/google-api-go-client `run/v2/run-api.json`, GoogleCloudRunV2Service:
 * `latestReadyRevision`, `latestCreatedRevision` as full revision names, `terminalCondition`
 * {type, state, message}, `template.containers[].env[]` {name, value}); errors as Google's
 * (`error.code`, `status`). NOT Cloud Run: no IAM, no revisions of its own.
 */
export interface StandInService {
  readonly latestCreated: string;
  readonly latestReady?: string;
  readonly release?: string;
  readonly terminal?: { readonly state: string; readonly message?: string };
}

export class CloudRunStandIn extends StandInServer {
  /** Services by `projects/<p>/locations/<r>/services/<s>`. */
  readonly services = new Map<string, StandInService>();

  protected answer(req: IncomingMessage, url: URL, _body: string, send: (status: number, json: unknown) => void): void {
    const error = (code: number, status: string, message: string) => send(code, { error: { code, message, status } });
    if (req.headers.authorization !== "Bearer stand-in-token") return error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    const name = /^\/v2\/(projects\/[^/]+\/locations\/[^/]+\/services\/[^/]+)$/.exec(url.pathname)?.[1];
    const service = name && this.services.get(name);
    if (req.method !== "GET" || !name || !service) return error(404, "NOT_FOUND", `Resource '${name ?? url.pathname}' was not found`);
    const revision = (r: string) => `${name}/revisions/${r}`;
    send(200, {
      name,
      latestCreatedRevision: revision(service.latestCreated),
      latestReadyRevision: revision(service.latestReady ?? service.latestCreated),
      terminalCondition: { type: "Ready", state: service.terminal?.state ?? "CONDITION_SUCCEEDED", ...(service.terminal?.message && { message: service.terminal.message }) },
      template: {
        containers: [
          {
            name: "agent",
            image: "us-central1-docker.pkg.dev/p/r/openclaw:2026.3.1",
            env: [{ name: "BOTFLEET_STATE_DIR", value: "/state" }, ...(service.release ? [{ name: "BOTFLEET_RELEASE", value: service.release }] : [])],
          },
        ],
      },
    });
  }
}
