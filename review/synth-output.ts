import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Bot } from "../config/load";
import { STACK_FACTS_FILE, type StackFacts } from "../contracts/stack-facts";
import type { StackJson } from "../tfjson/terraform-json";

/** One stack of a synthesized output directory (cdktf.out). */
export interface SynthStack {
  readonly name: string;
  readonly json: StackJson;
  /** botfleet's facts file beside the stack; absent in output of older botfleet versions. */
  readonly facts?: StackFacts<Bot>;
}

export class SynthOutputError extends Error {}

/** Reads every stack of a `cdktf synth` output directory: shared stacks first, then bots, by name. */
export function readSynthOutput(dir: string): SynthStack[] {
  const manifestFile = join(dir, "manifest.json");
  if (!existsSync(manifestFile)) throw new SynthOutputError(`${dir} holds no synthesized output (no manifest.json); run \`npx cdktf synth\` first, or pass the directory it wrote`);
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as {
    stacks: Record<string, { workingDirectory: string; synthesizedStackPath: string }>;
  };
  const stacks = Object.entries(manifest.stacks).map(([name, s]): SynthStack => {
    if (!s.synthesizedStackPath.endsWith(".json")) throw new SynthOutputError(`stack ${name} in ${dir} was synthesized as HCL; the review reads JSON: run \`npx cdktf synth\` without --hcl`);
    const factsFile = join(dir, s.workingDirectory, STACK_FACTS_FILE);
    return {
      name,
      json: JSON.parse(readFileSync(join(dir, s.synthesizedStackPath), "utf8")),
      facts: existsSync(factsFile) ? JSON.parse(readFileSync(factsFile, "utf8")) : undefined,
    };
  });
  return stacks.sort((a, b) => Number(!!a.facts?.bot) - Number(!!b.facts?.bot) || a.name.localeCompare(b.name));
}
