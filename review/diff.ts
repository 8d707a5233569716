import { releaseChangeSummary } from "../bootstrap/vm-release";
import { isDeepStrictEqual } from "node:util";
import { CONTAINER_GATE } from "../contracts";
import { decodeCloudInit, type Json, type StackJson } from "../tfjson/terraform-json";
import { estimateCost, round } from "./cost";
import { lossOf, type Loss } from "./losses";
import { entriesFor, FORCE_NEW_TABLE, isMetaPath, tablePath } from "./replacement";
import type { SynthStack } from "./synth-output";

/**
 * What a plan does to a resource whose configuration changed, by the replacement table
 * (review/force-new.json): `replace` when a changed attribute forces new, `may-replace` when one
 * forces new only under a condition the provider checks at plan time (a CustomizeDiff), `update`
 * otherwise, `none` when only meta-arguments (lifecycle, depends_on) changed, `unknown` when the
 * table does not know a changed attribute.
 */
export type ResourceAction = "update" | "replace" | "may-replace" | "none" | "unknown";

export interface ChangedBlock {
  readonly address: string;
  /** Changed attribute paths, `template.container[0].cpu`; changed VM files for custom data. */
  readonly paths: readonly string[];
  /** Resources only (not data sources, variables, outputs, providers). */
  readonly action?: ResourceAction;
  /** The attributes that force (or may force) the replacement, each with the provider line that says so. */
  readonly because?: readonly string[];
  /** What the change does to the running bot, where botfleet knows (a managed platform's new revision). */
  readonly effect?: string;
}

export interface StackDiff {
  readonly name: string;
  readonly status: "added" | "removed" | "changed" | "unchanged";
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly ChangedBlock[];
  /** What the resources replaced or destroyed take with them. */
  readonly losses: readonly Loss[];
  readonly costBefore: number;
  readonly costAfter: number;
  /**
   * The bot is retired by this change (`retired: true`), or brought back: nothing runs it or it
   * runs again, its state where `stateStore` says (its `state-store` output).
   */
  readonly retirement?: { readonly change: "retired" | "returned"; readonly stateStore: string };
  /** A bot stack that left the fleet: whether the base retired it first (the deploy destroys only those). */
  readonly removedRetired?: boolean;
}

/** A bot stack's output value by name (constructs/bot-outputs.ts), if it has that output. */
const outputOf = (json: StackJson | undefined, name: string) => (json?.output as Record<string, { value?: unknown }> | undefined)?.[name]?.value;
/** Whether a bot stack is a retired one (its `retired` output). */
const isRetired = (json: StackJson | undefined) => outputOf(json, "retired") === "true";

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
  const edited = [...b.keys()]
    .filter((k) => a.has(k) && !isDeepStrictEqual(a.get(k), b.get(k)))
    .map((address) => withModelOnlyEffect(withRevisionEffect(classify(address, changedPaths(a.get(address), b.get(address))), a.get(address), b.get(address))));
  const changed = followReplacements(edited, b, new Set(added));
  const status = !before ? "added" : !after ? "removed" : added.length + removed.length + changed.length > 0 ? "changed" : "unchanged";
  const lost = [...removed.filter(isResource), ...changed.filter((c) => c.action === "replace").map((c) => c.address)];
  // What the table cannot rule out counts too, marked as possible: a data loss is never hidden.
  const maybe = changed.filter((c) => c.action === "may-replace" || c.action === "unknown").map((c) => c.address);
  return {
    name,
    status,
    added,
    removed,
    changed,
    losses: [
      ...lost.flatMap((address) => lossOf(address, a.get(address) ?? null, (ref) => a.get(ref)) ?? []),
      ...maybe.flatMap((address) => {
        const loss = lossOf(address, a.get(address) ?? null, (ref) => a.get(ref));
        return loss ? [{ ...loss, maybe: true as const }] : [];
      }),
    ],
    costBefore: before ? estimateCost(before).monthly : 0,
    costAfter: after ? estimateCost(after).monthly : 0,
    ...(before && !after && outputOf(before, "state-store") !== undefined ? { removedRetired: isRetired(before) } : {}),
    ...(before && after && isRetired(before) !== isRetired(after)
      ? { retirement: { change: isRetired(after) ? ("retired" as const) : ("returned" as const), stateStore: String(outputOf(after, "state-store")) } }
      : {}),
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

/** A changed block with its action, when it is a resource. */
function classify(address: string, paths: string[]): ChangedBlock {
  if (!isResource(address)) return { address, paths };
  const type = address.split(".")[0];
  const attributes = paths.filter((p) => !isMetaPath(p));
  if (attributes.length === 0) return { address, paths, action: "none" };
  const found = attributes.map((p) => ({ p, entries: entriesFor(type, p) }));
  const unknown = found.filter((f) => f.entries.length === 0).map((f) => `${tablePath(f.p)} (not in review/force-new.json: npm run table:force-new)`);
  const cite = (change: string) =>
    found.flatMap((f) =>
      f.entries
        .filter((e) => e.entry.change === change)
        .map((e) => `${e.path} (${e.entry.why}, ${FORCE_NEW_TABLE.resources[type].provider} ${FORCE_NEW_TABLE.providers[FORCE_NEW_TABLE.resources[type].provider]} ${e.entry.source})`),
    );
  const replace = [...new Set(cite("replace"))];
  if (replace.length > 0) return { address, paths, action: "replace", because: replace };
  if (unknown.length > 0) return { address, paths, action: "unknown", because: unknown };
  const maybe = [...new Set(cite("replace-if"))];
  return maybe.length > 0 ? { address, paths, action: "may-replace", because: maybe } : { address, paths, action: "update" };
}

/** Resource types whose `template` is a revision: any change of it starts a new one. */
const REVISION_TYPES = new Set(["azurerm_container_app", "google_cloud_run_v2_service"]);

/**
 * On Container Apps and Cloud Run a changed template is a new revision (docs/day-2.md): the agent
 * restarts on it once the old revision stops, and the runtime's config check decides first.
 */
function withRevisionEffect(block: ChangedBlock, before: Json, after: Json): ChangedBlock {
  if (!REVISION_TYPES.has(block.address.split(".")[0]) || block.action !== "update" || !block.paths.some((p) => p.startsWith("template"))) return block;
  const release = (body: Json) => /"name":"BOTFLEET_RELEASE","value":"([0-9a-f]{12})"/.exec(JSON.stringify(body))?.[1];
  const [from, to] = [release(before), release(after)];
  const version = from && to && from !== to ? `release ${from} -> ${to}: ` : "";
  return {
    ...block,
    effect: `${version}a new revision; the runtime's check runs first (a refused config keeps the running revision), then the agent restarts on the new one once the old one stops (37 to 69 s without a poller, measured), behind the launcher's health gate (an agent not healthy within ${CONTAINER_GATE.seconds} s runs the last good release's config)`,
  };
}

/**
 * A VM scale set's update changes its model only: azurerm v4.55.0 sends it with UpdateInstances
 * false (orchestrated_virtual_machine_scale_set_resource.go:1277-1281), and under the Manual
 * upgrade mode the running instance keeps what it has (a new extension, a new size) until it is
 * reimaged or repaired. Custom data is the exception botfleet makes: the desired release carries
 * it to the running instance (docs/day-2.md). Tags are metadata.
 */
function withModelOnlyEffect(block: ChangedBlock): ChangedBlock {
  if (block.address.split(".")[0] !== "azurerm_orchestrated_virtual_machine_scale_set" || block.action !== "update") return block;
  const reachesLater = [...new Set(block.paths.filter((p) => !p.startsWith("os_profile") && !p.startsWith("tags")).map((p) => p.split(/[.[]/)[0]))];
  if (reachesLater.length === 0) return block;
  return { ...block, effect: `the scale set's model only: the running instance gets ${reachesLater.join(", ")} when it is next reimaged or repaired, not at this deploy` };
}

/**
 * A resource that refers to a replaced one changes too, though its configuration text does not:
 * `storage_account_id = "${azurerm_storage_account.state-storage.id}"` takes the new account's ID,
 * and where that attribute forces new, the resource is replaced as well. Followed until nothing
 * more changes; added resources are left out (they are created anyway).
 */
function followReplacements(edited: ChangedBlock[], after: Map<string, Json>, added: Set<string>): ChangedBlock[] {
  const original = new Map(edited.map((c) => [c.address, c]));
  const byAddress = new Map(original);
  for (let grew = true; grew;) {
    grew = false;
    // A data source whose arguments changed reads another object: what refers to it changes too.
    const replaced = [...byAddress.values()].filter((c) => c.action === "replace" || c.address.startsWith("data.")).map((c) => c.address);
    for (const [address, body] of after) {
      if (!isResource(address) || added.has(address)) continue;
      const follows = referencesIn(body).flatMap((r) => {
        const target = replaced.find((x) => x !== address && (r.value.includes(`\${${x}.`) || r.value.includes(`\${${x}}`)));
        return target ? [`${r.path} (follows ${target}, ${target.startsWith("data.") ? "changed" : "replaced"})`] : [];
      });
      if (follows.length === 0) continue;
      const next = classify(address, [...(original.get(address)?.paths ?? []), ...follows]);
      const now = byAddress.get(address);
      if (!now || now.action !== next.action || now.paths.length !== next.paths.length) {
        byAddress.set(address, next);
        grew = true;
      }
    }
  }
  return [...byAddress.values()];
}

/** Every string leaf of a resource body with a `${...}` reference in it, by attribute path. */
function referencesIn(body: Json, path = ""): { path: string; value: string }[] {
  if (typeof body === "string") return body.includes("${") ? [{ path, value: body }] : [];
  if (body === null || typeof body !== "object") return [];
  if (path === "" && !Array.isArray(body)) body = Object.fromEntries(Object.entries(body).filter(([k]) => k !== "depends_on" && k !== "lifecycle"));
  return Object.entries(body).flatMap(([k, v]) => referencesIn(v, Array.isArray(body) ? `${path}[${k}]` : path ? `${path}.${k}` : k));
}

/** Whether a Terraform address is a resource's (not a data source, variable, output or provider). */
export function isResource(address: string): boolean {
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
      return [`${path} (cloud-init files: ${files.join(", ") || "settings"}; for a new or reimaged instance: the running one gets the desired release)`];
    }
  }
  if (path === "source_content" && typeof a === "string" && typeof b === "string") {
    const release = releaseChangeSummary(a, b);
    if (release) return [`${path} (${release})`];
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
