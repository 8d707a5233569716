import type { App } from "cdktf";
import type { Bot, Fleet } from "../config/load";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import type { AgentRuntime } from "../runtimes/runtime";
import { targetOf, TARGETS } from "../targets/registry";

/** The constructor every target's bot stack has (targets/<target>/bot-stack.ts). */
type BotStackClass = new (app: App, fleet: Fleet, bot: Bot, runtime: AgentRuntime) => unknown;
/** The constructor every cloud's shared stack has. */
type SharedStackClass = new (app: App, fleet: Fleet, region: string) => unknown;

// Each stack class pulls in its provider's resource classes, the largest modules botfleet loads
// (about 1 MB of JavaScript apiece): a fleet loads only those of the targets it uses.
const loadHcpTerraform = () => (require("./hcp-terraform-stack") as typeof import("./hcp-terraform-stack")).HcpTerraformStack;

/**
 * All stacks of a fleet: one shared stack per cloud region in use, then one stack per bot, and on
 * HCP Terraform the stack that creates their workspaces.
 */
export function buildFleet(app: App, fleet: Fleet): void {
  // Targets of one cloud share its shared stack class: one stack per class and region, in registry order.
  const shared = new Map<SharedStackClass, Set<string>>();
  for (const target of TARGETS) {
    const bots = fleet.bots.filter((b) => b.target === target.id);
    if (bots.length === 0) continue;
    const SharedStack = target.sharedStack() as SharedStackClass;
    shared.set(SharedStack, new Set([...(shared.get(SharedStack) ?? []), ...bots.map((b) => b.region)]));
  }
  for (const [SharedStack, regions] of shared) for (const region of [...regions].sort()) new SharedStack(app, fleet, region);
  for (const bot of fleet.bots) new (targetOf(bot.target).botStack() as BotStackClass)(app, fleet, bot, RUNTIME_DESCRIPTIONS[bot.runtime]);
  if (fleet.terraformCloud) new (loadHcpTerraform())(app, fleet);
}
