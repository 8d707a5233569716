import type { Bot } from "../config/load";
import { evaluatePolicy, type PolicyReport } from "../policy/rules";
import { TARGETS, targetOf } from "../targets/registry";
import { StackView, type Json, type Reach } from "../tfjson/terraform-json";
import { toolSandboxOf, type ToolSandboxFact } from "../policy/tool-sandbox";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import { estimateCost, type CostEstimate } from "./cost";
import type { SynthStack } from "./synth-output";

/** A secret a bot reads from its vault, and who gives it its value. */
export interface ExpectedSecret {
  readonly name: string;
  readonly env: string;
  readonly required: boolean;
  readonly generated: boolean;
}

/** What a reviewer needs to know about one synthesized stack. */
export interface StackReview {
  readonly name: string;
  readonly bot?: Bot;
  readonly json: SynthStack["json"];
  /** Resource count by Terraform type, by type name. */
  readonly resourceCounts: readonly (readonly [string, number])[];
  readonly policy: PolicyReport;
  /** Everything reachable from outside, as one line each. */
  readonly endpoints: readonly string[];
  readonly secrets: readonly ExpectedSecret[];
  /** Bot stacks: what the bot's identity may reach (its blast radius), from the grants in the stack. */
  readonly reach: readonly Reach[];
  /** Bot stacks: where the agent runs the tools it calls. */
  readonly toolSandbox?: ToolSandboxFact;
  /** Bot stacks: where its logs go and what alerts on them. */
  readonly watching?: Watching;
  readonly cost: CostEstimate;
}

export function reviewStack({ name, json, facts }: SynthStack): StackReview {
  const bot = facts?.bot;
  const runtime = bot ? RUNTIME_DESCRIPTIONS[bot.runtime] : undefined;
  const view = new StackView(json, runtime);
  return {
    name,
    bot,
    json,
    resourceCounts: Object.entries(json.resource ?? {})
      .map(([type, resources]) => [type, Object.keys(resources).length] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
    policy: evaluatePolicy(json, { runtime, suppressions: bot?.suppressions }),
    endpoints: endpoints(view),
    secrets: expectedSecrets(json),
    reach: bot ? view.identityReach() : [],
    toolSandbox: toolSandboxOf(json, runtime),
    watching: bot && watching(json, bot),
    cost: estimateCost(json),
  };
}

export interface Watching {
  readonly logs: string;
  /** What a stack without alerts says instead. */
  readonly noAlerts: string;
  /** Each alert by its name, the bot's prefix dropped. */
  readonly alerts: readonly string[];
  /** Where they go: the e-mail channel's address, or the action group it names. */
  readonly to?: string;
}

/** Alert resources by type, with the attribute that names each. */
const ALERT_NAMES: Record<string, string> = {
  azurerm_monitor_activity_log_alert: "name",
  azurerm_monitor_metric_alert: "name",
  azurerm_monitor_scheduled_query_rules_alert_v2: "name",
  google_monitoring_alert_policy: "display_name",
};

function watching(json: SynthStack["json"], bot: Bot): Watching {
  const target = targetOf(bot.target);
  const alerts = Object.entries(ALERT_NAMES)
    .flatMap(([type, attribute]) => Object.values<Json>(json.resource?.[type] ?? {}).map((a) => String(a[attribute]).replace(/^\S+ /, "")))
    .sort();
  const channel = Object.values<Json>(json.resource?.google_monitoring_notification_channel ?? {})[0]?.labels?.email_address;
  const group = Object.values<Json>(json.data?.azurerm_monitor_action_group ?? {})[0]?.name;
  return { logs: target.review.logs, noAlerts: target.review.noAlerts, alerts, to: channel ?? (group && `action group ${group}`) };
}
function endpoints(view: StackView): string[] {
  return TARGETS.flatMap((t) => t.review.endpoints?.(view) ?? []);
}

function expectedSecrets(json: SynthStack["json"]): ExpectedSecret[] {
  const generated = (value: unknown) => typeof value === "string" && value.includes("random_password.");
  const vault = Object.values<Json>(json.resource?.azurerm_key_vault_secret ?? {}).map((s) => ({
    name: s.name,
    env: s.tags?.env ?? "-",
    required: s.tags?.required !== "false",
    generated: generated(s.value),
  }));
  const versions = Object.values<Json>(json.resource?.google_secret_manager_secret_version ?? {});
  const manager = Object.entries<Json>(json.resource?.google_secret_manager_secret ?? {}).map(([name, s]) => ({
    name: s.secret_id,
    env: s.annotations?.env ?? "-",
    required: s.annotations?.required !== "false",
    generated: versions.some((v) => String(v.secret).includes(`.${name}.`) && generated(v.secret_data)),
  }));
  return [...vault, ...manager];
}
