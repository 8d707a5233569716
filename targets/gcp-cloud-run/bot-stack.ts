import { CloudRunV2ServiceIamMember } from "@cdktf/provider-google/lib/cloud-run-v2-service-iam-member";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { DataGoogleServiceAccount } from "@cdktf/provider-google/lib/data-google-service-account";
import { StorageBucket } from "@cdktf/provider-google/lib/storage-bucket";
import { StorageBucketIamMember } from "@cdktf/provider-google/lib/storage-bucket-iam-member";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { TimeProvider } from "@cdktf/provider-time/lib/provider";
import { Sleep } from "@cdktf/provider-time/lib/sleep";
import { botOutputs } from "../../constructs/bot-outputs";
import type { Construct } from "constructs";
import { mebibytes } from "../../contracts";
import { containerLaunch } from "../../bootstrap/container";
import { MANAGED_FRONT_END_PROXIES } from "../../bootstrap/front-ends";
import type { BotOf, Fleet } from "../../config/load";
import { gcpBotNames } from "../../config/names";
import { CLOUD_RUN_SIZES } from ".";
import type { AgentRuntime } from "../../runtimes/runtime";
import { FleetStack, fleetTags } from "../../constructs/fleet-stack";
import { SecretManagerBotSecrets } from "../../constructs/secret-manager-bot-secrets";
import { BotService, cloudRunServiceImages } from "./bot-service";
import { CloudRunBotAlerts } from "./bot-alerts";
import { MANAGED_BOTFLEET_ALARMS, runtimeAlarms } from "../../bootstrap/alarms";

/**
 * How long the first revision waits after the bot's IAM grants. Google: changes to allow policies
 * "typically propagate in 2 minutes, but could potentially take 7 minutes or longer" (IAM docs,
 * "Access change propagation"). A revision that cannot read its secrets fails,
 * and the provider keeps the service tainted (it stores the ID before waiting for the operation:
 * google v6.50.0 google/services/cloudrunv2/resource_cloud_run_v2_service.go, Create), which
 * deletion_protection then refuses to replace. Waited at creation, and again when a grant is added.
 */
export const IAM_PROPAGATION_WAIT = "7m";

/** Noncurrent versions of state files are kept this long, then deleted. */
export const STATE_VERSION_RETENTION_DAYS = 30;

/**
 * One bot on Google Cloud Run (stack named as the bot): exactly one always-on instance with CPU
 * always allocated, its own service account, Secret Manager secrets only that account can read
 * (injected as secret references, never values), live state on an in-memory volume of the
 * instance with its durable copy in its own versioned, private Cloud Storage bucket (kept by the
 * state-sync sidecar under a lock object: one writer at a time), probes on the runtime's health
 * path, and no public invoker unless the bot opts in. Depends on no other stack.
 */
export class GcpCloudRunBotStack extends FleetStack {
  constructor(scope: Construct, fleet: Fleet, bot: BotOf<"gcp-cloud-run">, runtime: AgentRuntime) {
    super(scope, bot.name, fleet, { bot, runtime });
    const project = bot.project;
    const names = gcpBotNames(fleet.name, project, bot.name);
    const labels = fleetTags(fleet.name, bot.name);

    new GoogleProvider(this, "google", { project, region: bot.region });
    new RandomProvider(this, "random", {});
    new TimeProvider(this, "time", {});

    // The bot's own runtime account, created by the region's shared stack (so deployers need no
    // right over service accounts); found by its name.
    const account = new DataGoogleServiceAccount(this, "service-account", { accountId: names.serviceAccount });
    const member = `serviceAccount:${account.email}`;

    const secrets = new SecretManagerBotSecrets(this, "secrets", {
      secretId: names.secret,
      secrets: runtime.secrets(bot),
      reader: member,
      labels,
    });

    const bucket = new StorageBucket(this, "state-bucket", {
      name: names.stateBucket,
      location: bot.region.toUpperCase(),
      storageClass: "STANDARD",
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      versioning: { enabled: true },
      lifecycleRule: [{ condition: { daysSinceNoncurrentTime: STATE_VERSION_RETENTION_DAYS }, action: { type: "Delete" } }],
      // The bot's sessions and channel credentials: `cdktf destroy` must not delete them silently.
      // A retired bot's stack is destroyed once it leaves the fleet, a loss the pull request
      // accepted (the review's consent check): then its objects go with the bucket.
      forceDestroy: bot.retired,
      labels,
    });
    const bucketAccess = new StorageBucketIamMember(this, "state-bucket-user", {
      bucket: bucket.name,
      role: "roles/storage.objectUser",
      member,
    });

    // Retired: the service (its deletion protection deployed off first: the target's check), the
    // IAM wait, the public invoker and the alerts go.
    if (bot.retired) {
      botOutputs(this, { identity: account.email, stateStore: `gs://${names.stateBucket}`, retired: true });
      return;
    }

    const launch = containerLaunch(
      bot,
      runtime,
      { trustedProxies: MANAGED_FRONT_END_PROXIES },
      `Add each with: printf '%s' "$VALUE" | gcloud secrets versions add ${names.secret("<key>")} --project ${project} --data-file=-, then restart: gcloud run services update ${names.service} --project ${project} --region ${bot.region} --update-env-vars BOTFLEET_RESTARTED_AT=$(date +%s)`,
      mebibytes(CLOUD_RUN_SIZES[bot.tier].memory),
    );
    const size = CLOUD_RUN_SIZES[bot.tier];

    const grants = [...secrets.readerGrants, bucketAccess];
    const iamPropagation = new Sleep(this, "iam-propagation", {
      createDuration: IAM_PROPAGATION_WAIT,
      dependsOn: grants,
      // A sleep waits only when it is created; a changed trigger creates it again (hashicorp/time
      // 0.13.1, time_sleep "triggers"). So a secret added by a later deploy (a new channel's) makes
      // the service update wait too: Cloud Run checks every secret a revision uses when it deploys
      // it ("If any check fails, the service deployment fails", Cloud Run docs, Configure secrets).
      triggers: Object.fromEntries(grants.map((g) => [g.node.id, g.id])),
    });

    const images = cloudRunServiceImages(bot, fleet.name, project);
    const service = new BotService(this, "service", {
      name: names.service,
      location: bot.region,
      description: `botfleet ${fleet.name}/${bot.name} (${runtime.id})`,
      deletionProtection: bot.deletionProtection,
      labels,
      serviceAccount: account.email,
      image: images.agent,
      ownImage: bot.image !== undefined,
      stateSyncImage: images.stateSync,
      runtime,
      launch,
      secretIds: secrets.secretIds,
      stateStore: `gcs:${names.stateBucket}`,
      size,
      // The secrets' `latest` versions must exist, and the grants must have propagated.
      dependsOn: [...secrets.firstVersions, iamPropagation],
    });

    if (bot.publicAccess)
      new CloudRunV2ServiceIamMember(this, "public-invoker", {
        name: service.name,
        location: bot.region,
        role: "roles/run.invoker",
        member: "allUsers",
      });

    const alerts = fleet.gcp?.alerts;
    if (alerts)
      new CloudRunBotAlerts(this, "alerts", {
        project,
        serviceName: names.service,
        email: alerts.email,
        alarms: [...MANAGED_BOTFLEET_ALARMS, ...runtimeAlarms(runtime.logSignals)],
        labels,
      });

    botOutputs(this, { url: service.uri, identity: account.email, stateStore: `gs://${names.stateBucket}` });
  }
}
