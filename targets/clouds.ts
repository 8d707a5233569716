import type { Cloud } from "../contracts";
import { azureBotNames, azureReservedNameProblem, azureSharedNames } from "../config/names";
import type { RawBot, RawFleet, Report } from "./types";

/**
 * Checks of what a cloud builds for any of its targets: run once per fleet for the clouds in use,
 * and once per bot for the bots of that cloud.
 */
export const CLOUD_CHECKS: Record<
  Cloud,
  { checkFleet?(fleet: RawFleet, regions: readonly string[], report: Report): void; checkBot?(fleet: RawFleet, bot: RawBot, path: readonly PropertyKey[], report: Report): void }
> = {
  azure: {
    // Each Azure region's Key Vault and registry carry the fleet name.
    checkFleet(f, regions, report) {
      // The suffix replaces the region's hash in those global names: two regions would share them.
      if (f.azure.uniqueSuffix && regions.length > 1)
        report(
          ["azure", "uniqueSuffix"],
          `would give the Key Vault and registry of every Azure region (${regions.join(", ")}) the same globally unique name, so only one region could deploy; remove it and name the fleet your own way, or give each region a fleet of its own`,
        );
      const reservedShared = regions
        .map((region) => azureSharedNames(f.name, region, f.azure.uniqueSuffix))
        .flatMap((n) => [n.keyVault, n.containerRegistry])
        .map((name) => ({ name, problem: azureReservedNameProblem(name) }))
        .find((n) => n.problem);
      if (reservedShared)
        report(
          ["name"],
          `makes the shared name "${reservedShared.name}", which ${reservedShared.problem}; Azure refuses it as a reserved word (ReservedResourceName); pick another fleet name${f.azure.uniqueSuffix ? " or azure.uniqueSuffix" : ""}`,
        );
    },
    // An Azure bot's own storage account (an endpoint) carries its name.
    checkBot(f, b, path, report) {
      const account = azureBotNames(f.name, b.name, f.azure.uniqueSuffix).storageAccount;
      const reservedAccount = azureReservedNameProblem(account);
      if (reservedAccount)
        report([...path, "name"], `makes the bot's storage account name "${account}", which ${reservedAccount}; Azure refuses it as a reserved word (ReservedResourceName); pick another bot name`);
    },
  },
  gcp: {},
};
