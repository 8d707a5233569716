/**
 * Whether changing an attribute replaces its resource, from the checked-in table
 * review/force-new.json. scripts/force-new-table.ts writes the table from the providers' Go
 * source at the pinned tags (ForceNew, RequiresReplace, a CustomizeDiff that forces new), each
 * entry with the file and line that decides it; CI has no provider source, so the review reads
 * only the table, and __tests__/force-new-table.test.ts fails when botfleet emits an attribute
 * the table does not classify.
 */
import TABLE from "./force-new.json";

export type Change = "update" | "replace" | "replace-if";

export interface TableEntry {
  readonly change: Change;
  /** What decides it: "ForceNew", "ForceNew on block <path>", "RequiresReplace", a CustomizeDiff call, or "no ForceNew". */
  readonly why: string;
  /** <file>:<line> in the provider's repository at its tag. */
  readonly source: string;
  /** The attribute is a map; the segments after it in a path are its keys. */
  readonly map?: true;
  /** The attribute is a set, or lies in a block that is one (its elements are hashed). */
  readonly set?: true;
  /** The attribute is a JSON string (validated or compared as JSON). */
  readonly json?: true;
}

export interface ForceNewTable {
  readonly generatedBy: string;
  readonly providers: Record<string, string>;
  readonly resources: Record<string, { readonly provider: string; readonly attributes: Record<string, TableEntry> }>;
}

export const FORCE_NEW_TABLE = TABLE as ForceNewTable;

/** Terraform's meta-arguments: changing one changes no infrastructure by itself. */
export const META_ARGUMENTS: ReadonlySet<string> = new Set(["depends_on", "lifecycle", "provider", "count", "for_each", "connection", "provisioner"]);

/**
 * The attribute path as the table spells it: `template.container[0].env[2].name` and the
 * review's notes (`os_profile.custom_data (cloud-init files: ...)`) become
 * `template.container.env.name` and `os_profile.custom_data`.
 */
export function tablePath(path: string): string {
  return path
    .replace(/ \(.*\)$/, "")
    .replace(/\[\d+\]/g, "")
    .replace(/^\.|\.$/g, "");
}

/**
 * The table's entries for a changed attribute path of a resource type: the entry of the path, of
 * the map it is a key of, or, when the path names a whole block (added or removed), the entries
 * under it. Empty when the table does not know the path (the coverage test keeps that from
 * happening for what botfleet emits).
 */
export function entriesFor(type: string, path: string, table: ForceNewTable = FORCE_NEW_TABLE): { path: string; entry: TableEntry }[] {
  const attributes = table.resources[type]?.attributes;
  if (!attributes) return [];
  const p = tablePath(path);
  const segments = p.split(".");
  for (let i = segments.length; i > 0; i--) {
    const key = segments.slice(0, i).join(".");
    const entry = attributes[key];
    if (entry && (i === segments.length || entry.map)) return [{ path: key, entry }];
  }
  return Object.entries(attributes)
    .filter(([key]) => key.startsWith(`${p}.`))
    .map(([key, entry]) => ({ path: key, entry }));
}

/** Whether a changed path is a meta-argument (lifecycle, depends_on, ...), which no table lists. */
export function isMetaPath(path: string): boolean {
  return META_ARGUMENTS.has(tablePath(path).split(".")[0]);
}
