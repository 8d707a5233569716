import { UNSET_SECRET, type AgentRuntime } from "../runtimes/runtime";
import { TARGETS } from "../targets/registry";
import { POLICY_RULES, RULE_IDS, type RuleId, type Suppression } from "../contracts/policy-rules";
import { CLOUD_RUN, CONTAINER_APP, eq, first, isDomainSite, isLiteral, list, members, StackView, variablesIn, VM_TYPES, type CheckedResource, type Json, type StackJson } from "../tfjson/terraform-json";

/**
 * The policy checks. Each reads the synthesized Terraform JSON of a stack, the exact thing that
 * gets planned, so a rule sees overrides and escape hatches too; `cdktf synth` runs them through
 * the FleetPolicy aspect, and `npm run review` runs them again on the synthesized output.
 */

export interface PolicyContext {
  /** The bot's runtime (bot stacks); rules about the agent's own config need it. */
  readonly runtime?: AgentRuntime;
  /** The bot's written exceptions, from the fleet file. */
  readonly suppressions?: readonly Suppression[];
}

export type RuleStatus = "pass" | "fail" | "suppressed";

export interface RuleResult {
  readonly rule: RuleId;
  readonly address: string;
  readonly path: string;
  readonly status: RuleStatus;
  /** What is wrong (fail and suppressed). */
  readonly problems: readonly string[];
  /** The suppression's reason (suppressed). */
  readonly reason?: string;
}

export interface PolicyReport {
  readonly results: readonly RuleResult[];
  /** Suppressions that matched no finding: stale, to be removed. */
  readonly unusedSuppressions: readonly Suppression[];
}

interface RuleCheck {
  /** Resource types the rule examines. */
  readonly types: readonly string[];
  check(resource: CheckedResource, stack: StackView): string[];
}

/** Resources that run the bot itself, by the targets' descriptors: one bot stack may hold one. */
const COMPUTE_TYPES = TARGETS.flatMap((t) => t.computeTypes);
const PUBLIC_MEMBERS = ["allUsers", "allAuthenticatedUsers"];
const BROAD_AZURE_ROLES = ["Owner", "Contributor", "User Access Administrator"];
const BROAD_GCP_ROLES = ["roles/owner", "roles/editor", "roles/iam.securityAdmin", "roles/resourcemanager.projectIamAdmin"];
/** Environment variables that carry credentials by their name. */
const SECRET_ENV_NAME = /(_TOKEN|_SECRET|_PASSWORD|_API_KEY|_KEY)$/;
/** Agent config keys that hold credentials. */
const SECRET_CONFIG_KEY = /token|apikey|api_key|password|secret/i;

const CHECKS: Record<RuleId, RuleCheck> = {
  "BF-NSG-1": {
    types: ["azurerm_network_security_group", "azurerm_network_security_rule"],
    check({ type, body }) {
      const rules = type === "azurerm_network_security_rule" ? [body] : list(body.security_rule);
      const problems: string[] = [];
      for (const r of rules) {
        if (!eq(r.direction, "Inbound") || !eq(r.access, "Allow")) continue;
        if (!eq(r.protocol, "Tcp")) problems.push(`rule "${r.name}" admits protocol ${r.protocol} inbound`);
        const ports = [r.destination_port_range, ...list(r.destination_port_ranges)].filter((p) => p !== undefined);
        const others = ports.filter((p) => p !== "80" && p !== "443");
        if (others.length > 0) problems.push(`rule "${r.name}" admits port ${others.join(", ")} inbound`);
      }
      const denyAll = rules.some((r) => eq(r.direction, "Inbound") && eq(r.access, "Deny") && r.protocol === "*" && r.destination_port_range === "*" && r.source_address_prefix === "*");
      if (type === "azurerm_network_security_group" && !denyAll)
        problems.push("has no deny-all inbound rule, so Azure's default rules still admit VNet and load-balancer traffic on every port");
      return problems;
    },
  },

  "BF-SSH-1": {
    types: VM_TYPES,
    check({ body }, stack) {
      const linux = first(first(body.os_profile)?.linux_configuration) ?? body;
      const problems: string[] = [];
      if (list(linux.admin_ssh_key).length > 0) problems.push("has an SSH key for the admin user");
      const cloudInit = stack.cloudInit(body);
      if (linux.disable_password_authentication !== true && cloudInit?.config.ssh_pwauth !== false)
        problems.push("lets SSH take the admin password: cloud-init does not set ssh_pwauth: false");
      return problems;
    },
  },

  "BF-GW-1": {
    types: VM_TYPES,
    check({ body }, stack) {
      const cloudInit = stack.cloudInit(body);
      if (!cloudInit) return ["has no cloud-init to show where the gateway listens"];
      // Every `docker run` command line, with its backslash continuations joined.
      const runs = Object.values(cloudInit.files)
        .flatMap((content) => content.replace(/\\\n/g, " ").split("\n"))
        .filter((line) => /\bdocker run\b/.test(line))
        // The state-sync container publishes nothing and needs the host network for IMDS (issue 14).
        .filter((line) => !/--name[= ]['"]?botfleet-state-sync\b/.test(line));
      if (runs.length === 0) return ["starts no gateway container in its cloud-init"];
      const problems: string[] = [];
      for (const run of runs) {
        for (const m of run.matchAll(/(?:--publish|\s-p)(?:=|\s+)['"]?([^\s'"]+)/g))
          if (!m[1].startsWith("127.0.0.1:")) problems.push(`publishes the gateway container on ${m[1]}, not 127.0.0.1`);
        if (/--net(?:work)?[= ]['"]?host\b/.test(run)) problems.push("runs the gateway container on the host network");
      }
      return problems;
    },
  },

  "BF-TLS-1": {
    types: [...VM_TYPES, CONTAINER_APP],
    check({ type, body }, stack) {
      if (type === CONTAINER_APP)
        return first(body.ingress)?.allow_insecure_connections === true ? ["ingress allows plain HTTP (allow_insecure_connections)"] : [];
      const sites = stack.caddySites(body);
      if (sites === undefined) return ["has no Caddyfile in its cloud-init, so nothing terminates TLS"];
      return sites.some(isDomainSite)
        ? []
        : ["Caddy serves the gateway over plain HTTP on port 80 (no domain, so no certificate): its token and chats would cross the internet unencrypted"];
    },
  },

  "BF-AUTH-1": {
    types: COMPUTE_TYPES,
    check(resource, stack) {
      const config = stack.agentConfig(resource);
      if (config === undefined || !stack.runtime) return [];
      const problem = stack.runtime.gatewayAuthProblem(config);
      return problem ? [problem] : [];
    },
  },

  "BF-DM-1": {
    types: COMPUTE_TYPES,
    check(resource, stack) {
      const channels: Record<string, Json> = stack.agentConfig(resource)?.channels ?? {};
      return Object.entries(channels)
        .filter(([, c]) => c?.enabled !== false && (c?.dmPolicy === "open" || list(c?.allowFrom).includes("*")))
        .map(([name]) => `lets anyone on ${name} talk to the bot (DM policy open, allowFrom ["*"])`);
    },
  },

  "BF-ING-1": {
    types: [CONTAINER_APP, CLOUD_RUN, "google_cloud_run_v2_service_iam_member", "google_cloud_run_v2_service_iam_binding"],
    check({ type, body }, stack) {
      if (type === CONTAINER_APP) {
        const ingress = first(body.ingress);
        if (ingress?.external_enabled !== true || stack.inInternalEnvironment(body)) return [];
        const rules = list(ingress.ip_security_restriction);
        if (rules.some((r) => r.action === "Allow")) return [];
        const denied = rules.filter((r) => r.action === "Deny").length;
        return [`ingress is open to the whole internet${denied > 0 ? ` except ${denied} denied range(s)` : ""}`];
      }
      if (type === CLOUD_RUN)
        return body.invoker_iam_disabled === true && body.ingress !== "INGRESS_TRAFFIC_INTERNAL_ONLY" ? ["turns the invoker IAM check off: anyone can call the service"] : [];
      return body.role === "roles/run.invoker" ? members(body).filter((m) => PUBLIC_MEMBERS.includes(m)).map((m) => `grants roles/run.invoker to ${m}`) : [];
    },
  },

  "BF-SEC-1": {
    types: ["azurerm_key_vault_secret", "google_secret_manager_secret_version", ...COMPUTE_TYPES],
    check(resource, stack) {
      const { type, body } = resource;
      const problems: string[] = [];
      // Write-only values come from sensitive variables only (they are kept out of state, and a
      // variable that is not sensitive would be printed in plans).
      const writeOnly = (attribute: string) => [
        ...(isLiteral(body[attribute]) ? [`holds a literal value in ${attribute}`] : []),
        ...variablesIn(body[attribute])
          .filter((variable) => stack.json.variable?.[variable]?.sensitive !== true)
          .map((variable) => `takes its value from variable ${variable}, which is not sensitive`),
      ];
      if (type === "azurerm_key_vault_secret") {
        if (isLiteral(body.value) && body.value !== UNSET_SECRET) problems.push("holds a literal value");
        return [...problems, ...writeOnly("value_wo")];
      }
      if (type === "google_secret_manager_secret_version") {
        if (isLiteral(body.secret_data)) problems.push("holds a literal value in secret_data");
        return [...problems, ...writeOnly("secret_data_wo")];
      }
      if (type === CONTAINER_APP) {
        for (const s of list(body.secret))
          if (s.value !== undefined) problems.push(`secret "${s.name}" carries its value instead of a Key Vault reference`);
        for (const c of list(first(body.template)?.container)) problems.push(...literalSecretEnv(c.env));
      }
      if (type === CLOUD_RUN)
        for (const c of list(first(body.template)?.containers)) problems.push(...literalSecretEnv(c.env));
      const config = stack.agentConfig(resource);
      if (config !== undefined) problems.push(...literalSecretsInConfig(config));
      return problems;
    },
  },

  "BF-ID-1": {
    types: [...COMPUTE_TYPES, "azurerm_container_registry"],
    check({ type, body }) {
      if (type === "azurerm_container_registry") return body.admin_enabled === true ? ["has the admin user on"] : [];
      if (type === CLOUD_RUN) {
        const account: unknown = first(body.template)?.service_account;
        return account === undefined || (typeof account === "string" && account.endsWith("-compute@developer.gserviceaccount.com"))
          ? ["runs as the project's default compute service account"]
          : [];
      }
      const problems: string[] = [];
      if (!/Assigned/.test(String(first(body.identity)?.type ?? ""))) problems.push("has no managed identity");
      for (const r of list(body.registry))
        if (r.identity === undefined || r.password_secret_name !== undefined) problems.push(`pulls from ${r.server} with a password instead of its identity`);
      return problems;
    },
  },

  "BF-ONE-1": {
    types: COMPUTE_TYPES,
    check({ type, body }, stack) {
      const problems: string[] = [];
      if (type === "azurerm_orchestrated_virtual_machine_scale_set" || type === "azurerm_linux_virtual_machine_scale_set") {
        if (!(body.instances <= 1)) problems.push(`runs ${body.instances ?? "an unset number of"} instances`);
        if (type === "azurerm_linux_virtual_machine_scale_set" && body.overprovision !== false) problems.push("overprovisions (Azure briefly starts extra instances)");
        if (first(body.rolling_upgrade_policy)?.maximum_surge_instances_enabled === true) problems.push("surges an extra instance during upgrades");
      }
      if (type === CONTAINER_APP) {
        if (body.revision_mode !== "Single") problems.push(`revision mode ${body.revision_mode} keeps two revisions running side by side`);
        const max = first(body.template)?.max_replicas;
        if (max !== 1) problems.push(`max_replicas is ${max ?? "unset (10)"}, not 1`);
      }
      if (type === CLOUD_RUN) {
        const max = first(first(body.template)?.scaling)?.max_instance_count;
        if (max !== 1) problems.push(`max_instance_count is ${max ?? "unset (100)"}, not 1`);
      }
      const workloads = stack.resources(COMPUTE_TYPES).length;
      if (workloads > 1) problems.push(`is one of ${workloads} workloads in one bot stack`);
      return problems;
    },
  },

  "BF-ISO-1": {
    types: ["azurerm_role_assignment", "google_secret_manager_secret_iam_member", "google_storage_bucket_iam_member", ...COMPUTE_TYPES],
    check({ type, address, body }, stack) {
      // Bot stacks only (they have a runtime); shared stacks grant the deployer, not a bot.
      if (!stack.runtime) return [];
      if (type === CLOUD_RUN) {
        const account: unknown = first(body.template)?.service_account;
        const own = stack.referenced(account);
        // The bot's own account: made in this stack, or made for this bot by the shared stack and
        // looked up by its name. The project's default compute account is BF-ID-1's finding.
        if (own?.type === "google_service_account" || String(account).endsWith("-compute@developer.gserviceaccount.com")) return [];
        return [`runs as service account ${account}, which this stack does not own and other bots may share`];
      }
      if (COMPUTE_TYPES.includes(type))
        return list(first(body.identity)?.identity_ids)
          .filter((id) => { const r = stack.referenced(id); return !(r?.kind === "resource" && r.type === "azurerm_user_assigned_identity"); })
          .map((id) => `runs as identity ${id}, which this stack does not own and other bots may share`);
      return stack.identityReach().filter((r) => r.address === address && r.problem).map((r) => r.problem!);
    },
  },

  "BF-STO-1": {
    types: ["azurerm_storage_account", "google_storage_bucket", "google_storage_bucket_iam_member", "google_storage_bucket_iam_binding"],
    check({ type, body }) {
      const problems: string[] = [];
      if (type === "azurerm_storage_account") {
        if (body.https_traffic_only_enabled === false) problems.push("accepts plain HTTP");
        if (["TLS1_0", "TLS1_1"].includes(body.min_tls_version)) problems.push(`accepts ${body.min_tls_version}`);
        if (body.allow_nested_items_to_be_public !== false) problems.push("allows public blob access (allow_nested_items_to_be_public is not false)");
      } else if (type === "google_storage_bucket") {
        if (body.public_access_prevention !== "enforced") problems.push("does not enforce public access prevention");
        if (body.uniform_bucket_level_access !== true) problems.push("has per-object ACLs (uniform_bucket_level_access is not true)");
      } else {
        problems.push(...members(body).filter((m) => PUBLIC_MEMBERS.includes(m)).map((m) => `grants ${body.role} to ${m}`));
      }
      return problems;
    },
  },

  "BF-KV-1": {
    types: ["azurerm_key_vault"],
    check({ body }) {
      const problems: string[] = [];
      if (body.purge_protection_enabled !== true) problems.push("has no purge protection");
      if ((body.rbac_authorization_enabled ?? body.enable_rbac_authorization) !== true) problems.push("uses access policies instead of RBAC authorization");
      return problems;
    },
  },

  "BF-IAM-1": {
    types: ["azurerm_role_assignment", "google_project_iam_member", "google_project_iam_binding"],
    check({ type, body }) {
      if (type === "azurerm_role_assignment") {
        if (BROAD_AZURE_ROLES.includes(body.role_definition_name)) return [`grants ${body.role_definition_name}`];
        // It may grant any role, Owner included, unless a condition limits which.
        if (body.role_definition_name === "Role Based Access Control Administrator" && !body.condition)
          return ["grants Role Based Access Control Administrator without a condition on the roles it may assign"];
        return [];
      }
      return BROAD_GCP_ROLES.includes(body.role) ? [`grants ${body.role}`] : [];
    },
  },
};

/** Runs every rule over a synthesized stack and applies the bot's suppressions. */
export function evaluatePolicy(json: StackJson, context: PolicyContext = {}): PolicyReport {
  const stack = new StackView(json, context.runtime);
  const suppressions = context.suppressions ?? [];
  const used = new Set<RuleId>();
  const results: RuleResult[] = [];
  for (const rule of RULE_IDS) {
    const { types, check } = CHECKS[rule];
    for (const resource of stack.resources(types)) {
      const problems = check(resource, stack);
      const suppression = problems.length > 0 ? suppressions.find((s) => s.rule === rule) : undefined;
      if (suppression) used.add(rule);
      const status: RuleStatus = problems.length === 0 ? "pass" : suppression ? "suppressed" : "fail";
      results.push({ rule, address: resource.address, path: resource.path, status, problems, reason: suppression?.reason });
    }
  }
  return { results, unusedSuppressions: suppressions.filter((s) => !used.has(s.rule)) };
}

/** One finding as `cdktf synth` prints it: rule, resource, what is wrong, and the fix. */
export function describeFinding(result: RuleResult, bot?: string): string {
  const rule = POLICY_RULES[result.rule];
  const head = `${result.rule} [${rule.title}] ${result.address}: ${result.problems.join("; ")}.`;
  if (result.status === "suppressed") return `${head} Suppressed for ${bot}: ${result.reason}`;
  const exception = !rule.suppressible
    ? "This rule cannot be suppressed."
    : bot
      ? `Or, if this is intended, add { rule: ${result.rule}, reason: "<why>" } to the suppressions of bot ${bot} in the fleet file.`
      : "Shared stacks take no suppressions.";
  return `${head} Fix: ${rule.fix} ${exception}`;
}

function literalSecretEnv(env: unknown): string[] {
  return list(env)
    .filter((e) => SECRET_ENV_NAME.test(e.name) && e.value !== undefined)
    .map((e) => `environment variable ${e.name} holds a value instead of a vault reference`);
}

/** Credentials in an agent config must be `${VAR}` references that the agent resolves. */
function literalSecretsInConfig(config: Json, path = "agent config"): string[] {
  if (config === null || typeof config !== "object") return [];
  return Object.entries(config).flatMap(([key, value]) => {
    const at = `${path}.${key}`;
    if (typeof value === "string" && SECRET_CONFIG_KEY.test(key) && !/^\$\{[A-Z0-9_]+\}$/.test(value))
      return [`${at} holds a literal credential instead of a \${VAR} reference`];
    return literalSecretsInConfig(value, at);
  });
}

