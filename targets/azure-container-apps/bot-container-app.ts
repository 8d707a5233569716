import { ContainerApp } from "@cdktf/provider-azurerm/lib/container-app";
import type { ITerraformDependable } from "cdktf";
import type { Construct } from "constructs";
import { terraformLiteral, type ContainerLaunch } from "../../bootstrap/container";
import { STATE_SYNC_IMAGE, STATE_SYNC_MOUNT } from "../../bootstrap/state-sync";
import { AGENT_PROBES, agentEnvironment, sidecarEnvironment } from "../../constructs/agent-container";
import { CONSUMPTION_PROFILE } from "../../constructs/container-apps-environment";
import type { AgentRuntime } from "../../runtimes/runtime";

/** Environment variable holding the app's https address, which the agent config refers to. */
export const PUBLIC_ORIGIN_ENV = "BOTFLEET_PUBLIC_ORIGIN";

/** Seconds between SIGTERM and SIGKILL when a replica stops (a deploy, a restart). */
export const CONTAINER_APP_TERMINATION_GRACE_SECONDS = 120;

/** The state-sync sidecar's share of the app. */
export const CONTAINER_APP_STATE_SYNC_SIZE = { cpu: 0.25, memory: "0.5Gi" };

/** One IP rule of the ingress. */
export interface IpRule {
  readonly name: string;
  readonly action: "Allow" | "Deny";
  readonly ipAddressRange: string;
  readonly description: string;
}

export interface BotContainerAppProps {
  readonly name: string;
  readonly resourceGroupName: string;
  readonly containerAppEnvironmentId: string;
  /** The environment's workload profile. @default "Consumption" */
  readonly workloadProfileName?: string;
  /** The bot's user-assigned identity, which the app runs as. */
  readonly identityId: string;
  /**
   * The same identity's ID as the provider's plan-time check needs it for registry pulls and Key
   * Vault references: known at plan (built from names, not taken from the identity resource).
   */
  readonly planTimeIdentityId: string;
  /** The identity's client ID, with which the sidecar takes its tokens. */
  readonly identityClientId: string;
  /** The registry the app pulls from with its identity, e.g. `crfleet.azurecr.io`. */
  readonly registryServer: string;
  readonly image: string;
  readonly runtime: AgentRuntime;
  /** The agent's launch (bootstrap/container.ts). */
  readonly launch: ContainerLaunch;
  /** Versionless Key Vault secret ID of each of the launch's secrets, by key, known at plan. */
  readonly keyVaultSecretIds: Readonly<Record<string, string>>;
  /** The state-sync sidecar's command and environment (bootstrap/state-sync.ts). */
  readonly stateSync: { readonly command: readonly string[]; readonly environment: Record<string, string> };
  /** vCPU and memory of the agent. */
  readonly size: { readonly cpu: number; readonly memory: string };
  /** The app's https address, given to the agent in PUBLIC_ORIGIN_ENV. */
  readonly publicOrigin: string;
  /** Whether the ingress takes traffic from outside the environment. @default false */
  readonly externalIngress?: boolean;
  /** The ingress's IP rules, all of one action. @default none */
  readonly ipRules?: readonly IpRule[];
  /** What must exist before the first revision. @default none */
  readonly dependsOn?: ITerraformDependable[];
  readonly tags: Record<string, string>;
}

/**
 * A bot as one container app: a single revision with exactly one replica, run and pulled with
 * the bot's identity, secrets as Key Vault references, the agent and its state-sync sidecar on
 * the replica's own EmptyDir volume, probes on the runtime's health path, and HTTPS ingress that
 * is closed to the internet unless `externalIngress` opens it.
 */
export class BotContainerApp extends ContainerApp {
  constructor(scope: Construct, id: string, props: BotContainerAppProps) {
    const { runtime, launch, stateSync } = props;
    const health = { transport: "HTTP", port: runtime.port, path: runtime.healthPath };
    const probe = ({ periodSeconds, timeoutSeconds, failureThreshold }: { periodSeconds: number; timeoutSeconds: number; failureThreshold: number }) => ({
      ...health,
      intervalSeconds: periodSeconds,
      timeout: timeoutSeconds,
      failureCountThreshold: failureThreshold,
    });
    super(scope, id, {
      dependsOn: props.dependsOn,
      name: props.name,
      resourceGroupName: props.resourceGroupName,
      containerAppEnvironmentId: props.containerAppEnvironmentId,
      workloadProfileName: props.workloadProfileName ?? CONSUMPTION_PROFILE,
      // One active revision: a deploy replaces the bot rather than running two side by side.
      revisionMode: "Single",
      identity: { type: "UserAssigned", identityIds: [props.identityId] },
      registry: [{ server: props.registryServer, identity: props.planTimeIdentityId }],
      // Key Vault references, versionless: a rotated value reaches the app on its next restart.
      secret: launch.secrets.map((s) => ({ name: s.key, keyVaultSecretId: props.keyVaultSecretIds[s.key], identity: props.planTimeIdentityId })),
      ingress: {
        targetPort: runtime.port,
        transport: "auto",
        allowInsecureConnections: false,
        externalEnabled: props.externalIngress ?? false,
        ipSecurityRestriction: props.ipRules && props.ipRules.length > 0 ? [...props.ipRules] : undefined,
        trafficWeight: [{ latestRevision: true, percentage: 100 }],
      },
      template: {
        minReplicas: 1,
        maxReplicas: 1,
        // SIGTERM reaches both containers at once: the gateway drains and state-sync takes the final
        // snapshot. At 0.25 vCPU that snapshot took 24 s for a 28 MB state on the container
        // suite's Container Apps stand-in, most of the 30 s this was; both containers exit as soon
        // as they are done, so a longer grace only bounds them (azurerm v4.55.0 allows 0 to 600).
        terminationGracePeriodSeconds: CONTAINER_APP_TERMINATION_GRACE_SECONDS,
        container: [
          {
            name: "agent",
            image: props.image,
            cpu: props.size.cpu,
            memory: props.size.memory,
            command: launch.command.map(terraformLiteral),
            args: launch.args.map(terraformLiteral),
            env: [...agentEnvironment(launch, runtime, [{ name: PUBLIC_ORIGIN_ENV, value: props.publicOrigin }]), ...launch.secrets.map((s) => ({ name: s.env, secretName: s.key }))],
            volumeMounts: [{ name: "state", path: runtime.stateDir }],
            startupProbe: [{ ...probe(AGENT_PROBES.startup), initialDelay: 5 }],
            livenessProbe: [{ ...probe(AGENT_PROBES.liveness), initialDelay: 5 }],
            readinessProbe: [{ ...probe(AGENT_PROBES.readiness), successCountThreshold: 1 }],
          },
          {
            name: "state-sync",
            image: STATE_SYNC_IMAGE,
            cpu: CONTAINER_APP_STATE_SYNC_SIZE.cpu,
            memory: CONTAINER_APP_STATE_SYNC_SIZE.memory,
            command: stateSync.command.map(terraformLiteral),
            env: [
              ...sidecarEnvironment(stateSync.environment),
              // Tokens for the bot's identity from the app's identity endpoint.
              { name: "STATE_SYNC_CLIENT_ID", value: props.identityClientId },
            ],
            volumeMounts: [{ name: "state", path: STATE_SYNC_MOUNT }],
          },
        ],
        // Live state on the replica itself: SQLite needs locking and one writer, which SMB does not
        // give (and two revisions overlap during a deploy).
        volume: [{ name: "state", storageType: "EmptyDir" }],
      },
      tags: props.tags,
    });
  }
}
