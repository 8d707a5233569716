import type { Bot } from "../config/load";
import { evaluatePolicy, type PolicyReport } from "../policy/rules";
import { CLOUD_RUN, CONTAINER_APP, eq, first, isDomainSite, list, members, StackView, VM_TYPES, type Json, type Reach } from "../tfjson/terraform-json";
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
    cost: estimateCost(json),
  };
}

function endpoints(view: StackView): string[] {
  const lines: string[] = [];
  for (const { body } of view.resources(["azurerm_network_security_group"])) {
    const allowed = list(body.security_rule).filter((r) => eq(r.direction, "Inbound") && eq(r.access, "Allow"));
    if (allowed.length > 0)
      lines.push(`NSG ${body.name}: ${allowed.map((r) => `${r.protocol} ${r.destination_port_range} from ${r.source_address_prefix === "*" ? "anywhere" : r.source_address_prefix}`).join(", ")}`);
  }
  for (const { body } of view.resources(VM_TYPES)) {
    const publicIp = list(body.network_interface).some((n) => list(n.ip_configuration).some((c) => list(c.public_ip_address).length > 0));
    if (!publicIp) continue;
    const domains = (view.caddySites(body) ?? []).filter(isDomainSite);
    lines.push(
      ...domains.map((d) => `https://${d} (Caddy, certificate from Let's Encrypt)`),
      domains.length > 0
        ? `http://<public IP of ${body.name}>: /health, everything else redirected to HTTPS`
        : `http://<public IP of ${body.name}>: the gateway over plain HTTP`,
    );
  }
  for (const { body } of view.resources([CONTAINER_APP])) {
    const ingress = first(body.ingress);
    if (ingress?.external_enabled !== true) {
      lines.push(`container app ${body.name}: no ingress from outside its environment`);
      continue;
    }
    const rules = list(ingress.ip_security_restriction);
    const allowed = rules.filter((r) => r.action === "Allow").map((r) => r.ip_address_range);
    const denied = rules.filter((r) => r.action === "Deny").map((r) => r.ip_address_range);
    const who = view.inInternalEnvironment(body)
      ? "the VNet only (internal environment)"
      : allowed.length > 0
        ? allowed.join(", ")
        : `anywhere${denied.length > 0 ? ` except ${denied.join(", ")}` : ""}`;
    lines.push(`https://${body.name}.<environment domain>: from ${who}`);
  }
  const publicInvoker = view
    .resources(["google_cloud_run_v2_service_iam_member", "google_cloud_run_v2_service_iam_binding"])
    .some(({ body }) => body.role === "roles/run.invoker" && members(body).includes("allUsers"));
  for (const { body } of view.resources([CLOUD_RUN]))
    lines.push(`https://${body.name}-<hash>.${body.location}.run.app: ${publicInvoker || body.invoker_iam_disabled === true ? "anyone (public invoker)" : "callers with roles/run.invoker only"}`);
  return lines;
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
