import { gcpBotNames } from "../../config/names";
import { GcpSecretManager } from "../../operations/gcp-secret-manager";
import { GcsStore } from "../../operations/gcs-store";
import { OperationError, EXIT } from "../../operations/errors";
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
  // The serving revision and its condition are the Cloud Run Admin API's; not read yet.
  status: async () => ({ unknown: "the serving revision is not read yet: see its BOTFLEET_RELEASE in the console or Cloud Logging (docs/day-2.md)" }),
};

function projectOf(fleet: BotRef["fleet"], bot: string): string {
  if (!fleet.gcp) throw new OperationError(`${bot} runs on gcp-cloud-run, but the fleet file has no gcp.project`, EXIT.usage);
  return fleet.gcp.project;
}
