import type { App } from "cdktf";
import type { Bot, Fleet } from "../config/load";
import { TARGET_CLOUD, type Target } from "../config/schema";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import type { AgentRuntime } from "../runtimes/runtime";
import { AzureContainerAppsBotStack } from "./azure-container-apps-bot-stack";
import { AzureSharedStack } from "./azure-shared-stack";
import { AzureVmssBotStack } from "./azure-vmss-bot-stack";
import { GcpCloudRunBotStack } from "./gcp-cloud-run-bot-stack";
import { GcpSharedStack } from "./gcp-shared-stack";
import { HcpTerraformStack } from "./hcp-terraform-stack";

type BotStackClass = new (app: App, fleet: Fleet, bot: Bot, runtime: AgentRuntime) => unknown;

/** The stack class that deploys a bot on each target. */
export const BOT_STACKS: Record<Target, BotStackClass> = {
  "azure-vmss": AzureVmssBotStack,
  "azure-container-apps": AzureContainerAppsBotStack,
  "gcp-cloud-run": GcpCloudRunBotStack,
};

/**
 * All stacks of a fleet: one shared stack per cloud region in use, then one stack per bot, and on
 * HCP Terraform the stack that creates their workspaces.
 */
export function buildFleet(app: App, fleet: Fleet): void {
  const regionsOf = (cloud: "azure" | "gcp") =>
    [...new Set(fleet.bots.filter((b) => TARGET_CLOUD[b.target] === cloud).map((b) => b.region))].sort();
  for (const region of regionsOf("azure")) new AzureSharedStack(app, fleet, region);
  for (const region of regionsOf("gcp")) new GcpSharedStack(app, fleet, region);
  for (const bot of fleet.bots) new BOT_STACKS[bot.target](app, fleet, bot, RUNTIME_DESCRIPTIONS[bot.runtime]);
  if (fleet.terraformCloud) new HcpTerraformStack(app, fleet);
}
