import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { AGENT_CONFIG_ENV, CONTAINER_GATE, MEMORY_RESTART } from "../contracts";
import type { Bot } from "../config/load";
import { NOT_READY_MINUTES, type AgentRuntime, type GatewayContext, type SecretSpec } from "../runtimes/runtime";
import { render, shellQuote } from "./templates";

const LAUNCH_SCRIPT = readFileSync(join(__dirname, "..", "templates", "container", "launch.sh"), "utf8");
/** One `botfleet pairing` request, run as the agent's user beside it: by the launcher here, through `docker exec` on a VM. */
export const PAIR_SCRIPT = readFileSync(join(__dirname, "..", "templates", "container", "pair.sh"), "utf8");

/** How a managed container platform (Cloud Run, Container Apps) starts a bot. */
export interface ContainerLaunch {
  /** Entrypoint: the launcher, as `sh -c <script> botfleet-launch`. */
  readonly command: string[];
  /** The runtime's own command, which the launcher execs. */
  readonly args: string[];
  /** Plain (non-secret) environment, including the agent config. */
  readonly environment: Record<string, string>;
  /** Secrets the platform injects from its vault, by environment variable. */
  readonly secrets: SecretSpec[];
}

/**
 * The launch of `bot` on a managed container platform. `secretHint` tells the operator how to set
 * a secret on that platform and restart the bot; it is logged and answered at every path while a
 * required one is missing. `memoryMiB` is the agent container's memory, for the runtime's heap.
 * Strings in here reach Terraform JSON, so wrap them with `terraformLiteral` where they are used.
 */
export function containerLaunch(bot: Bot, runtime: AgentRuntime, gateway: GatewayContext, secretHint: string, memoryMiB?: number): ContainerLaunch {
  const secrets = runtime.secrets(bot);
  const plugins = runtime.plugins(bot);
  const environment: Record<string, string> = {
    ...runtime.environment(bot, memoryMiB),
    BOTFLEET_CONFIG_PATH: posix.join(runtime.stateDir, runtime.configFile),
    [AGENT_CONFIG_ENV]: JSON.stringify(runtime.config(bot, gateway)),
    BOTFLEET_REQUIRED_SECRETS: secrets
      .filter((s) => s.required)
      .map((s) => s.env)
      .join(" "),
    BOTFLEET_OPTIONAL_SECRETS: secrets
      .filter((s) => !s.required)
      .map((s) => s.env)
      .join(" "),
    BOTFLEET_SECRET_HINT: secretHint,
    // While a required secret is unset the launcher runs this instead of the agent.
    BOTFLEET_WAITING_SERVER: runtime.waitingServer.map(shellQuote).join(" "),
    BOTFLEET_PORT: String(runtime.port),
    // The health gate after the agent starts (launch.sh; docs/day-2.md).
    BOTFLEET_IMAGE: bot.image ?? runtime.image,
    BOTFLEET_HEALTH_CHECK: [...runtime.httpCheck, `http://127.0.0.1:${runtime.port}${runtime.healthPath}`].map(shellQuote).join(" "),
    BOTFLEET_GATE_SECONDS: String(CONTAINER_GATE.seconds),
    BOTFLEET_GATE_CHECKS: String(CONTAINER_GATE.checks),
    BOTFLEET_GATE_STARTS: String(CONTAINER_GATE.starts),
    BOTFLEET_NOT_READY_SECONDS: String(NOT_READY_MINUTES * 60),
    BOTFLEET_MEMORY_RESTART_PERCENT: String(MEMORY_RESTART.percent),
    BOTFLEET_MEMORY_RESTART_CHECKS: String(MEMORY_RESTART.checks),
    ...(plugins.length > 0 && { BOTFLEET_PLUGIN_SCRIPT: render("container/install-plugins.sh", { runtime: runtime.id, plugins }) }),
    // The runtime's own check of the new config, on a scratch state directory (launch.sh).
    ...(runtime.configCheck && runtime.stateDirEnv && { BOTFLEET_CONFIG_CHECK: `${runtime.stateDirEnv}="$BOTFLEET_CHECK_DIR" ${runtime.configCheck.map(shellQuote).join(" ")}` }),
    ...(runtime.releaseStaleOwner && { BOTFLEET_RELEASE_STALE_OWNER: runtime.releaseStaleOwner.map(shellQuote).join(" ") }),
    // `botfleet pairing`, run by the launcher beside the agent (launch.sh, pair).
    ...(runtime.pairingCommand && { BOTFLEET_PAIRING_COMMAND: runtime.pairingCommand.map(shellQuote).join(" "), BOTFLEET_PAIRING_SCRIPT: PAIR_SCRIPT }),
  };
  // The revision's version, from what it runs (image, command, environment, which holds the
  // config; never a secret value): the launcher logs it and the review names it (docs/day-2.md).
  const release = createHash("sha256")
    .update(JSON.stringify([bot.image ?? runtime.image, runtime.command, environment, secrets.map((s) => s.env)]))
    .digest("hex")
    .slice(0, 12);
  return {
    command: ["/bin/sh", "-c", LAUNCH_SCRIPT, "botfleet-launch"],
    args: [...runtime.command],
    environment: { ...environment, BOTFLEET_RELEASE: release },
    secrets,
  };
}

/**
 * A string exactly as given, in Terraform JSON: `${` and `%{` would otherwise start Terraform
 * interpolation (agent configs hold `${VAR}` references that the agent itself resolves).
 */
export function terraformLiteral(value: string): string {
  return value.replace(/([$%])\{/g, (_, sigil: string) => `${sigil}${sigil}{`);
}
