import { join } from "node:path";
import { App, Testing, type TerraformStack } from "cdktf";
import { invokeAspects } from "cdktf/lib/synthesize/synthesizer";
import { loadFleet, parseFleet, type Fleet } from "../../config/load";
import { buildFleet } from "../../constructs/fleet";

export const ROOT = join(__dirname, "..", "..");

export function exampleFleet(env: NodeJS.ProcessEnv = {}): Fleet {
  return loadFleet(join(ROOT, "fleet.yaml"), env);
}

export function fleetFrom(yaml: string, env: NodeJS.ProcessEnv = {}): Fleet {
  return parseFleet(yaml, "test-fleet.yaml", env);
}

/**
 * Builds the fleet in a fresh test App and returns each stack's synthesized JSON by name: what
 * `JSON.parse(Testing.synth(stack))` gives (the aspects run, cdktf's "//" metadata removed, keys
 * sorted), with the stack's JSON built once, as `app.synth()` does for a FleetStack, where
 * `Testing.synth` builds it once for the policy aspect and again for the output, then serializes
 * and parses it (about 40% of the synth time of most suites).
 */
export function synthFleet(fleet: Fleet): { app: App; stacks: Record<string, StackJson> } {
  const app = Testing.app();
  buildFleet(app, fleet);
  const stacks: Record<string, StackJson> = {};
  for (const child of app.node.children) {
    const stack = child as TerraformStack;
    const toTerraform = stack.toTerraform;
    let json: StackJson | undefined;
    stack.toTerraform = () => (json ??= toTerraform.call(stack));
    try {
      invokeAspects(stack);
      stacks[stack.node.id] = withoutMetadata(stack.toTerraform());
    } finally {
      delete (stack as { toTerraform?: unknown }).toTerraform;
    }
  }
  return { app, stacks };
}

/** A copy as JSON would carry it, without "//" keys, keys in sorted order (as Testing.synth). */
export function withoutMetadata(value: unknown): any {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : withoutMetadata(v)));
  const copy: StackJson = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as StackJson)[key];
    if (key !== "//" && v !== undefined) copy[key] = withoutMetadata(v);
  }
  return copy;
}

export type StackJson = Record<string, any>;

/** The resources of one type in a synthesized stack, without cdktf's metadata. */
export function resources(stack: StackJson, type: string): StackJson[] {
  return Object.values(stack.resource?.[type] ?? {}).map((r) => {
    const { "//": _meta, ...rest } = r as StackJson;
    return rest;
  });
}

/** The alerts of the example fleet's Cloud Run bot (bot-gamma), by title: what its policies and the review name. */
export const CLOUD_RUN_ALERT_TITLES = [
  "agent memory restarts",
  "bot not ready",
  "channel disconnects",
  "config refused",
  "container exits",
  "gateway auth failures",
  "release rolled back",
  "restore drill failed",
  "state lease lost",
  "state snapshots failing",
];
