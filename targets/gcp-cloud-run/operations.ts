import { ServicesClient, type protos } from "@google-cloud/run";
import { gcpBotNames } from "../../config/names";
import { cloudRunLogs } from "../../operations/cloud-logging";
import { cloudError, EXIT, OperationError } from "../../operations/errors";
import { GcpSecretManager } from "../../operations/gcp-secret-manager";
import { GcsStore } from "../../operations/gcs-store";
import type { BotRef, TargetOperations } from "../../operations/types";

type Service = protos.google.cloud.run.v2.IService;

/**
 * A Cloud Run bot's operations: its state in its own bucket, its secrets in Secret Manager, its
 * service through the Cloud Run Admin API (v2, the Cloud Run client for Node.js over its HTTP/JSON
 * transport; BOTFLEET_CLOUD_RUN_ENDPOINT sets its endpoint, for a stand-in).
 */
export const operations: TargetOperations = {
  store({ fleet, bot }, env) {
    const project = projectOf(fleet, bot.name);
    return new GcsStore(project, gcpBotNames(fleet.name, project, bot.name).stateBucket, env);
  },
  secrets({ fleet, bot }, env) {
    const project = projectOf(fleet, bot.name);
    return new GcpSecretManager(project, gcpBotNames(fleet.name, project, bot.name).secret, env);
  },
  // A new revision, as `gcloud run services update --update-env-vars BOTFLEET_RESTARTED_AT=...`
  // makes one: the ingress (agent) container's BOTFLEET_RESTARTED_AT set to now, the service
  // updated under its etag (a long-running operation); the new revision's instances read every
  // secret's latest version. The next deploy removes the variable again: one more new revision.
  async restart(ref, env) {
    const { client, name, service } = await runService(ref, env, "restarting");
    const containers = service.template?.containers ?? [];
    const agent = containers.find((c) => c.ports?.length) ?? containers[0];
    if (!agent) throw new OperationError(`the Cloud Run service ${name} has no container to restart`, EXIT.failed);
    agent.env = [...(agent.env ?? []).filter((e) => e.name !== "BOTFLEET_RESTARTED_AT"), { name: "BOTFLEET_RESTARTED_AT", value: String(Math.floor(Date.now() / 1000)) }];
    let result: { ok: boolean; why?: string } | undefined;
    try {
      const [operation] = await client.updateService({ service: { name, etag: service.etag, template: service.template }, updateMask: { paths: ["template"] } });
      operation.promise().then(
        () => (result = { ok: true }),
        (e: Error) => (result = { ok: false, why: `the new revision failed: ${e.message.split("\n")[0]}` }),
      );
    } catch (e) {
      throw cloudError(e, "gcp", `updating the Cloud Run service ${name}`, `roles/run.developer on the project, and roles/iam.serviceAccountUser on the bot's runtime account`);
    }
    return { said: `asked Cloud Run for a new revision of ${name.split("/").pop()} (BOTFLEET_RESTARTED_AT set)`, applied: async () => result };
  },
  logs({ fleet, bot }, env, query) {
    const project = projectOf(fleet, bot.name);
    return cloudRunLogs(project, gcpBotNames(fleet.name, project, bot.name).service, env, query);
  },
  // The latest created revision's BOTFLEET_RELEASE is desired, and runs once that revision is
  // the latest ready one.
  async status(ref, _store, env) {
    const { service } = await runService(ref, env, "reading");
    const short = (revision?: string | null) => revision?.split("/").pop() ?? "none";
    const desired = service.template?.containers?.flatMap((c) => c.env ?? []).find((e) => e.name === "BOTFLEET_RELEASE")?.value ?? undefined;
    const ready = !!service.latestCreatedRevision && service.latestReadyRevision === service.latestCreatedRevision;
    const failing = service.terminalCondition && service.terminalCondition.state !== "CONDITION_SUCCEEDED" ? service.terminalCondition : undefined;
    return {
      desired,
      running: ready ? desired : undefined,
      phase: ready ? "running" : "updating",
      detail: ready ? `revision ${short(service.latestReadyRevision)}` : `revision ${short(service.latestCreatedRevision)} is not ready; ${short(service.latestReadyRevision)} serves`,
      ...(failing && { condition: { state: "degraded", reasons: [`${failing.type ?? "Ready"}: ${failing.state}: ${failing.message ?? ""}`.trim()] } }),
    };
  },
};

async function runService({ fleet, bot }: BotRef, env: NodeJS.ProcessEnv, doing: string): Promise<{ client: ServicesClient; name: string; service: Service }> {
  const project = projectOf(fleet, bot.name);
  const endpoint = env.BOTFLEET_CLOUD_RUN_ENDPOINT ? new URL(env.BOTFLEET_CLOUD_RUN_ENDPOINT) : undefined;
  const client = new ServicesClient({
    projectId: project,
    fallback: true,
    ...(endpoint && { apiEndpoint: endpoint.hostname, port: Number(endpoint.port), protocol: endpoint.protocol.replace(":", "") }),
  });
  const name = `projects/${project}/locations/${bot.region}/services/${gcpBotNames(fleet.name, project, bot.name).service}`;
  try {
    const [service] = await client.getService({ name });
    return { client, name, service };
  } catch (e) {
    if ((e as { code?: number }).code === 5) throw new OperationError(`the Cloud Run service ${name} does not exist: is it deployed?`, EXIT.notFound);
    throw cloudError(e, "gcp", `${doing} the Cloud Run service ${name}`, `roles/run.viewer on the project ${project}`);
  }
}

function projectOf(fleet: BotRef["fleet"], bot: string): string {
  if (!fleet.gcp) throw new OperationError(`${bot} runs on gcp-cloud-run, but the fleet file has no gcp.project`, EXIT.usage);
  return fleet.gcp.project;
}
