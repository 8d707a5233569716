import type { App } from "cdktf";
import type { Fleet } from "../config/load";
import { TARGET_CLOUD } from "../config/schema";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import { AzureSharedStack } from "./azure-shared-stack";
import { AzureVmssBotStack } from "./azure-vmss-bot-stack";

/** All stacks of a fleet: one shared stack per Azure region in use, one stack per bot. */
export function buildFleet(app: App, fleet: Fleet): void {
  const azureRegions = [...new Set(fleet.bots.filter((b) => TARGET_CLOUD[b.target] === "azure").map((b) => b.region))];
  for (const region of azureRegions.sort()) new AzureSharedStack(app, fleet, region);
  for (const bot of fleet.bots) new AzureVmssBotStack(app, fleet, bot, RUNTIME_DESCRIPTIONS[bot.runtime]);
}
