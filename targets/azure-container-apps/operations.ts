import { azureBotSecrets, azureBotStore } from "../../operations/azure-bot";
import type { TargetOperations } from "../../operations/types";

/** A Container Apps bot's operations: its state in its own storage account, as a VM bot's. */
export const operations: TargetOperations = {
  store: azureBotStore,
  secrets: azureBotSecrets,
  // The running revision and its condition are the Container Apps management API's; not read yet.
  status: async () => ({ unknown: "the running revision is not read yet: see its BOTFLEET_RELEASE in the portal or Log Analytics (docs/day-2.md)" }),
};
