import { join } from "node:path";
import { App, Testing, type TerraformStack } from "cdktf";
import { loadFleet, parseFleet, type Fleet } from "../../config/load";
import { buildFleet } from "../../constructs/fleet";

export const ROOT = join(__dirname, "..", "..");

export function exampleFleet(env: NodeJS.ProcessEnv = {}): Fleet {
  return loadFleet(join(ROOT, "fleet.yaml"), env);
}

export function fleetFrom(yaml: string, env: NodeJS.ProcessEnv = {}): Fleet {
  return parseFleet(yaml, "test-fleet.yaml", env);
}

/** Builds the fleet in a fresh test App and returns each stack's synthesized JSON by name. */
export function synthFleet(fleet: Fleet): { app: App; stacks: Record<string, StackJson> } {
  const app = Testing.app();
  buildFleet(app, fleet);
  const stacks: Record<string, StackJson> = {};
  for (const child of app.node.children) {
    const stack = child as TerraformStack;
    stacks[stack.node.id] = JSON.parse(Testing.synth(stack));
  }
  return { app, stacks };
}

export type StackJson = Record<string, any>;

/** The resources of one type in a synthesized stack, without cdktf's metadata. */
export function resources(stack: StackJson, type: string): StackJson[] {
  return Object.values(stack.resource?.[type] ?? {}).map((r) => {
    const { "//": _meta, ...rest } = r as StackJson;
    return rest;
  });
}
