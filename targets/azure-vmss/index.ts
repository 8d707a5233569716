import { z } from "zod";
import { HOSTNAME } from "../../contracts";
import { AZURE_REGIONS } from "../../config/regions";
import { eq, first, isDomainSite, list } from "../../tfjson/terraform-json";
import { diskTier, PRICES } from "../prices";
import { agentConfigChecks, type AgentConfigOf, azureManagedIdentity, ownAzureIdentity } from "../checks";
import { defineTarget, type RuleCoverage } from "../types";

const { azure } = PRICES;

/**
 * The VM size of each tier. Light shares standard's B2s: a B1ms (2 GiB) cannot hold the pinned
 * gateway's busy 1.6 to 1.75 GB beside Ubuntu, Docker and Caddy (bootstrap/azure-vm.ts AGENT_LIMITS).
 */
export const VM_SIZES = {
  light: "Standard_B2s",
  standard: "Standard_B2s",
  performance: "Standard_D2s_v3",
};

/** The VM kinds a bot may run on; botfleet deploys the first, the policy examines them all. */
export const VM_TYPES = ["azurerm_orchestrated_virtual_machine_scale_set", "azurerm_linux_virtual_machine_scale_set", "azurerm_linux_virtual_machine"];

/** The agent config a workload of this target carries. */
const agentConfigOf: AgentConfigOf = ({ body }, stack) => stack.cloudInitAgentConfig(body);
const agentConfig = agentConfigChecks(agentConfigOf);

/** How each policy rule examines a bot's VM (or scale set). */
const VM_POLICY: RuleCoverage = {
  "BF-SSH-1": ({ body }, stack) => {
    const linux = first(first(body.os_profile)?.linux_configuration) ?? body;
    const problems: string[] = [];
    if (list(linux.admin_ssh_key).length > 0) problems.push("has an SSH key for the admin user");
    const cloudInit = stack.cloudInit(body);
    if (linux.disable_password_authentication !== true && cloudInit?.config.ssh_pwauth !== false) problems.push("lets SSH take the admin password: cloud-init does not set ssh_pwauth: false");
    return problems;
  },
  "BF-GW-1": ({ body }, stack) => {
    const cloudInit = stack.cloudInit(body);
    if (!cloudInit) return ["has no cloud-init to show where the gateway listens"];
    const runs = Object.values(cloudInit.files)
      .flatMap(dockerRuns)
      // The state-sync container publishes nothing and needs the host network for IMDS (issue 14).
      .filter((line) => !/--name[= ]['"]?botfleet-state-sync\b/.test(line));
    if (runs.length === 0) return ["starts no gateway container in its cloud-init"];
    // A Docker daemon in a container under sysbox-runc (the tool sandbox's) has a network
    // namespace of its own: a port published in there is reachable from the VM only through
    // what that daemon's container publishes, which this rule checks like any other.
    const sandboxed = new Map<string, string[]>();
    for (const run of runs) {
      const daemon = /--runtime[= ]['"]?sysbox-runc\b[^]*\bdockerd\s+--host[= ]['"]?([^\s'"]+)/.exec(run)?.[1];
      if (daemon) sandboxed.set(daemon, publishes(run));
    }
    const problems: string[] = [];
    for (const run of runs) {
      const outer = sandboxed.get(/\bdocker\s+--host[= ]['"]?([^\s'"]+)['"]?\s+run\b/.exec(run)?.[1] ?? "");
      for (const published of publishes(run)) {
        if (published.startsWith("127.0.0.1:")) continue;
        const port = published.split(":").at(-2);
        if (outer?.some((p) => p.startsWith(`127.0.0.1:${port}:`))) continue;
        problems.push(`publishes the gateway container on ${published}, not 127.0.0.1${outer ? ", and its sandbox daemon does not publish that port on 127.0.0.1" : ""}`);
      }
      if (/--net(?:work)?[= ]['"]?host\b/.test(run)) problems.push("runs the gateway container on the host network");
    }
    return problems;
  },
  "BF-SOCK-1": ({ body }, stack) => {
    const problems: string[] = [];
    for (const [path, content] of Object.entries(stack.cloudInit(body)?.files ?? {})) {
      // A file naming neither the socket nor a mount has no line that could (most of them: this
      // rule ran over every line of every file, 2.5% of a 100-bot synth).
      if (!/docker\.sock|--volume|--mount|\s-v\s/.test(content)) continue;
      // Every command line, not only `docker run`: mounts may be collected in a variable first.
      for (const line of commandLines(content)) {
        if (HOST_DOCKER_SOCKET.test(line)) problems.push(`${path} gives a container the host's Docker socket: ${line.trim().slice(0, 160)}`);
        for (const m of line.matchAll(/(?:--volume|--mount|\s-v(?=\s+['"]?\/[^\s:]*:))(?:=|\s+)['"]?([^\s'"]+)/g)) {
          const source = m[1].startsWith("type=") ? (/(?:^|,)(?:source|src)=([^,]+)/.exec(m[1])?.[1] ?? "") : m[1].split(":")[0];
          if (/^\/(?:var\/)?run\/?$|^\/$/.test(source)) problems.push(`${path} mounts the host's ${source} (and the Docker socket in it) into a container`);
        }
      }
    }
    return problems;
  },
  "BF-TLS-1": ({ body }, stack) => {
    const sites = stack.caddySites(body);
    if (sites === undefined) return ["has no Caddyfile in its cloud-init, so nothing terminates TLS"];
    return sites.some(isDomainSite) ? [] : ["Caddy serves the gateway over plain HTTP on port 80 (no domain, so no certificate): its token and chats would cross the internet unencrypted"];
  },
  "BF-AUTH-1": agentConfig.auth,
  "BF-DM-1": agentConfig.dms,
  "BF-ING-1": { notApplicable: "a VM has no managed ingress: its subnet's NSG admits TCP 80 and 443 only, to Caddy (BF-NSG-1)" },
  "BF-SEC-1": agentConfig.secrets,
  "BF-ID-1": azureManagedIdentity,
  "BF-ONE-1": ({ type, body }) => {
    const problems: string[] = [];
    if (type === "azurerm_orchestrated_virtual_machine_scale_set" || type === "azurerm_linux_virtual_machine_scale_set") {
      if (!(body.instances <= 1)) problems.push(`runs ${body.instances ?? "an unset number of"} instances`);
      if (type === "azurerm_linux_virtual_machine_scale_set" && body.overprovision !== false) problems.push("overprovisions (Azure briefly starts extra instances)");
      if (first(body.rolling_upgrade_policy)?.maximum_surge_instances_enabled === true) problems.push("surges an extra instance during upgrades");
    }
    return problems;
  },
  "BF-ISO-1": ownAzureIdentity,
};

/** The host's Docker API socket, however a path or DOCKER_HOST spells it. */
const HOST_DOCKER_SOCKET = /(?:^|[\s'"=:,])(?:unix:\/\/)?\/(?:var\/)?run\/docker\.sock\b/;

/** The lines of a file that are not comments, with backslash continuations joined. */
function commandLines(content: string): string[] {
  return content
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((line) => !/^\s*#/.test(line));
}

/** Every `docker run` command line of a file, on any daemon (`docker --host ... run`). */
function dockerRuns(content: string): string[] {
  return commandLines(content).filter((line) => /\bdocker\s+(?:--host[= ]\S+\s+)?run\b/.test(line));
}

/** The `--publish` values of a `docker run` line. */
function publishes(run: string): string[] {
  return [...run.matchAll(/(?:--publish|\s-p)(?:=|\s+)['"]?([^\s'"]+)/g)].map((m) => m[1]);
}

/** A bot on an Azure VM scale set of one instance: Caddy in front of the gateway on 127.0.0.1. */
export const azureVmss = defineTarget({
  id: "azure-vmss",
  cloud: "azure",
  regions: AZURE_REGIONS,
  regionNoun: "an Azure region",
  settings: {
    botOnly: {
      domain: z
        .string()
        .regex(HOSTNAME, 'must be a lowercase DNS name like "alpha.example.com" (no scheme, port or path)')
        .optional()
        .meta({ description: "Public DNS name; Caddy gets a certificate for it. Omit to serve plain HTTP on :80." }),
    },
  },
  resolve: (own) => ({ domain: own.domain as string | undefined }),
  sizes: VM_SIZES,
  sharedStack: () => require("../../constructs/azure-shared-stack").AzureSharedStack,
  botStack: () => require("./bot-stack").AzureVmssBotStack,
  // Its syslog reaches the region's workspace through the shared stack's data collection rule.
  sharedNeeds: ["vm-syslog-rule"],
  compute: Object.fromEntries(VM_TYPES.map((type) => [type, VM_POLICY])),
  agentConfig: agentConfigOf,
  toolSandbox: { engine: 'a Docker daemon under sysbox-runc that runs the gateway too (off at run time if Sysbox fails: boot log "sandbox: DEGRADED")' },
  secretTypes: ["azurerm_key_vault_secret"],
  review: {
    logs: "Log Analytics: the region's workspace, syslog through the Azure Monitor Agent (azure.logRetentionDays, capped by azure.logDailyCapGb)",
    noAlerts: "none: set azure.alerts.email",
    endpoints(view) {
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
          domains.length > 0 ? `http://<public IP of ${body.name}>: /health, everything else redirected to HTTPS` : `http://<public IP of ${body.name}>: the gateway over plain HTTP`,
        );
      }
      return lines;
    },
    diagram({ view, json, runtime, vault, label }) {
      const [vm] = view.resources(VM_TYPES);
      if (!vm) return undefined;
      const domain = (view.caddySites(vm.body) ?? []).find(isDomainSite);
      return [
        `  internet((Internet)) -- ${label(domain ? "HTTPS 443 · HTTP 80" : "HTTP 80")} --> caddy`,
        `  subgraph host[${label(`VM scale set ${vm.body.name} · ${vm.body.sku_name} · ${vm.body.instances} instance`)}]`,
        `    caddy[${label(`Caddy · ${domain ?? ":80, no TLS"}`)}] --> agent[${label(`${runtime.id} gateway · 127.0.0.1:${runtime.port}`)}]`,
        "  end",
        `  agent -- ${label("managed identity")} --> vault[(${label(`Key Vault · ${vault}`)})]`,
        `  agent -- ${label("local disk")} --> sync[${label("state-sync container")}]`,
        `  sync -- ${label("snapshots, blob lease")} --> state[(${label(`Blob container ${Object.values<{ name: string }>(json.resource?.azurerm_storage_container ?? {})[0]?.name ?? "state"}`)})]`,
      ];
    },
    pricers: {
      azurerm_orchestrated_virtual_machine_scale_set: (b, address) => {
        const instances = Number(b.instances ?? 0);
        const vm = azure.vmPerMonth[b.sku_name];
        const disk = first(b.os_disk);
        const diskPrice = azure.diskPerMonth[disk?.storage_account_type]?.[diskTier(Number(disk?.disk_size_gb ?? 30))];
        const ips = list(b.network_interface)
          .flatMap((n) => list(n.ip_configuration))
          .flatMap((c) => list(c.public_ip_address)).length;
        if (vm === undefined || diskPrice === undefined) return undefined;
        return [
          { address, item: `${instances} × VM ${b.sku_name}`, monthly: instances * vm },
          { address, item: `${instances} × OS disk ${disk.storage_account_type} ${disk.disk_size_gb ?? 30} GiB`, monthly: instances * diskPrice },
          ...(ips > 0 ? [{ address, item: `${instances * ips} × Standard public IP`, monthly: instances * ips * azure.publicIpPerMonth }] : []),
        ];
      },
    },
  },
});
