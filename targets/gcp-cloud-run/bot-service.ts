import { CloudRunV2Service } from "@cdktf/provider-google/lib/cloud-run-v2-service";
import type { ITerraformDependable } from "cdktf";
import type { Construct } from "constructs";
import { terraformLiteral, type ContainerLaunch } from "../../bootstrap/container";
import { STATE_SYNC_COMMAND, STATE_SYNC_ENGINE, STATE_SYNC_IMAGE, STATE_SYNC_LOADER, STATE_SYNC_MOUNT, STATE_SYNC_PORT, stateSyncContainer } from "../../bootstrap/state-sync";
import { mebibytes } from "../../contracts";
import { AGENT_PROBES, agentEnvironment, sidecarEnvironment } from "../../constructs/agent-container";
import type { Bot, BotOf } from "../../config/load";
import { cloudRunImage } from "../../config/names";
import { RUNTIME_DESCRIPTIONS } from "../../runtimes";
import type { AgentRuntime } from "../../runtimes/runtime";
import { CLOUD_RUN_SIZES } from ".";

/**
 * What state-sync needs beside a state volume of `state`. What a container writes to an in-memory
 * volume counts as that container's memory (Cloud Run docs, *Configure in-memory volume mounts*):
 * the engine writes a restored state there, and a scratch copy of the databases in its own file
 * system (memory too) while it snapshots, so twice the volume, plus the engine's own peak (about
 * 130 to 146 MiB whatever the state's size: docs/secrets-and-operations.md) and headroom.
 */
export function stateSyncMemory(state: string): number {
  return 2 * mebibytes(state) + 256;
}

/**
 * The state-sync sidecar's size. A whole vCPU: less needs request-based billing (Cloud Run docs,
 * *Configure CPU limits*), which a polling bot cannot use.
 */
export function cloudRunStateSyncSize(state: string) {
  return { cpu: "1", memory: `${stateSyncMemory(state)}Mi` };
}

/** Most memory Cloud Run allows per whole vCPU of an instance (Cloud Run docs, *Configure CPU limits*: 1 vCPU up to 4 GiB, 2 up to 8, 4 up to 16 ...). */
const CLOUD_RUN_MIB_PER_VCPU = 4096;

/**
 * Where state-sync runs, the cheaper of two correct placements: inside the agent's container
 * (`agent`: the launcher starts it with the image's own node, the container's memory grows by what
 * the engine needs) when the image has a node that can run it and the agent's vCPUs allow that
 * memory (and the image is the runtime's pinned one); otherwise a sidecar with a vCPU of its own. Instances are billed for every container's
 * vCPU and memory, so the sidecar's vCPU doubles a one-vCPU bot's CPU price.
 */
export function cloudRunStatePlacement(runtime: AgentRuntime, size: { readonly cpu: string; readonly memory: string; readonly state: string }, ownImage = false): "agent" | "sidecar" {
  // A bot's own image may have no node that can run the engine (node:sqlite needs 22.13 or later).
  if (!runtime.stateSyncNode || ownImage) return "sidecar";
  return mebibytes(size.memory) + stateSyncMemory(size.state) <= Number(size.cpu) * CLOUD_RUN_MIB_PER_VCPU ? "agent" : "sidecar";
}

/**
 * The images a Cloud Run bot's service pulls, as Cloud Run pulls them (through the fleet's
 * mirrors): the agent's, and state-sync's when it runs as a sidecar.
 */
export function cloudRunServiceImages(anyBot: Bot, fleet: string, project: string): { agent: string; stateSync?: string } {
  if (anyBot.target !== "gcp-cloud-run") throw new Error(`cloudRunServiceImages: bot ${anyBot.name} is a ${anyBot.target} bot`);
  const bot: BotOf<"gcp-cloud-run"> = anyBot;
  const runtime = RUNTIME_DESCRIPTIONS[bot.runtime];
  const agent = cloudRunImage(bot.image ?? runtime.image, fleet, project, bot.region);
  if (cloudRunStatePlacement(runtime, CLOUD_RUN_SIZES[bot.tier], bot.image !== undefined) === "agent") return { agent };
  return { agent, stateSync: cloudRunImage(STATE_SYNC_IMAGE, fleet, project, bot.region) };
}

/**
 * Seconds the agent may take to stop when state-sync runs inside its container: Cloud Run kills an
 * instance 10 s after SIGTERM (container runtime contract), and state-sync's final snapshot comes
 * after the agent has exited. The gateway would drain for minutes (runtimes/openclaw.ts
 * stopTimeoutSeconds); a turn still running is cut here, as the platform would cut it.
 */
export const CLOUD_RUN_AGENT_STOP_SECONDS = 4;

/** Cloud Run's longest request; WebSocket sessions to the gateway are cut after it. */
export const CLOUD_RUN_REQUEST_TIMEOUT = "3600s";

export interface BotServiceProps {
  readonly name: string;
  readonly location: string;
  readonly description: string;
  /** The agent's image, in a registry Cloud Run pulls from (config/names.ts cloudRunImage). */
  readonly image: string;
  /** Whether that image is the bot's own (`image` in the fleet file) rather than the runtime's pinned one. @default false */
  readonly ownImage?: boolean;
  /** The state-sync sidecar's image as Cloud Run pulls it (config/names.ts cloudRunImage). @default STATE_SYNC_IMAGE, from Docker Hub */
  readonly stateSyncImage?: string;
  readonly runtime: AgentRuntime;
  /** The agent's launch (bootstrap/container.ts). */
  readonly launch: ContainerLaunch;
  /** Secret Manager secret of each of the launch's secrets, by key. */
  readonly secretIds: Readonly<Record<string, string>>;
  /** Where state-sync keeps the state's durable copy (bootstrap/state-sync.ts StateSyncProps.store). */
  readonly stateStore: string;
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
 * agent and state-sync (in the agent's container or a sidecar: cloudRunStatePlacement) sharing an
 * in-memory volume, secrets as Secret Manager references, probes on the runtime's health path, and
 * IAM checked on every request.
 */
export class BotService extends CloudRunV2Service {
  constructor(scope: Construct, id: string, props: BotServiceProps) {
    const { runtime, launch, size } = props;
    const inAgent = cloudRunStatePlacement(runtime, size, props.ownImage) === "agent";
    const agent = {
      name: "agent",
      image: props.image,
      command: launch.command.map(terraformLiteral),
      args: launch.args.map(terraformLiteral),
      ports: { containerPort: runtime.port },
      // CPU always allocated: a long-polling bot does its work between requests. Boost set alike on
      // every container: with it on one only, the provider keeps failing to apply it
      // (hashicorp/terraform-provider-google#20784, open at v6.50.0).
      volumeMounts: [{ name: "state", mountPath: runtime.stateDir }],
      startupProbe: { httpGet: { path: runtime.healthPath, port: runtime.port }, ...AGENT_PROBES.startup },
      livenessProbe: { httpGet: { path: runtime.healthPath, port: runtime.port }, ...AGENT_PROBES.liveness },
    };
    const secretEnv = launch.secrets.map((s) => ({
      name: s.env,
      valueSource: { secretKeyRef: { secret: props.secretIds[s.key], version: "latest" } },
    }));
    const containers = inAgent
      ? [
          {
            ...agent,
            // The launcher starts state-sync with the image's node before it waits for the state,
            // and stops it after the agent (templates/container/launch.sh); the engine writes the
            // restored state as the agent's own user.
            resources: { limits: { cpu: size.cpu, memory: `${mebibytes(size.memory) + stateSyncMemory(size.state)}Mi` }, cpuIdle: false, startupCpuBoost: true },
            env: [
              ...agentEnvironment(launch, runtime, [
                ...sidecarEnvironment(stateSyncContainer(runtime, { store: props.stateStore, dir: runtime.stateDir, release: launch.environment.BOTFLEET_RELEASE }).environment),
                { name: "BOTFLEET_STATE_SYNC_NODE", value: terraformLiteral(runtime.stateSyncNode!) },
                { name: "BOTFLEET_STATE_SYNC_LOADER", value: terraformLiteral(STATE_SYNC_LOADER) },
                { name: "BOTFLEET_STATE_SYNC_ENGINE", value: terraformLiteral(STATE_SYNC_ENGINE) },
                { name: "BOTFLEET_AGENT_STOP_SECONDS", value: String(CLOUD_RUN_AGENT_STOP_SECONDS) },
              ]),
              ...secretEnv,
            ],
          },
        ]
      : [
          {
            ...agent,
            // Starts once the sidecar is up; its launcher then waits for the restored state.
            dependsOn: ["state-sync"],
            resources: { limits: { cpu: size.cpu, memory: size.memory }, cpuIdle: false, startupCpuBoost: true },
            env: [...agentEnvironment(launch, runtime), ...secretEnv],
          },
          {
            name: "state-sync",
            image: props.stateSyncImage ?? STATE_SYNC_IMAGE,
            command: STATE_SYNC_COMMAND.map(terraformLiteral),
            env: sidecarEnvironment(stateSyncContainer(runtime, { store: props.stateStore, port: STATE_SYNC_PORT, release: launch.environment.BOTFLEET_RELEASE }).environment),
            resources: { limits: cloudRunStateSyncSize(size.state), cpuIdle: false, startupCpuBoost: true },
            volumeMounts: [{ name: "state", mountPath: STATE_SYNC_MOUNT }],
            // Healthy as soon as it runs (not once restored): during a revision overlap the new
            // instance must pass its probes while the old one still holds the lock.
            startupProbe: { tcpSocket: { port: STATE_SYNC_PORT }, periodSeconds: 2, timeoutSeconds: 1, failureThreshold: 30 },
          },
        ];
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
        // Cloud Storage FUSE mount does not give. state-sync keeps the durable copy in the bucket.
        volumes: [{ name: "state", emptyDir: { medium: "MEMORY", sizeLimit: size.state } }],
        containers,
      },
      traffic: [{ type: "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", percent: 100 }],
      dependsOn: props.dependsOn,
    });
  }
}
