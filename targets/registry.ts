import type { Cloud } from "../contracts";
import { TARGET_LIST } from ".";
import type { TargetDescriptor } from "./types";

export type AnyTarget = (typeof TARGET_LIST)[number];
export type TargetId = AnyTarget["id"];
/** The settings a resolved bot of target `T` carries, typed by its descriptor. */
export type TargetSettings<T extends TargetId> = ReturnType<Extract<AnyTarget, { id: T }>["resolve"]>;

/** Every target, read through the interface every descriptor has. */
export const TARGETS: readonly TargetDescriptor[] = TARGET_LIST;
export const TARGET_IDS = TARGETS.map((t) => t.id) as [TargetId, ...TargetId[]];
/** The target of a bot that names none. */
export const DEFAULT_TARGET = TARGET_IDS[0];

const byId = new Map(TARGETS.map((t) => [t.id, t]));

/** The descriptor of a target id the schema accepted. */
export function targetOf(id: string): TargetDescriptor {
  const target = byId.get(id);
  if (!target) throw new Error(`unknown target "${id}"; the targets are ${TARGET_IDS.join(", ")} (targets/index.ts)`);
  return target;
}

export function cloudOf(target: string): Cloud {
  return targetOf(target).cloud;
}

/** The clouds of the registry, in the order their first target is listed. */
export const CLOUDS_IN_ORDER: readonly Cloud[] = [...new Set(TARGETS.map((t) => t.cloud))];

/** Each bot setting some targets take, with those targets in registry order. */
export const TARGET_ONLY_SETTINGS: ReadonlyMap<string, readonly string[]> = (() => {
  const map = new Map<string, string[]>();
  for (const t of TARGETS) for (const key of [...Object.keys(t.settings.botOnly ?? {}), ...Object.keys(t.settings.inheritable ?? {})]) map.set(key, [...(map.get(key) ?? []), t.id]);
  return map;
})();

/** Merges the targets' setting schemas of one kind; a setting several targets take must be one schema object. */
export function targetSettingsShape(kind: "botOnly" | "inheritable"): Record<string, unknown> {
  const shape: Record<string, unknown> = {};
  for (const t of TARGETS)
    for (const [key, schema] of Object.entries(t.settings[kind] ?? {})) {
      if (key in shape && shape[key] !== schema)
        throw new Error(`targets/${t.id}: setting "${key}" is also another target's with a different schema; share one schema object (as targets/public-access.ts does)`);
      shape[key] = schema;
    }
  return shape;
}
