import type { IncomingMessage } from "node:http";
import { StandInServer } from "./stand-in-server";

/**
 * A stand-in of Azure Resource Manager for Container Apps over HTTPS, for the `botfleet` command's
 * management client: ContainerApps_Get (`properties.latestRevisionName`, examples/ContainerApps_Get.json)
 * and ContainerAppsRevisions_RestartRevision (POST, 200 with no body), as azure-rest-api-specs
 * specification/app/resource-manager/Microsoft.App/ContainerApps/stable/2025-07-01/ContainerApps.json
 * and ContainerAppsRevisions.json define them; errors as ARM's `{error: {code, message}}`. NOT ARM:
 * no RBAC, no provisioning. Apps by `<subscription>/<resource group>/<app>`.
 */
export interface StandInApp {
  readonly latest: string;
  /** The latest ready revision (default: the latest). */
  readonly ready?: string;
  /** BOTFLEET_RELEASE in the template's environment. */
  readonly release?: string;
  readonly runningStatus?: string;
}

export class ArmStandIn extends StandInServer {
  readonly apps = new Map<string, StandInApp>();

  protected answer(req: IncomingMessage, url: URL, _body: string, send: (status: number, json: unknown) => void): void {
    if (!req.headers.authorization?.startsWith("Bearer ")) return send(401, { error: { code: "AuthenticationFailed", message: "Authentication failed. The 'Authorization' header is missing." } });
    if (!url.searchParams.get("api-version"))
      return send(400, { error: { code: "MissingApiVersionParameter", message: "The api-version query parameter (?api-version=) is required for all requests." } });
    const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.App\/containerApps\/([^/]+)(?:\/revisions\/([^/]+)\/restart)?$/.exec(url.pathname);
    const app = m && this.apps.get(`${m[1]}/${m[2]}/${m[3]}`);
    if (!m || !app) return send(404, { error: { code: "ResourceNotFound", message: `The Resource 'Microsoft.App/containerApps/${m?.[3]}' under resource group '${m?.[2]}' was not found.` } });
    if (req.method === "GET" && !m[4]) {
      const env = [{ name: "BOTFLEET_STATE_DIR", value: "/state" }, ...(app.release ? [{ name: "BOTFLEET_RELEASE", value: app.release }] : [])];
      return send(200, {
        id: url.pathname,
        name: m[3],
        type: "Microsoft.App/containerApps",
        location: "East US 2",
        properties: {
          provisioningState: "Succeeded",
          runningStatus: app.runningStatus ?? "Running",
          latestRevisionName: app.latest,
          latestReadyRevisionName: app.ready ?? app.latest,
          template: { containers: [{ name: "agent", image: "ghcr.io/openclaw/openclaw:2026.3.1", env }] },
        },
      });
    }
    if (req.method === "POST" && m[4] === app.latest) return send(200, {});
    send(404, { error: { code: "ContainerAppRevisionNotFound", message: `Revision '${m[4]}' not found.` } });
  }
}
