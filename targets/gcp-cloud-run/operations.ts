import { gcpBotNames } from "../../config/names";
import { ServicesClient } from "@google-cloud/run";
import { GcpSecretManager } from "../../operations/gcp-secret-manager";
import { GcsStore } from "../../operations/gcs-store";
import { cloudError, EXIT, OperationError } from "../../operations/errors";
import type { BotRef, TargetOperations } from "../../operations/types";

/** A Cloud Run bot's operations: its state in its own bucket. */
export const operations: TargetOperations = {
  store({ fleet, bot }, env) {
    const project = projectOf(fleet, bot.name);
    return new GcsStore(project, gcpBotNames(fleet.name, project, bot.name).stateBucket, env);
  },
  secrets({ fleet, bot }, env) {
    const project = projectOf(fleet, bot.name);
    return new GcpSecretManager(project, gcpBotNames(fleet.name, project, bot.name).secret, env);
  },
  // A new revision through the Cloud Run Admin API: not done yet.
  async restart({ fleet, bot }) {
    const project = projectOf(fleet, bot.name);
    throw new OperationError(
      `botfleet cannot restart a Cloud Run bot yet. Start a new revision, which reads every secret again: gcloud run services update ${gcpBotNames(fleet.name, project, bot.name).service} --project ${project} --region ${bot.region} --update-env-vars BOTFLEET_RESTARTED_AT="$(date +%s)"`,
      EXIT.failed,
    );
  },
  // The service through the Cloud Run Admin API (v2, the Cloud Run client for Node.js over its
  // HTTP/JSON transport; BOTFLEET_CLOUD_RUN_ENDPOINT sets its endpoint): the latest created
  // revision's BOTFLEET_RELEASE is desired, and runs once that revision is the latest ready one.
  async status({ fleet, bot }, _store, env) {
    const project = projectOf(fleet, bot.name);
    const endpoint = env.BOTFLEET_CLOUD_RUN_ENDPOINT ? new URL(env.BOTFLEET_CLOUD_RUN_ENDPOINT) : undefined;
    const client = new ServicesClient({
      projectId: project,
      fallback: true,
      ...(endpoint && { apiEndpoint: endpoint.hostname, port: Number(endpoint.port), protocol: endpoint.protocol.replace(":", "") }),
    });
    const name = `projects/${project}/locations/${bot.region}/services/${gcpBotNames(fleet.name, project, bot.name).service}`;
    let service;
    try {
      [service] = await client.getService({ name });
    } catch (e) {
      if ((e as { code?: number }).code === 5) throw new OperationError(`the Cloud Run service ${name} does not exist: is it deployed?`, EXIT.notFound);
      throw cloudError(e, "gcp", `reading the Cloud Run service ${name}`, `roles/run.viewer on the project ${project}`);
    }
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

function projectOf(fleet: BotRef["fleet"], bot: string): string {
  if (!fleet.gcp) throw new OperationError(`${bot} runs on gcp-cloud-run, but the fleet file has no gcp.project`, EXIT.usage);
  return fleet.gcp.project;
}
