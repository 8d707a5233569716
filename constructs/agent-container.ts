import { terraformLiteral, type ContainerLaunch } from "../bootstrap/container";
import { stateReadyPath } from "../bootstrap/state-sync";
import type { AgentRuntime } from "../runtimes/runtime";

/** An environment variable with a plain value, as every platform's container takes it. */
export interface EnvVar {
  readonly name: string;
  readonly value: string;
}

/**
 * The plain environment of the agent's container on a managed platform: the launch's (escaped
 * for Terraform), then `extra`, then where the state-sync sidecar marks the state restored.
 * Secrets are the platform's own references and come after, from `launch.secrets`.
 */
export function agentEnvironment(launch: ContainerLaunch, runtime: AgentRuntime, extra: readonly EnvVar[] = []): EnvVar[] {
  return [...Object.entries(launch.environment).map(([name, value]) => ({ name, value: terraformLiteral(value) })), ...extra, { name: "BOTFLEET_STATE_READY", value: stateReadyPath(runtime) }];
}

/** A sidecar's plain environment, escaped for Terraform. */
export function sidecarEnvironment(environment: Record<string, string>): EnvVar[] {
  return Object.entries(environment).map(([name, value]) => ({ name, value: terraformLiteral(value) }));
}

/**
 * How every platform probes the agent's health path: up to 4 minutes to start (image pull, first
 * config), restarted after 3 missed checks, out of traffic after 3 failed ones. 4 minutes is
 * Cloud Run's ceiling for a startup probe (failureThreshold * periodSeconds; see
 * __tests__/provider-facts.test.ts).
 */
export const AGENT_PROBES = {
  startup: { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 24 },
  liveness: { periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
  readiness: { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
} as const;
