import { UNSET_SECRET, type AgentRuntime } from "../runtimes/runtime";
import type { ResourceCheck } from "../targets/types";
import { COMPUTE, COMPUTE_TYPES, policyGaps, type PolicyGap } from "./coverage";
import { POLICY_RULES, RULE_IDS, type RuleId, type Suppression } from "../contracts/policy-rules";
import { eq, isLiteral, list, members, StackView, variablesIn, type CheckedResource, type StackJson } from "../tfjson/terraform-json";

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
  /** Bot stacks: resources the policy cannot vouch for (policy/coverage.ts); each fails synth. */
  readonly gaps: readonly PolicyGap[];
  /** Suppressions that matched no finding: stale, to be removed. */
  readonly unusedSuppressions: readonly Suppression[];
}

interface RuleCheck {
  /** Resource types the rule examines, besides the targets' compute. */
  readonly types: readonly string[];
  check?(resource: CheckedResource, stack: StackView): string[];
  /**
   * The rule is about workloads: every target's compute says how the rule examines it, or why it
   * does not apply (`compute` in targets/<target>/index.ts).
   */
  readonly compute?: true;
  /** What the rule checks of every workload it examines, besides its target's check. */
  everyCompute?(resource: CheckedResource, stack: StackView): string[];
}
const PUBLIC_MEMBERS = ["allUsers", "allAuthenticatedUsers"];
const BROAD_AZURE_ROLES = ["Owner", "Contributor", "User Access Administrator"];
const BROAD_GCP_ROLES = ["roles/owner", "roles/editor", "roles/iam.securityAdmin", "roles/resourcemanager.projectIamAdmin"];

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
      if (type === "azurerm_network_security_group" && !denyAll) problems.push("has no deny-all inbound rule, so Azure's default rules still admit VNet and load-balancer traffic on every port");
      return problems;
    },
  },

  "BF-SSH-1": { types: [], compute: true },

  "BF-GW-1": { types: [], compute: true },

  "BF-SOCK-1": { types: [], compute: true },

  "BF-TLS-1": { types: [], compute: true },

  "BF-AUTH-1": { types: [], compute: true },

  "BF-DM-1": { types: [], compute: true },

  "BF-ING-1": {
    types: ["google_cloud_run_v2_service_iam_member", "google_cloud_run_v2_service_iam_binding"],
    compute: true,
    check({ body }) {
      return body.role === "roles/run.invoker"
        ? members(body)
            .filter((m) => PUBLIC_MEMBERS.includes(m))
            .map((m) => `grants roles/run.invoker to ${m}`)
        : [];
    },
  },

  "BF-SEC-1": {
    types: ["azurerm_key_vault_secret", "google_secret_manager_secret_version"],
    compute: true,
    check({ type, body }, stack) {
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
      if (isLiteral(body.secret_data)) problems.push("holds a literal value in secret_data");
      return [...problems, ...writeOnly("secret_data_wo")];
    },
  },

  "BF-ID-1": {
    types: ["azurerm_container_registry"],
    compute: true,
    check: ({ body }) => (body.admin_enabled === true ? ["has the admin user on"] : []),
  },

  "BF-ONE-1": {
    types: [],
    compute: true,
    everyCompute(_, stack) {
      const workloads = stack.resources(COMPUTE_TYPES).length;
      return workloads > 1 ? [`is one of ${workloads} workloads in one bot stack`] : [];
    },
  },

  "BF-ISO-1": {
    types: ["azurerm_role_assignment", "google_secret_manager_secret_iam_member", "google_storage_bucket_iam_member"],
    compute: true,
    check({ address }, stack) {
      // Bot stacks only (they have a runtime); shared stacks grant the deployer, not a bot.
      if (!stack.runtime) return [];
      return stack
        .identityReach()
        .filter((r) => r.address === address && r.problem)
        .map((r) => r.problem!);
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
        problems.push(
          ...members(body)
            .filter((m) => PUBLIC_MEMBERS.includes(m))
            .map((m) => `grants ${body.role} to ${m}`),
        );
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

/** Rules about workloads: every target's compute says how each examines it. */
export const COMPUTE_RULES = RULE_IDS.filter((rule) => CHECKS[rule].compute);
/** Resource types some rule examines besides compute. */
export const EXAMINED_TYPES = new Set(RULE_IDS.flatMap((rule) => CHECKS[rule].types));

/** Runs every rule over a synthesized stack and applies the bot's suppressions. */
export function evaluatePolicy(json: StackJson, context: PolicyContext = {}): PolicyReport {
  const stack = new StackView(json, context.runtime);
  const suppressions = context.suppressions ?? [];
  const used = new Set<RuleId>();
  const results: RuleResult[] = [];
  for (const rule of RULE_IDS) {
    const { types, check, compute, everyCompute } = CHECKS[rule];
    const examined: [CheckedResource, ResourceCheck[]][] = check ? stack.resources(types).map((r) => [r, [check]]) : [];
    if (compute)
      for (const [type, { coverage }] of COMPUTE) {
        const entry = coverage[rule];
        // Not applicable, or missing: a gap, reported below.
        if (typeof entry !== "function") continue;
        for (const resource of stack.resources([type])) examined.push([resource, everyCompute ? [entry, everyCompute] : [entry]]);
      }
    for (const [resource, checks] of examined) {
      const problems = checks.flatMap((c) => c(resource, stack));
      const suppression = problems.length > 0 ? suppressions.find((s) => s.rule === rule) : undefined;
      if (suppression) used.add(rule);
      const status: RuleStatus = problems.length === 0 ? "pass" : suppression ? "suppressed" : "fail";
      results.push({ rule, address: resource.address, path: resource.path, status, problems, reason: suppression?.reason });
    }
  }
  // Shared stacks hold what the fleet's owner deploys once; bot stacks are what targets add to.
  const gaps = stack.runtime ? policyGaps(stack, EXAMINED_TYPES, COMPUTE_RULES) : [];
  return { results, gaps, unusedSuppressions: suppressions.filter((s) => !used.has(s.rule)) };
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
