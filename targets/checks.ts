import type { CheckedResource, Json, StackView } from "../tfjson/terraform-json";
import type { ResourceCheck } from "./types";
import { first, list } from "../tfjson/terraform-json";

/** Policy checks several targets' compute share; each target's descriptor says which apply to its compute. */

/** Environment variables that carry credentials by their name. */
const SECRET_ENV_NAME = /(_TOKEN|_SECRET|_PASSWORD|_API_KEY|_KEY)$/;
/** Agent config keys that hold credentials. */
const SECRET_CONFIG_KEY = /token|apikey|api_key|password|secret/i;

/** Reads the agent config botfleet rendered for a workload, as it reaches the agent. */
export type AgentConfigOf = (resource: CheckedResource, stack: StackView) => Json | undefined;

/**
 * The checks of the agent config a workload runs with: BF-AUTH-1 (the gateway keeps its token;
 * a bot's workload whose config cannot be read fails it), BF-DM-1 (no channel lets anyone talk
 * to the bot) and, for BF-SEC-1, credentials only as `${VAR}` references.
 */
export function agentConfigChecks(configOf: AgentConfigOf): { auth: ResourceCheck; dms: ResourceCheck; secrets: ResourceCheck } {
  return {
    auth(resource, stack) {
      if (!stack.runtime) return [];
      const config = configOf(resource, stack);
      if (config === undefined) return ["carries no agent config botfleet can read, so nothing shows the gateway demands its token"];
      const problem = stack.runtime.gatewayAuthProblem(config);
      return problem ? [problem] : [];
    },
    dms(resource, stack) {
      const channels: Record<string, Json> = configOf(resource, stack)?.channels ?? {};
      return Object.entries(channels)
        .filter(([, c]) => c?.enabled !== false && (c?.dmPolicy === "open" || list(c?.allowFrom).includes("*")))
        .map(([name]) => `lets anyone on ${name} talk to the bot (DM policy open, allowFrom ["*"])`);
    },
    secrets(resource, stack) {
      const config = configOf(resource, stack);
      return config === undefined ? [] : literalSecretsInConfig(config);
    },
  };
}

/** BF-ID-1 for Azure workloads: a user-assigned identity, and registry pulls with it. */
export function azureManagedIdentity({ body }: CheckedResource): string[] {
  const problems: string[] = [];
  if (!/Assigned/.test(String(first(body.identity)?.type ?? ""))) problems.push("has no managed identity");
  for (const r of list(body.registry)) if (r.identity === undefined || r.password_secret_name !== undefined) problems.push(`pulls from ${r.server} with a password instead of its identity`);
  return problems;
}

/** BF-ISO-1 for Azure workloads: they run as identities of their own stack only. */
export function ownAzureIdentity({ body }: CheckedResource, stack: StackView): string[] {
  // Bot stacks only (they have a runtime); shared stacks grant the deployer, not a bot.
  if (!stack.runtime) return [];
  return list(first(body.identity)?.identity_ids)
    .filter((id) => {
      const r = stack.referenced(id);
      return !(r?.kind === "resource" && r.type === "azurerm_user_assigned_identity");
    })
    .map((id) => `runs as identity ${id}, which this stack does not own and other bots may share`);
}

export function literalSecretEnv(env: unknown): string[] {
  return list(env)
    .filter((e) => SECRET_ENV_NAME.test(e.name) && e.value !== undefined)
    .map((e) => `environment variable ${e.name} holds a value instead of a vault reference`);
}

/** Credentials in an agent config must be `${VAR}` references that the agent resolves. */
function literalSecretsInConfig(config: Json, path = "agent config"): string[] {
  if (config === null || typeof config !== "object") return [];
  return Object.entries(config).flatMap(([key, value]) => {
    const at = `${path}.${key}`;
    if (typeof value === "string" && SECRET_CONFIG_KEY.test(key) && !/^\$\{[A-Z0-9_]+\}$/.test(value)) return [`${at} holds a literal credential instead of a \${VAR} reference`];
    return literalSecretsInConfig(value, at);
  });
}
