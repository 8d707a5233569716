import type { Fleet } from "./load";
import { azureSharedNames } from "./names";
import { targetOf } from "../targets/registry";

/**
 * Fleet names whose global Azure names (Key Vault, container registry, storage accounts) others
 * hold: the example fleet's (fleet.yaml) and the README's minimal fleet's, which anyone may have
 * deployed as they are. A test keeps both in this list.
 */
export const TAKEN_FLEET_NAMES: readonly string[] = ["demo", "my-bots"];

/**
 * The warning for a fleet whose global Azure names are known to be taken, or undefined. They
 * derive from the fleet name and a hash of it, unless `azure.uniqueSuffix` replaces the hash.
 */
export function takenNamesWarning(fleet: Fleet): string | undefined {
  if (!TAKEN_FLEET_NAMES.includes(fleet.name) || fleet.azure.uniqueSuffix) return undefined;
  const regions = [...new Set(fleet.bots.filter((b) => targetOf(b.target).cloud === "azure").map((b) => b.region))];
  if (regions.length === 0) return undefined;
  const vaults = regions.map((r) => azureSharedNames(fleet.name, r).keyVault).join(", ");
  return (
    `fleet name "${fleet.name}" without azure.uniqueSuffix gives the global Azure names of an example in this repository ` +
    `(Key Vault ${vaults}, and its registry and storage accounts), which others hold: a first deploy would fail on them. ` +
    `Before deploying, set azure.uniqueSuffix to 4-8 lowercase letters or digits of your own, or name the fleet your own way`
  );
}
