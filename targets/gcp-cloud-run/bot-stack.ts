import { CloudRunV2Service } from "@cdktf/provider-google/lib/cloud-run-v2-service";
import { CloudRunV2ServiceIamMember } from "@cdktf/provider-google/lib/cloud-run-v2-service-iam-member";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { DataGoogleServiceAccount } from "@cdktf/provider-google/lib/data-google-service-account";
import { StorageBucket } from "@cdktf/provider-google/lib/storage-bucket";
import { StorageBucketIamMember } from "@cdktf/provider-google/lib/storage-bucket-iam-member";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { TimeProvider } from "@cdktf/provider-time/lib/provider";
import { Sleep } from "@cdktf/provider-time/lib/sleep";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { containerLaunch, terraformLiteral } from "../../bootstrap/container";
import { STATE_SYNC_IMAGE, STATE_SYNC_MOUNT, STATE_SYNC_PORT, stateReadyPath, stateSyncContainer } from "../../bootstrap/state-sync";
import { MANAGED_FRONT_END_PROXIES } from "../../bootstrap/front-ends";
import type { BotOf, Fleet } from "../../config/load";
import { cloudRunImage, gcpBotNames } from "../../config/names";
import { CLOUD_RUN_SIZES } from ".";
import type { AgentRuntime } from "../../runtimes/runtime";
import { FleetStack, fleetTags } from "../../constructs/fleet-stack";
import { SecretManagerBotSecrets } from "../../constructs/secret-manager-bot-secrets";

/** The state-sync sidecar: snapshots are small and rare; its memory holds one packed snapshot. */
export const CLOUD_RUN_STATE_SYNC_SIZE = { cpu: "1", memory: "512Mi" };

/** Cloud Run's longest request; WebSocket sessions to the gateway are cut after it. */
export const CLOUD_RUN_REQUEST_TIMEOUT = "3600s";

/**
 * How long the first revision waits after the bot's IAM grants. Google: changes to allow policies
 * "typically propagate in 2 minutes, but could potentially take 7 minutes or longer" (IAM docs,
 * "Access change propagation"). A revision that cannot read its secrets or mount its bucket fails,
 * and the provider keeps the service tainted (it stores the ID before waiting for the operation:
 * google v6.50.0 google/services/cloudrunv2/resource_cloud_run_v2_service.go, Create), which
 * deletion_protection then refuses to replace. Waited once, at creation.
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
      lifecycleRule: [
        { condition: { daysSinceNoncurrentTime: STATE_VERSION_RETENTION_DAYS }, action: { type: "Delete" } },
      ],
      // The bot's sessions and channel credentials: `cdktf destroy` must not delete them silently.
      forceDestroy: false,
      labels,
    });
    const bucketAccess = new StorageBucketIamMember(this, "state-bucket-user", {
      bucket: bucket.name,
      role: "roles/storage.objectUser",
      member,
    });

    const launch = containerLaunch(
      bot,
      runtime,
      { trustedProxies: MANAGED_FRONT_END_PROXIES },
      `Add each with: printf '%s' "$VALUE" | gcloud secrets versions add ${names.secret("<key>")} --project ${project} --data-file=-, then restart: gcloud run services update ${names.service} --project ${project} --region ${bot.region} --update-env-vars BOTFLEET_RESTARTED_AT=$(date +%s)`,
    );
    const size = CLOUD_RUN_SIZES[bot.tier];
    const sync = stateSyncContainer(runtime, { store: `gcs:${names.stateBucket}`, port: STATE_SYNC_PORT });

    const iamPropagation = new Sleep(this, "iam-propagation", {
      createDuration: IAM_PROPAGATION_WAIT,
      dependsOn: [...secrets.readerGrants, bucketAccess],
    });

    const service = new CloudRunV2Service(this, "service", {
      name: names.service,
      location: bot.region,
      description: `botfleet ${fleet.name}/${bot.name} (${runtime.id})`,
      deletionProtection: bot.deletionProtection,
      // Reachable from anywhere, but Cloud Run checks IAM on every request: only principals with
      // run.invoker get through (publicAccess grants it to allUsers).
      ingress: "INGRESS_TRAFFIC_ALL",
      invokerIamDisabled: false,
      labels,
      template: {
        serviceAccount: account.email,
        // In-memory volumes need the second-generation environment.
        executionEnvironment: "EXECUTION_ENVIRONMENT_GEN2",
        timeout: CLOUD_RUN_REQUEST_TIMEOUT,
        // One bot token, one poller: never scale out, never scale to zero.
        scaling: { minInstanceCount: 1, maxInstanceCount: 1 },
        labels,
        // Live state on the instance itself: SQLite needs locking and a single writer, which a
        // Cloud Storage FUSE mount does not give. The sidecar keeps the durable copy in the bucket.
        volumes: [{ name: "state", emptyDir: { medium: "MEMORY", sizeLimit: size.state } }],
        containers: [
          {
            name: "agent",
            // Starts once the sidecar is up; its launcher then waits for the restored state.
            dependsOn: ["state-sync"],
            image: cloudRunImage(bot.image ?? runtime.image, fleet.name, project, bot.region),
            command: launch.command.map(terraformLiteral),
            args: launch.args.map(terraformLiteral),
            ports: { containerPort: runtime.port },
            resources: {
              limits: { cpu: size.cpu, memory: size.memory },
              // CPU always allocated: a long-polling bot does its work between requests.
              cpuIdle: false,
              startupCpuBoost: true,
            },
            env: [
              ...Object.entries(launch.environment).map(([name, value]) => ({ name, value: terraformLiteral(value) })),
              { name: "BOTFLEET_STATE_READY", value: stateReadyPath(runtime) },
              ...launch.secrets.map((s) => ({
                name: s.env,
                valueSource: { secretKeyRef: { secret: secrets.secretIds[s.key], version: "latest" } },
              })),
            ],
            volumeMounts: [{ name: "state", mountPath: runtime.stateDir }],
            // Up to 5 minutes to start (image pull, first config), then restarted after 3 missed checks.
            startupProbe: { httpGet: { path: runtime.healthPath, port: runtime.port }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 30 },
            livenessProbe: { httpGet: { path: runtime.healthPath, port: runtime.port }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
          },
          {
            name: "state-sync",
            image: STATE_SYNC_IMAGE,
            command: sync.command.map(terraformLiteral),
            env: Object.entries(sync.environment).map(([name, value]) => ({ name, value: terraformLiteral(value) })),
            resources: { limits: CLOUD_RUN_STATE_SYNC_SIZE, cpuIdle: false },
            volumeMounts: [{ name: "state", mountPath: STATE_SYNC_MOUNT }],
            // Healthy as soon as it runs (not once restored): during a revision overlap the new
            // instance must pass its probes while the old one still holds the lock.
            startupProbe: { tcpSocket: { port: STATE_SYNC_PORT }, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 30 },
          },
        ],
      },
      traffic: [{ type: "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", percent: 100 }],
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

    new TerraformOutput(this, "service-url", { value: service.uri });
    new TerraformOutput(this, "service-account-email", { value: account.email });
    new TerraformOutput(this, "state-bucket-name", { value: bucket.name });
  }
}
