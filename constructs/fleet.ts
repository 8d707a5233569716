import type { App } from "cdktf";
import type { Bot, Fleet } from "../config/load";
import { TARGET_CLOUD, type Target } from "../config/schema";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import type { AgentRuntime } from "../runtimes/runtime";

type BotStackClass = new (app: App, fleet: Fleet, bot: Bot, runtime: AgentRuntime) => unknown;

// Each stack class pulls in its provider's resource classes, the largest modules botfleet loads
// (about 1 MB of JavaScript apiece): a fleet loads only those of the targets it uses.
const load = {
  azureShared: () => (require("./azure-shared-stack") as typeof import("./azure-shared-stack")).AzureSharedStack,
  gcpShared: () => (require("./gcp-shared-stack") as typeof import("./gcp-shared-stack")).GcpSharedStack,
  hcpTerraform: () => (require("./hcp-terraform-stack") as typeof import("./hcp-terraform-stack")).HcpTerraformStack,
};

/** The stack class that deploys a bot on each target, loaded on first use. */
export const BOT_STACKS: Record<Target, () => BotStackClass> = {
  "azure-vmss": () => (require("./azure-vmss-bot-stack") as typeof import("./azure-vmss-bot-stack")).AzureVmssBotStack,
  "azure-container-apps": () => (require("./azure-container-apps-bot-stack") as typeof import("./azure-container-apps-bot-stack")).AzureContainerAppsBotStack,
  "gcp-cloud-run": () => (require("./gcp-cloud-run-bot-stack") as typeof import("./gcp-cloud-run-bot-stack")).GcpCloudRunBotStack,
};

/**
 * All stacks of a fleet: one shared stack per cloud region in use, then one stack per bot, and on
 * HCP Terraform the stack that creates their workspaces.
 */
export function buildFleet(app: App, fleet: Fleet): void {
  const regionsOf = (cloud: "azure" | "gcp") =>
    [...new Set(fleet.bots.filter((b) => TARGET_CLOUD[b.target] === cloud).map((b) => b.region))].sort();
  for (const region of regionsOf("azure")) new (load.azureShared())(app, fleet, region);
  for (const region of regionsOf("gcp")) new (load.gcpShared())(app, fleet, region);
  for (const bot of fleet.bots) new (BOT_STACKS[bot.target]())(app, fleet, bot, RUNTIME_DESCRIPTIONS[bot.runtime]);
  if (fleet.terraformCloud) new (load.hcpTerraform())(app, fleet);
}
