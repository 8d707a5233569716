import { z } from "zod";
import { HOSTNAME } from "../../contracts";
import { AZURE_REGIONS } from "../../config/regions";
import { eq, first, isDomainSite, list, VM_TYPES } from "../../tfjson/terraform-json";
import { diskTier, PRICES } from "../prices";
import { defineTarget } from "../types";

const { azure } = PRICES;

/** The VM size of each tier. */
export const VM_SIZES = {
  light: "Standard_B1ms",
  standard: "Standard_B2s",
  performance: "Standard_D2s_v3",
};

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
  computeTypes: VM_TYPES,
  secretTypes: ["azurerm_key_vault_secret"],
  review: {
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
          domains.length > 0
            ? `http://<public IP of ${body.name}>: /health, everything else redirected to HTTPS`
            : `http://<public IP of ${body.name}>: the gateway over plain HTTP`,
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
        const ips = list(b.network_interface).flatMap((n) => list(n.ip_configuration)).flatMap((c) => list(c.public_ip_address)).length;
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
