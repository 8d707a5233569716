import { CloudRunV2Service } from "@cdktf/provider-google/lib/cloud-run-v2-service";
import type { ITerraformDependable } from "cdktf";
import type { Construct } from "constructs";
import { terraformLiteral, type ContainerLaunch } from "../../bootstrap/container";
import { STATE_SYNC_IMAGE, STATE_SYNC_MOUNT, STATE_SYNC_PORT } from "../../bootstrap/state-sync";
import { mebibytes } from "../../contracts";
import { AGENT_PROBES, agentEnvironment, sidecarEnvironment } from "../../constructs/agent-container";
import type { AgentRuntime } from "../../runtimes/runtime";

/**
 * The state-sync sidecar's size beside a state volume of `state`. What a container writes to an
 * in-memory volume counts as that container's memory (Cloud Run docs, *Configure in-memory volume
 * mounts*): the sidecar writes a restored state there, and a scratch copy of the databases in its
 * own file system (memory too) while it snapshots, so twice the volume, plus the engine's own peak
 * (about 130 MiB whatever the state's size: docs/secrets-and-operations.md) and headroom. A whole
 * vCPU: less needs request-based billing (Cloud Run docs, *Configure CPU limits*).
 */
export function cloudRunStateSyncSize(state: string) {
  return { cpu: "1", memory: `${2 * mebibytes(state) + 256}Mi` };
}

/** Cloud Run's longest request; WebSocket sessions to the gateway are cut after it. */
export const CLOUD_RUN_REQUEST_TIMEOUT = "3600s";

export interface BotServiceProps {
  readonly name: string;
  readonly location: string;
  readonly description: string;
  /** The agent's image, in a registry Cloud Run pulls from (config/names.ts cloudRunImage). */
  readonly image: string;
  readonly runtime: AgentRuntime;
  /** The agent's launch (bootstrap/container.ts). */
  readonly launch: ContainerLaunch;
  /** Secret Manager secret of each of the launch's secrets, by key. */
  readonly secretIds: Readonly<Record<string, string>>;
  /** The state-sync sidecar's command and environment (bootstrap/state-sync.ts). */
  readonly stateSync: { readonly command: readonly string[]; readonly environment: Record<string, string> };
  /** The bot's own service account. */
  readonly serviceAccount: string;
  /** vCPU and memory of the agent, and the in-memory volume of its live state. */
  readonly size: { readonly cpu: string; readonly memory: string; readonly state: string };
  /** Terraform refuses to destroy the service while this is true. @default true */
  readonly deletionProtection?: boolean;
  readonly labels: Record<string, string>;
  /** What must exist before the first revision: its secrets' versions and propagated grants. @default none */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * A bot as one Cloud Run service: exactly one always-on instance with CPU always allocated, the
 * agent and its state-sync sidecar sharing an in-memory volume, secrets as Secret Manager
 * references, probes on the runtime's health path, and IAM checked on every request.
 */
export class BotService extends CloudRunV2Service {
  constructor(scope: Construct, id: string, props: BotServiceProps) {
    const { runtime, launch, size, stateSync } = props;
    super(scope, id, {
      name: props.name,
      location: props.location,
      description: props.description,
      deletionProtection: props.deletionProtection ?? true,
      // Reachable from anywhere, but Cloud Run checks IAM on every request: only principals with
      // run.invoker get through (publicAccess grants it to allUsers).
      ingress: "INGRESS_TRAFFIC_ALL",
      invokerIamDisabled: false,
      labels: props.labels,
      template: {
        serviceAccount: props.serviceAccount,
        // In-memory volumes need the second-generation environment.
        executionEnvironment: "EXECUTION_ENVIRONMENT_GEN2",
        timeout: CLOUD_RUN_REQUEST_TIMEOUT,
        // One bot token, one poller: never scale out, never scale to zero.
        scaling: { minInstanceCount: 1, maxInstanceCount: 1 },
        labels: props.labels,
        // Live state on the instance itself: SQLite needs locking and a single writer, which a
        // Cloud Storage FUSE mount does not give. The sidecar keeps the durable copy in the bucket.
        volumes: [{ name: "state", emptyDir: { medium: "MEMORY", sizeLimit: size.state } }],
        containers: [
          {
            name: "agent",
            // Starts once the sidecar is up; its launcher then waits for the restored state.
            dependsOn: ["state-sync"],
            image: props.image,
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
              ...agentEnvironment(launch, runtime),
              ...launch.secrets.map((s) => ({
                name: s.env,
                valueSource: { secretKeyRef: { secret: props.secretIds[s.key], version: "latest" } },
              })),
            ],
            volumeMounts: [{ name: "state", mountPath: runtime.stateDir }],
            startupProbe: { httpGet: { path: runtime.healthPath, port: runtime.port }, ...AGENT_PROBES.startup },
            livenessProbe: { httpGet: { path: runtime.healthPath, port: runtime.port }, ...AGENT_PROBES.liveness },
          },
          {
            name: "state-sync",
            image: STATE_SYNC_IMAGE,
            command: stateSync.command.map(terraformLiteral),
            env: sidecarEnvironment(stateSync.environment),
            // Boost set alike on both containers: with it on one only, the provider keeps failing
            // to apply it (hashicorp/terraform-provider-google#20784, open at v6.50.0).
            resources: { limits: cloudRunStateSyncSize(size.state), cpuIdle: false, startupCpuBoost: true },
            volumeMounts: [{ name: "state", mountPath: STATE_SYNC_MOUNT }],
            // Healthy as soon as it runs (not once restored): during a revision overlap the new
            // instance must pass its probes while the old one still holds the lock.
            startupProbe: { tcpSocket: { port: STATE_SYNC_PORT }, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 30 },
          },
        ],
      },
      traffic: [{ type: "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", percent: 100 }],
      dependsOn: props.dependsOn,
    });
  }
}
