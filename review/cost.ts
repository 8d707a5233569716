import { first, list, type Json, type StackJson } from "../tfjson/terraform-json";
import { NO_CHARGE_TYPES, PRICES } from "./prices";

/** A fixed monthly charge of one resource. */
export interface CostLine {
  readonly address: string;
  readonly item: string;
  readonly monthly: number;
}

export interface CostEstimate {
  /** Fixed monthly charges: what the resources cost running 24/7 with no traffic. */
  readonly lines: readonly CostLine[];
  /** Charges by use, with their unit prices: not in `monthly`. */
  readonly usage: readonly string[];
  /** Addresses of resources the price table does not cover. */
  readonly unpriced: readonly string[];
  readonly monthly: number;
}

const SECONDS_PER_MONTH = PRICES.hoursPerMonth * 3600;
const DAYS_PER_MONTH = PRICES.hoursPerMonth / 24;
const { azure, gcp } = PRICES;

type Pricer = (body: Json, address: string) => CostLine[] | undefined;

/** What each priced resource type costs a month; undefined when its settings are not in the table. */
const PRICERS: Record<string, Pricer> = {
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
  azurerm_container_app: (b, address) => {
    const template = first(b.template);
    const replicas = Number(template?.min_replicas ?? 0);
    const containers = list(template?.container);
    const cpu = containers.reduce((sum, c) => sum + Number(c.cpu), 0);
    const gib = containers.reduce((sum, c) => sum + gibibytes(c.memory), 0);
    if (!Number.isFinite(cpu + gib)) return undefined;
    const monthly = replicas * SECONDS_PER_MONTH * (cpu * azure.containerAppsVcpuSecond + gib * azure.containerAppsGibSecond);
    return [{ address, item: `${replicas} × replica always active, ${cpu} vCPU / ${gib} GiB`, monthly }];
  },
  azurerm_container_registry: (b, address) => {
    const perDay = azure.registryPerDay[b.sku];
    return perDay === undefined ? undefined : [{ address, item: `Container Registry ${b.sku}`, monthly: perDay * DAYS_PER_MONTH }];
  },
  google_cloud_run_v2_service: (b, address) => {
    const template = first(b.template);
    const instances = Number(first(template?.scaling)?.min_instance_count ?? 0);
    const containers = list(template?.containers);
    const limits = containers.map((c) => first(c.resources)?.limits ?? {});
    const cpu = limits.reduce((sum, l) => sum + Number(l.cpu), 0);
    const gib = limits.reduce((sum, l) => sum + gibibytes(l.memory), 0);
    if (!Number.isFinite(cpu + gib)) return undefined;
    const monthly = instances * SECONDS_PER_MONTH * (cpu * gcp.cloudRunVcpuSecond + gib * gcp.cloudRunGibSecond);
    return [{ address, item: `${instances} × instance always allocated, ${cpu} vCPU / ${gib} GiB`, monthly }];
  },
  google_secret_manager_secret: (_, address) => [{ address, item: "Secret Manager: 1 active version", monthly: gcp.secretVersionPerMonth }],
};

const USAGE: Record<string, string> = {
  azurerm_storage_share: azure.usage.filesHotPerGib,
  azurerm_storage_container: azure.usage.blobPerGib,
  azurerm_log_analytics_workspace: azure.usage.logAnalyticsPerGb,
  azurerm_key_vault: azure.usage.keyVaultOperations,
  google_storage_bucket: gcp.usage.storagePerGib,
  google_artifact_registry_repository: gcp.usage.artifactRegistryPerGib,
};

/** The monthly cost of a synthesized stack, from the price table. */
export function estimateCost(stack: StackJson): CostEstimate {
  const lines: CostLine[] = [];
  const unpriced: string[] = [];
  const usage = new Set<string>();
  for (const [type, resources] of Object.entries(stack.resource ?? {}))
    for (const [name, body] of Object.entries(resources)) {
      const address = `${type}.${name}`;
      if (USAGE[type]) usage.add(USAGE[type]);
      const priced = PRICERS[type]?.(body, address);
      if (priced) lines.push(...priced);
      else if (!NO_CHARGE_TYPES.has(type)) unpriced.push(address);
    }
  return { lines, usage: [...usage].sort(), unpriced, monthly: round(lines.reduce((sum, l) => sum + l.monthly, 0)) };
}

/** `$12.34`, `-$1.00`, `+$3.50` with `sign`. */
export function dollars(amount: number, sign = false): string {
  const text = `$${Math.abs(amount).toFixed(2)}`;
  return amount < 0 ? `-${text}` : sign && amount > 0 ? `+${text}` : text;
}

export function round(amount: number): number {
  return Math.round(amount * 100) / 100;
}

/** Azure bills a managed disk at the smallest size tier that holds it. */
function diskTier(gib: number): number {
  return [4, 8, 16, 32, 64, 128, 256, 512, 1024].find((t) => t >= gib) ?? gib;
}

/** "512Mi", "2Gi", "1G" as GiB; NaN for anything else. */
function gibibytes(memory: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(Mi|Gi|M|G)$/.exec(String(memory));
  if (!m) return NaN;
  const n = Number(m[1]);
  return { Mi: n / 1024, Gi: n, M: (n * 1e6) / 2 ** 30, G: (n * 1e9) / 2 ** 30 }[m[2] as "Mi" | "Gi" | "M" | "G"];
}
