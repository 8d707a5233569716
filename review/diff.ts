import { isDeepStrictEqual } from "node:util";
import { decodeCloudInit, type Json, type StackJson } from "../tfjson/terraform-json";
import { estimateCost, round } from "./cost";
import type { SynthStack } from "./synth-output";

export interface ChangedBlock {
  readonly address: string;
  /** Changed attribute paths, `template.container[0].cpu`; changed VM files for custom data. */
  readonly paths: readonly string[];
}

export interface StackDiff {
  readonly name: string;
  readonly status: "added" | "removed" | "changed" | "unchanged";
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly ChangedBlock[];
  readonly costBefore: number;
  readonly costAfter: number;
}

/** What changes from the base branch's synthesized output to this one, stack by stack. */
export function diffOutputs(base: readonly SynthStack[], head: readonly SynthStack[]): StackDiff[] {
  const before = new Map(base.map((s) => [s.name, s.json]));
  const after = new Map(head.map((s) => [s.name, s.json]));
  const names = [...new Set([...after.keys(), ...before.keys()])];
  return names.map((name) => diffStack(name, before.get(name), after.get(name)));
}

function diffStack(name: string, before: StackJson | undefined, after: StackJson | undefined): StackDiff {
  const a = blocks(before);
  const b = blocks(after);
  // A whole stack added or removed is told by its resources; its providers and lookups go with it.
  const shown = (k: string) => (before && after) || isResource(k);
  const added = [...b.keys()].filter((k) => !a.has(k) && shown(k));
  const removed = [...a.keys()].filter((k) => !b.has(k) && shown(k));
  const changed = [...b.keys()].filter((k) => a.has(k) && !isDeepStrictEqual(a.get(k), b.get(k))).map((address) => ({ address, paths: changedPaths(a.get(address), b.get(address)) }));
  const status = !before ? "added" : !after ? "removed" : added.length + removed.length + changed.length > 0 ? "changed" : "unchanged";
  return {
    name,
    status,
    added,
    removed,
    changed,
    costBefore: before ? estimateCost(before).monthly : 0,
    costAfter: after ? estimateCost(after).monthly : 0,
  };
}

/** Every block of a stack by its Terraform address, without cdktf's `//` metadata. */
function blocks(stack: StackJson | undefined): Map<string, Json> {
  const out = new Map<string, Json>();
  if (!stack) return out;
  const add = (address: string, body: Json) => out.set(address, withoutMetadata(body));
  for (const [type, rs] of Object.entries(stack.resource ?? {})) for (const [n, body] of Object.entries(rs)) add(`${type}.${n}`, body);
  for (const [type, ds] of Object.entries(stack.data ?? {})) for (const [n, body] of Object.entries(ds)) add(`data.${type}.${n}`, body);
  for (const [n, body] of Object.entries(stack.variable ?? {})) add(`var.${n}`, body);
  for (const [n, body] of Object.entries<Json>(stack.output ?? {})) add(`output.${n}`, body);
  for (const [n, body] of Object.entries<Json>(stack.provider ?? {})) add(`provider.${n}`, body);
  if (stack.terraform) add("terraform", stack.terraform);
  return out;
}

function isResource(address: string): boolean {
  return !/^(data|var|output|provider)\.|^terraform$/.test(address);
}

function withoutMetadata(body: Json): Json {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return body;
  const { "//": _, ...rest } = body;
  return rest;
}

function changedPaths(a: Json, b: Json, path = ""): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  if (path.endsWith("custom_data") && typeof a === "string" && typeof b === "string") {
    const [x, y] = [decodeCloudInit(a), decodeCloudInit(b)];
    if (x && y) {
      const files = [...new Set([...Object.keys(x.files), ...Object.keys(y.files)])].filter((f) => x.files[f] !== y.files[f]);
      // Gzip bytes depend on the zlib Node was built with (official builds bundle Chromium's,
      // a distribution's Node may link the system's): a plan shows the change all the same.
      if (files.length === 0 && isDeepStrictEqual(x.config, y.config)) return [`${path} (the same cloud-init in other bytes)`];
      return [`${path} (cloud-init files: ${files.join(", ") || "settings"})`];
    }
  }
  const bothObjects = a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b);
  if (!bothObjects) return [path || "(value)"];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((k) => changedPaths(a[k], b[k], Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k));
}

/** Total monthly cost before and after, over all stacks. */
export function costTotals(diffs: readonly StackDiff[]): { before: number; after: number } {
  return {
    before: round(diffs.reduce((s, d) => s + d.costBefore, 0)),
    after: round(diffs.reduce((s, d) => s + d.costAfter, 0)),
  };
}
