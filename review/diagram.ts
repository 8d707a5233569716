import { CLOUD_RUN, CONTAINER_APP, first, isDomainSite, StackView, VM_TYPES } from "../tfjson/terraform-json";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import type { StackReview } from "./stack-review";

const CHANNEL_NAMES = { telegram: "Telegram", discord: "Discord" } as const;

/** A Mermaid flowchart of one bot: who reaches it, what runs it, and what it talks to. */
export function botDiagram(review: StackReview): string | undefined {
  const { bot, json } = review;
  if (!bot) return undefined;
  const runtime = RUNTIME_DESCRIPTIONS[bot.runtime];
  const view = new StackView(json, runtime);
  const lines = ["flowchart LR"];
  const vault = `${review.secrets.length} secrets`;

  const [vm] = view.resources(VM_TYPES);
  const [app] = view.resources([CONTAINER_APP]);
  const [service] = view.resources([CLOUD_RUN]);
  if (vm) {
    const domain = (view.caddySites(vm.body) ?? []).find(isDomainSite);
    lines.push(
      `  internet((Internet)) -- ${label(domain ? "HTTPS 443 · HTTP 80" : "HTTP 80")} --> caddy`,
      `  subgraph host[${label(`VM scale set ${vm.body.name} · ${vm.body.sku_name} · ${vm.body.instances} instance`)}]`,
      `    caddy[${label(`Caddy · ${domain ?? ":80, no TLS"}`)}] --> agent[${label(`${runtime.id} gateway · 127.0.0.1:${runtime.port}`)}]`,
      "  end",
      `  agent -- ${label("managed identity")} --> vault[(${label(`Key Vault · ${vault}`)})]`,
      `  agent -- ${label("local disk")} --> sync[${label("state-sync container")}]`,
      `  sync -- ${label("snapshots, blob lease")} --> state[(${label(`Blob container ${Object.values<{ name: string }>(json.resource?.azurerm_storage_container ?? {})[0]?.name ?? "state"}`)})]`,
    );
  } else if (app) {
    const ingress = review.endpoints.find((e) => e.startsWith("https://"));
    if (ingress) lines.push(`  internet((Internet)) -- ${label(`HTTPS ${ingress.split(": ")[1]}`)} --> agent`);
    const container = first(first(app.body.template)?.container);
    lines.push(
      `  subgraph host[${label("Container Apps environment")}]`,
      `    agent[${label(`container app ${app.body.name} · ${runtime.id} · ${container?.cpu} vCPU / ${container?.memory} · 1 replica`)}]`,
      "  end",
      `  registry[(${label("Container Registry")})] -- ${label("pull with identity")} --> agent`,
      `  agent -- ${label("Key Vault references")} --> vault[(${label(`Key Vault · ${vault}`)})]`,
      `  agent -- ${label("local EmptyDir")} --> sync[${label("state-sync sidecar")}]`,
      `  sync -- ${label("snapshots, blob lease")} --> state[(${label(`Blob container ${Object.values<{ name: string }>(json.resource?.azurerm_storage_container ?? {})[0]?.name ?? "state"}`)})]`,
    );
  } else if (service) {
    const limits = first(first(first(service.body.template)?.containers)?.resources)?.limits ?? {};
    const bucket = Object.values<{ name: string }>(json.resource?.google_storage_bucket ?? {})[0]?.name ?? "state bucket";
    const open = review.endpoints.some((e) => e.includes("anyone"));
    lines.push(
      `  callers((${open ? "Internet" : "IAM principals"})) -- ${label(open ? "HTTPS, public" : "HTTPS, IAM-checked")} --> agent`,
      `  agent[${label(`Cloud Run ${service.body.name} · ${runtime.id} · ${limits.cpu} vCPU / ${limits.memory} · 1 instance`)}]`,
      `  agent -- ${label("secret references")} --> vault[(${label(`Secret Manager · ${vault}`)})]`,
      `  agent -- ${label("in-memory volume")} --> sync[${label("state-sync sidecar")}]`,
      `  sync -- ${label("snapshots, lock object")} --> state[(${label(`bucket ${bucket}`)})]`,
    );
  } else return undefined;

  for (const channel of Object.keys(CHANNEL_NAMES) as (keyof typeof CHANNEL_NAMES)[])
    if (bot.channels[channel]) lines.push(`  agent -- ${label("outbound")} --> ${channel}([${label(CHANNEL_NAMES[channel])}])`);
  lines.push(`  agent -- ${label("API")} --> llm([${label(`${bot.modelProvider} API`)}])`);
  return lines.join("\n");
}

/** A quoted Mermaid label; `"` cannot appear inside one, so it becomes an entity. */
function label(text: string): string {
  return `"${text.replace(/"/g, "#quot;")}"`;
}
