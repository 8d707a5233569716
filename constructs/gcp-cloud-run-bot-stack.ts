import { CloudRunV2Service } from "@cdktf/provider-google/lib/cloud-run-v2-service";
import { CloudRunV2ServiceIamMember } from "@cdktf/provider-google/lib/cloud-run-v2-service-iam-member";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { StorageBucket } from "@cdktf/provider-google/lib/storage-bucket";
import { StorageBucketIamMember } from "@cdktf/provider-google/lib/storage-bucket-iam-member";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { containerLaunch, terraformLiteral } from "../bootstrap/container";
import { MANAGED_FRONT_END_PROXIES } from "../bootstrap/front-ends";
import type { Bot, Fleet } from "../config/load";
import { cloudRunImage, gcpBotNames } from "../config/names";
import type { Tier } from "../config/schema";
import type { AgentRuntime } from "../runtimes/runtime";
import { FleetStack, fleetTags } from "./fleet-stack";
import { SecretManagerBotSecrets } from "./secret-manager-bot-secrets";

/** CPU and memory per tier; memory also holds Cloud Storage FUSE's caches. */
export const CLOUD_RUN_SIZES: Record<Tier, { cpu: string; memory: string }> = {
  light: { cpu: "1", memory: "1Gi" },
  standard: { cpu: "1", memory: "2Gi" },
  performance: { cpu: "2", memory: "4Gi" },
};

/** Cloud Run's longest request; WebSocket sessions to the gateway are cut after it. */
export const CLOUD_RUN_REQUEST_TIMEOUT = "3600s";

/** Noncurrent versions of state files are kept this long, then deleted. */
export const STATE_VERSION_RETENTION_DAYS = 30;

/**
 * One bot on Google Cloud Run (stack named as the bot): exactly one always-on instance with CPU
 * always allocated, its own service account, Secret Manager secrets only that account can read
 * (injected as secret references, never values), state in its own versioned, private Cloud
 * Storage bucket mounted at the runtime's state directory, probes on the runtime's health path,
 * and no public invoker unless the bot opts in. Depends on no other stack.
 */
export class GcpCloudRunBotStack extends FleetStack {
  constructor(scope: Construct, fleet: Fleet, bot: Bot, runtime: AgentRuntime) {
    super(scope, bot.name, fleet, { bot, runtime });
    const project = fleet.gcp!.project;
    const names = gcpBotNames(fleet.name, project, bot.name);
    const labels = fleetTags(fleet.name, bot.name);

    new GoogleProvider(this, "google", { project, region: bot.region });
    new RandomProvider(this, "random", {});

    const account = new ServiceAccount(this, "service-account", {
      accountId: names.serviceAccount,
      displayName: `botfleet ${fleet.name}/${bot.name}`.slice(0, 100),
      description: `Runtime identity of bot ${bot.name}: reads its own secrets and state bucket only`,
    });
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
      `Add each with: printf '%s' "$VALUE" | gcloud secrets versions add ${names.secret("<key>")} --project ${project} --data-file=-, then restart the service (README: Cloud Run).`,
    );
    const size = CLOUD_RUN_SIZES[bot.tier];

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
        // Cloud Storage volumes need the second-generation environment.
        executionEnvironment: "EXECUTION_ENVIRONMENT_GEN2",
        timeout: CLOUD_RUN_REQUEST_TIMEOUT,
        // One bot token, one poller: never scale out, never scale to zero.
        scaling: { minInstanceCount: 1, maxInstanceCount: 1 },
        labels,
        volumes: [{ name: "state", gcs: { bucket: bucket.name, readOnly: false } }],
        containers: [
          {
            name: "agent",
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
        ],
      },
      traffic: [{ type: "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", percent: 100 }],
      dependsOn: [...secrets.readerGrants, bucketAccess],
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
