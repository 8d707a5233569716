import { z } from "zod";
import { cidr } from "../../config/cidr";
import { azureReservedNameProblem } from "../../config/names";
import { AZURE_REGIONS } from "../../config/regions";
import { envAgentConfig, first, list } from "../../tfjson/terraform-json";
import { gibibytes, PRICES, SECONDS_PER_MONTH } from "../prices";
import { publicAccess } from "../public-access";
import { agentConfigChecks, type AgentConfigOf, azureManagedIdentity, literalSecretEnv, ownAzureIdentity } from "../checks";
import { defineTarget } from "../types";

const { azure } = PRICES;

/**
 * vCPU and memory of the agent per tier. With the state-sync sidecar's share added, each app's
 * total is a combination the Consumption profile allows (memory twice the vCPU, in 0.25 steps).
 */
export const CONTAINER_APP_SIZES = {
  // 2.5 GiB at least: the pinned gateway reaches 1.3 to 1.8 GB in a busy session (containers/gateway-memory).
  light: { cpu: 1.25, memory: "2.5Gi" },
  standard: { cpu: 1.5, memory: "3Gi" },
  performance: { cpu: 2, memory: "4Gi" },
};

export const CONTAINER_APP = "azurerm_container_app";

/** The agent config a workload of this target carries. */
const agentConfigOf: AgentConfigOf = ({ body }) => envAgentConfig(first(body.template)?.container);
const agentConfig = agentConfigChecks(agentConfigOf);

/** A bot as one Azure container app, one replica, with a state-sync sidecar. */
export const azureContainerApps = defineTarget({
  id: "azure-container-apps",
  cloud: "azure",
  regions: AZURE_REGIONS,
  regionNoun: "an Azure region",
  settings: {
    inheritable: {
      publicAccess,
      allowedIpRanges: z.array(cidr("203.0.113.0/24")).min(1).max(100).optional().meta({
        description: "azure-container-apps: the only source ranges (IPv4 CIDR) the app's ingress admits.",
      }),
      deniedIpRanges: z.array(cidr("203.0.113.0/24")).min(1).max(100).optional().meta({
        description: "azure-container-apps: source ranges the otherwise public ingress refuses (needs publicAccess: true).",
      }),
      internalOnly: z.boolean().optional().meta({
        description: "azure-container-apps: run in the fleet's internal environment, reachable only from the VNet (needs azure.containerAppsSubnet). Default: false.",
      }),
    },
  },
  resolve: (b, d) => ({
    /** Anyone may reach the gateway (its token is the only gate). */
    publicAccess: (b.publicAccess ?? d.publicAccess ?? false) as boolean,
    /** The only source ranges the ingress admits (empty: no such rule). */
    allowedIpRanges: (b.allowedIpRanges ?? d.allowedIpRanges ?? []) as readonly string[],
    /** Source ranges the public ingress refuses. */
    deniedIpRanges: (b.deniedIpRanges ?? d.deniedIpRanges ?? []) as readonly string[],
    /** In the internal environment, reachable from the VNet only. */
    internalOnly: (b.internalOnly ?? d.internalOnly ?? false) as boolean,
  }),
  check({ fleet, bot: b, settings: s, path, report }) {
    if (s.allowedIpRanges && s.deniedIpRanges)
      report(
        [...path, b.deniedIpRanges ? "deniedIpRanges" : "allowedIpRanges"],
        "mixes allow and deny rules; Container Apps needs every IP rule of an app to use one action: keep allowedIpRanges or deniedIpRanges, not both",
      );
    if (s.publicAccess && s.allowedIpRanges) report([...path, "publicAccess"], "contradicts allowedIpRanges (which admits only those ranges); remove one");
    if (s.deniedIpRanges && !s.publicAccess) report([...path, "deniedIpRanges"], "opens the app to everyone else; set publicAccess: true to say so, or use allowedIpRanges");
    if (s.internalOnly && fleet.azure?.containerAppsSubnet === undefined)
      report([...path, "internalOnly"], "needs a subnet for the internal environment; set azure.containerAppsSubnet (e.g. 10.0.2.0/27)");
    if (s.internalOnly && s.publicAccess) report([...path, "internalOnly"], "contradicts publicAccess; remove one");
    if (b.name.length > 32) report([...path, "name"], "is longer than 32 characters, the most a container app name may have; shorten it");
    // The container app is named as the bot, and it has an endpoint (its FQDN).
    const reserved = azureReservedNameProblem(b.name);
    if (reserved) report([...path, "name"], `${reserved}; the container app is named as the bot, and Azure refuses that as a reserved word (ReservedResourceName); pick another bot name`);
  },
  sizes: CONTAINER_APP_SIZES,
  sharedStack: () => require("../../constructs/azure-shared-stack").AzureSharedStack,
  sharedNeeds: ["container-apps-environment"],
  botStack: () => require("./bot-stack").AzureContainerAppsBotStack,
  compute: {
    [CONTAINER_APP]: {
      "BF-SSH-1": { notApplicable: "a container app runs no SSH server and has no admin user" },
      "BF-GW-1": { notApplicable: "the gateway listens in the app's own network namespace; only the managed ingress reaches it (BF-ING-1)" },
      "BF-SOCK-1": { notApplicable: "Container Apps gives no container a Docker socket, and botfleet mounts only its state volume" },
      "BF-TLS-1": ({ body }) => (first(body.ingress)?.allow_insecure_connections === true ? ["ingress allows plain HTTP (allow_insecure_connections)"] : []),
      "BF-AUTH-1": agentConfig.auth,
      "BF-DM-1": agentConfig.dms,
      "BF-ING-1": ({ body }, stack) => {
        const ingress = first(body.ingress);
        if (ingress?.external_enabled !== true || stack.inInternalEnvironment(body)) return [];
        const rules = list(ingress.ip_security_restriction);
        if (rules.some((r) => r.action === "Allow")) return [];
        const denied = rules.filter((r) => r.action === "Deny").length;
        return [`ingress is open to the whole internet${denied > 0 ? ` except ${denied} denied range(s)` : ""}`];
      },
      "BF-SEC-1": (resource, stack) => {
        const { body } = resource;
        const problems: string[] = [];
        for (const s of list(body.secret)) if (s.value !== undefined) problems.push(`secret "${s.name}" carries its value instead of a Key Vault reference`);
        for (const c of list(first(body.template)?.container)) problems.push(...literalSecretEnv(c.env));
        return [...problems, ...agentConfig.secrets(resource, stack)];
      },
      "BF-ID-1": azureManagedIdentity,
      "BF-ONE-1": ({ body }) => {
        const problems: string[] = [];
        if (body.revision_mode !== "Single") problems.push(`revision mode ${body.revision_mode} keeps two revisions running side by side`);
        const max = first(body.template)?.max_replicas;
        if (max !== 1) problems.push(`max_replicas is ${max ?? "unset (10)"}, not 1`);
        return problems;
      },
      "BF-ISO-1": ownAzureIdentity,
    },
  },
  agentConfig: agentConfigOf,
  toolSandbox: { none: "Container Apps cannot run Sysbox, so there is no Docker engine for sandbox containers" },
  secretTypes: ["azurerm_key_vault_secret"],
  review: {
    logs: "Log Analytics: the region's workspace (azure.logRetentionDays, capped by azure.logDailyCapGb)",
    noAlerts: "none: set azure.alerts.email",
    endpoints(view) {
      const lines: string[] = [];
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
      return lines;
    },
    diagram({ view, json, runtime, vault, endpoints, label }) {
      const [app] = view.resources([CONTAINER_APP]);
      if (!app) return undefined;
      const lines: string[] = [];
      const ingress = endpoints.find((e) => e.startsWith("https://"));
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
      return lines;
    },
    pricers: {
      [CONTAINER_APP]: (b, address) => {
        const template = first(b.template);
        const replicas = Number(template?.min_replicas ?? 0);
        const containers = list(template?.container);
        const cpu = containers.reduce((sum, c) => sum + Number(c.cpu), 0);
        const gib = containers.reduce((sum, c) => sum + gibibytes(c.memory), 0);
        if (!Number.isFinite(cpu + gib)) return undefined;
        const monthly = replicas * SECONDS_PER_MONTH * (cpu * azure.containerAppsVcpuSecond + gib * azure.containerAppsGibSecond);
        return [{ address, item: `${replicas} × replica always active, ${cpu} vCPU / ${gib} GiB`, monthly }];
      },
    },
  },
});
