import { DAYS_PER_MONTH, NO_CHARGE_TYPES, PRICES } from "../targets/prices";
import { TARGETS } from "../targets/registry";
import type { CostLine, Pricer } from "../targets/types";
import type { StackJson } from "../tfjson/terraform-json";

export type { CostLine };

export interface CostEstimate {
  /** Fixed monthly charges: what the resources cost running 24/7 with no traffic. */
  readonly lines: readonly CostLine[];
  /** Charges by use, with their unit prices: not in `monthly`. */
  readonly usage: readonly string[];
  /** Addresses of resources the price table does not cover. */
  readonly unpriced: readonly string[];
  readonly monthly: number;
}

const { azure, gcp } = PRICES;

/** What each priced resource type costs a month: the targets' compute and secrets, and what their shared stacks hold. */
const PRICERS: Record<string, Pricer> = {
  ...Object.assign({}, ...TARGETS.map((t) => t.review.pricers ?? {})),
  azurerm_container_registry: (b, address) => {
    const perDay = azure.registryPerDay[b.sku];
    return perDay === undefined ? undefined : [{ address, item: `Container Registry ${b.sku}`, monthly: perDay * DAYS_PER_MONTH }];
  },
};

const USAGE: Record<string, string> = {
  azurerm_storage_share: azure.usage.filesHotPerGib,
  azurerm_storage_container: azure.usage.blobPerGib,
  azurerm_log_analytics_workspace: azure.usage.logAnalyticsPerGb,
  azurerm_key_vault: azure.usage.keyVaultOperations,
  google_storage_bucket: gcp.usage.storagePerGib,
  google_artifact_registry_repository: gcp.usage.artifactRegistryPerGib,
  google_cloud_run_v2_service: gcp.usage.cloudLoggingPerGib,
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
