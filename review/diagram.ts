import { TARGETS } from "../targets/registry";
import { StackView } from "../tfjson/terraform-json";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import type { StackReview } from "./stack-review";

const CHANNEL_NAMES = { telegram: "Telegram", discord: "Discord" } as const;

/** A Mermaid flowchart of one bot: who reaches it, what runs it, and what it talks to. */
export function botDiagram(review: StackReview): string | undefined {
  const { bot, json } = review;
  if (!bot) return undefined;
  const runtime = RUNTIME_DESCRIPTIONS[bot.runtime];
  const view = new StackView(json, runtime);
  const lines = ["flowchart LR"];
  const vault = `${review.secrets.length} secrets`;

  const endpoints = review.endpoints;
  const host = TARGETS.map((t) => t.review.diagram?.({ view, json, runtime, vault, endpoints, label })).find((lines) => lines !== undefined);
  if (!host) return undefined;
  lines.push(...host);

  for (const channel of Object.keys(CHANNEL_NAMES) as (keyof typeof CHANNEL_NAMES)[])
    if (bot.channels[channel]) lines.push(`  agent -- ${label("outbound")} --> ${channel}([${label(CHANNEL_NAMES[channel])}])`);
  lines.push(`  agent -- ${label("API")} --> llm([${label(`${bot.modelProvider} API`)}])`);
  return lines.join("\n");
}

/** A quoted Mermaid label; `"` cannot appear inside one, so it becomes an entity. */
function label(text: string): string {
  return `"${text.replace(/"/g, "#quot;")}"`;
}
