/**
 * Writes review/force-new.json: for every attribute botfleet sets on every resource type it emits
 * (in the fleets of scripts/table-fleets.ts), whether changing it replaces the resource, read from
 * the providers' Go source at the pinned tags, each with the file and line that decides it:
 * ForceNew in the schema (on the attribute or a block above it), a plugin-framework
 * RequiresReplace plan modifier, or a CustomizeDiff that forces new (ForceNewIfChange, ForceNewIf,
 * diff.ForceNew), which replaces only when its condition holds ("replace-if"). It also marks what
 * is a map (tags), a set or inside one, and a JSON string (for the perpetual-diff audit).
 *
 *   npm run table:force-new -- [--sources <dir>]
 *
 * <dir> (default /work/.mirror) holds a git clone of each provider, bare or not, as
 * hashicorp+terraform-provider-<name>/repo or terraform-provider-<name>[.git]. Run by hand after a
 * provider upgrade: CI has no provider source, and __tests__/force-new-table.test.ts checks only
 * that the checked-in table covers what botfleet emits. An attribute the script cannot resolve
 * stops it, naming the attribute: the table never guesses.
 */
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { ForceNewTable, TableEntry } from "../review/replacement";
import { emittedAttributes } from "./table-fleets";

/** The providers at the versions package.json's @cdktf/provider-* packages were built from. */
export const PROVIDERS = {
  azurerm: { tag: "v4.55.0", module: "github.com/hashicorp/terraform-provider-azurerm" },
  google: { tag: "v6.50.0", module: "github.com/hashicorp/terraform-provider-google" },
  random: { tag: "v3.7.2", module: "github.com/hashicorp/terraform-provider-random" },
  time: { tag: "v0.13.1", module: "github.com/hashicorp/terraform-provider-time" },
  tfe: { tag: "v0.71.0", module: "github.com/hashicorp/terraform-provider-tfe" },
} as const;
export type ProviderName = keyof typeof PROVIDERS;

export const TABLE_FILE = join(__dirname, "..", "review", "force-new.json");

// ---------------------------------------------------------------------------------------------
// Go source: a provider repository at a tag.

interface Loc {
  readonly file: string;
  readonly line: number;
}
const cite = (l: Loc) => `${l.file}:${l.line}`;

class Repo {
  private readonly files = new Map<string, string | undefined>();
  private readonly dirs = new Map<string, string[]>();
  constructor(
    readonly name: ProviderName,
    private readonly gitDir: string,
  ) {}
  get tag(): string {
    return PROVIDERS[this.name].tag;
  }
  private git(...args: string[]): string {
    // stderr piped: a missing path is an answer here (a package not vendored), not news.
    return execFileSync("git", ["--git-dir", this.gitDir, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] });
  }
  read(path: string): string | undefined {
    if (!this.files.has(path)) {
      let text: string | undefined;
      try {
        text = this.git("show", `${this.tag}:${path}`);
      } catch {
        text = undefined;
      }
      this.files.set(path, text);
    }
    return this.files.get(path);
  }
  /** The package's Go files, tests left out. */
  goFiles(dir: string): string[] {
    if (!this.dirs.has(dir)) {
      let names: string[];
      try {
        names = this.git("ls-tree", "--name-only", `${this.tag}:${dir}`).split("\n");
      } catch {
        names = [];
      }
      this.dirs.set(
        dir,
        names.filter((n) => n.endsWith(".go") && !n.endsWith("_test.go")).map((n) => `${dir}/${n}`),
      );
    }
    return this.dirs.get(dir)!;
  }
  grep(pattern: string, ...paths: string[]): { file: string; line: number; text: string }[] {
    let out: string;
    try {
      out = this.git("grep", "-n", "-E", pattern, this.tag, "--", ...paths);
    } catch {
      return [];
    }
    return out
      .split("\n")
      .filter(Boolean)
      .map((l) => {
        const m = /^[^:]+:([^:]+):(\d+):(.*)$/.exec(l)!;
        return { file: m[1], line: Number(m[2]), text: m[3] };
      })
      .filter((h) => !h.file.endsWith("_test.go"));
  }
  /** Repository directory of a Go import path: this module's own, or vendored. */
  packageDir(importPath: string): string | undefined {
    const module = PROVIDERS[this.name].module;
    if (importPath === module) return "";
    if (importPath.startsWith(`${module}/`)) return importPath.slice(module.length + 1);
    const vendored = `vendor/${importPath}`;
    return this.goFiles(vendored).length > 0 ? vendored : undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading Go text: strings and comments skipped, brackets matched.

function skipLiteral(text: string, i: number): number {
  const c = text[i];
  if (c === '"' || c === "'") {
    for (let j = i + 1; j < text.length; j++) {
      if (text[j] === "\\") j++;
      else if (text[j] === c) return j + 1;
    }
  } else if (c === "`") return text.indexOf("`", i + 1) + 1;
  else if (c === "/" && text[i + 1] === "/") {
    const end = text.indexOf("\n", i);
    return end < 0 ? text.length : end;
  } else if (c === "/" && text[i + 1] === "*") return text.indexOf("*/", i + 2) + 2;
  return -1;
}

const OPEN: Record<string, string> = { "{": "}", "(": ")", "[": "]" };

/** Index of the bracket closing the one at `open`. */
function closing(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const skip = skipLiteral(text, i);
    if (skip > 0) {
      i = skip - 1;
      continue;
    }
    if (OPEN[text[i]]) depth++;
    else if ("}])".includes(text[i]) && --depth === 0) return i;
  }
  throw new Error(`unbalanced bracket at ${open}`);
}

/** [start, end) ranges of `text` between from and to, split at depth-0 occurrences of `sep`. */
function splitTop(text: string, from: number, to: number, sep: string): [number, number][] {
  const out: [number, number][] = [];
  let start = from;
  for (let i = from; i < to; i++) {
    const skip = skipLiteral(text, i);
    if (skip > 0) {
      i = skip - 1;
      continue;
    }
    if (OPEN[text[i]]) i = closing(text, i);
    else if (text[i] === sep) {
      out.push([start, i]);
      start = i + 1;
    }
  }
  if (text.slice(start, to).trim()) out.push([start, to]);
  return out;
}

/** The range without surrounding whitespace and comments. */
function trimRange(text: string, [s, e]: [number, number]): [number, number] {
  for (;;) {
    while (s < e && /\s/.test(text[s])) s++;
    if (text.startsWith("//", s) || text.startsWith("/*", s)) s = skipLiteral(text, s);
    else break;
  }
  while (e > s && /\s/.test(text[e - 1])) e--;
  return [s, e];
}

// ---------------------------------------------------------------------------------------------
// Schemas: what a Go expression describes.

interface Node {
  readonly at: Loc;
  /** ForceNew: true, or the framework's RequiresReplace(): any change replaces. */
  readonly forceNew?: { at: Loc; why: string };
  /** A RequiresReplace plan modifier with a condition, or a custom one. */
  readonly replaceIf?: { at: Loc; text: string };
  readonly map: boolean;
  readonly set: boolean;
  readonly json: boolean;
  readonly children?: Record<string, Node>;
}

/** Where an expression is read: its file, and the package it belongs to. */
interface Ctx {
  readonly repo: Repo;
  readonly file: string;
  readonly text: string;
  /** Parameters of the function being read, bound to the caller's arguments. */
  readonly params?: Record<string, { ctx: Ctx; range: [number, number] }>;
}

type Value =
  | { kind: "node"; node: Node }
  | { kind: "map"; map: Record<string, Node> }
  | { kind: "resource"; map: Record<string, Node>; customizeDiff?: { ctx: Ctx; range: [number, number] } }
  | { kind: "other" };

function ctxOf(repo: Repo, file: string): Ctx {
  const text = repo.read(file);
  if (text === undefined) throw new Error(`${repo.name} ${repo.tag}: no ${file}`);
  return { repo, file, text };
}

function lineAt(ctx: Ctx, i: number): Loc {
  let line = 1;
  for (let j = 0; j < i; j++) if (ctx.text.charCodeAt(j) === 10) line++;
  return { file: ctx.file, line };
}

/** The file's imports by the name they are used as. */
function importsOf(ctx: Ctx): Record<string, string> {
  const out: Record<string, string> = {};
  const block = /^import\s*\(([\s\S]*?)^\)/m.exec(ctx.text)?.[1] ?? "";
  const single = [...ctx.text.matchAll(/^import\s+(\w+\s+)?"([^"]+)"/gm)].map((m) => `${m[1] ?? ""}"${m[2]}"`);
  for (const line of [...block.split("\n"), ...single]) {
    const m = /^\s*(\w+|_|\.)?\s*"([^"]+)"/.exec(line);
    if (!m) continue;
    const path = m[2];
    const last = path.split("/").pop()!;
    const name = m[1] ?? (/^v\d+$/.test(last) ? path.split("/").slice(-2)[0] : last).replace(/-/g, "");
    out[name] = path;
  }
  return out;
}

function dirOf(file: string): string {
  return file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : "";
}

/** A top-level function or variable of a package: its file and where its declaration starts. */
function findDecl(repo: Repo, dir: string, name: string): { ctx: Ctx; start: number; kind: "func" | "var" } | undefined {
  for (const file of repo.goFiles(dir)) {
    const ctx = ctxOf(repo, file);
    const fn = new RegExp(`^func ${name}\\(`, "m").exec(ctx.text);
    if (fn) return { ctx, start: fn.index, kind: "func" };
    const v = new RegExp(`^(?:var\\s+${name}\\s*=|\\s+${name}\\s*=)`, "m").exec(ctx.text);
    if (v && /^var\b/.test(v[0])) return { ctx, start: v.index + v[0].length, kind: "var" };
  }
  return undefined;
}

/** Evaluates the Go expression in `range` as far as schemas go. */
function evaluate(ctx: Ctx, range: [number, number]): Value {
  const [s, e] = trimRange(ctx.text, range);
  const expr = ctx.text.slice(s, e);
  // A plugin-framework resource schema, schema.Schema{Attributes: ...}: told from SDKv2's
  // schema.Schema by the package it comes from.
  let m = /^(\w+)\.Schema\s*\{/.exec(expr);
  if (m && /terraform-plugin-framework\//.test(importsOf(ctx)[m[1]] ?? "")) return { kind: "node", node: frameworkNode(ctx, s + m[0].length - 1, s, "Schema") };
  // An SDKv2 schema literal: `{ ... }` in a map of schemas, or &pluginsdk.Schema{ ... }.
  m = /^&?(?:\w+\.)?Schema\s*\{/.exec(expr) ?? (/^\{/.test(expr) ? /^\{/.exec(expr) : null);
  if (m) return { kind: "node", node: sdkSchema(ctx, s + m[0].length - 1, s) };
  m = /^&?(?:\w+\.)?Resource\s*\{/.exec(expr);
  if (m) return sdkResource(ctx, s + m[0].length - 1);
  m = /^map\[string\]\*?(?:\w+\.)?(?:Schema|Attribute|Block)\s*\{/.exec(expr);
  if (m) return { kind: "map", map: schemaMap(ctx, s + m[0].length - 1) };
  // A plugin-framework attribute or block.
  m = /^(?:\w+\.)?(\w+(?:Attribute|Block))\s*\{/.exec(expr);
  if (m) return { kind: "node", node: frameworkNode(ctx, s + m[0].length - 1, s, m[1]) };
  // Another function's result, or a variable.
  m = /^(?:(\w+)\.)?(\w+)\s*\(/.exec(expr);
  if (m && expr.endsWith(")")) return call(ctx, m[1], m[2], s + m[0].length - 1);
  m = /^(?:(\w+)\.)?(\w+)$/.exec(expr);
  if (m) {
    const param = !m[1] && ctx.params?.[m[2]];
    if (param) return evaluate(param.ctx, param.range);
    const decl = resolve(ctx, m[1], m[2]);
    if (decl?.kind === "var") {
      const end = declEnd(decl.ctx.text, decl.start);
      return evaluate(decl.ctx, [decl.start, end]);
    }
  }
  return { kind: "other" };
}

/** End of a `var x = <expr>` declaration's expression. */
function declEnd(text: string, start: number): number {
  for (let i = start; i < text.length; i++) {
    const skip = skipLiteral(text, i);
    if (skip > 0) {
      i = skip - 1;
      continue;
    }
    if (OPEN[text[i]]) i = closing(text, i);
    else if (text[i] === "\n" && !/[,+(]\s*$/.test(text.slice(start, i))) return i;
  }
  return text.length;
}

function resolve(ctx: Ctx, pkg: string | undefined, name: string) {
  const dir = pkg === undefined ? dirOf(ctx.file) : ctx.repo.packageDir(importsOf(ctx)[pkg] ?? "");
  return dir === undefined ? undefined : findDecl(ctx.repo, dir, name);
}

function call(ctx: Ctx, pkg: string | undefined, name: string, open: number): Value {
  const args = splitTop(ctx.text, open + 1, closing(ctx.text, open), ",");
  // tpgresource.MergeSchemas(a, b): the union of the maps.
  if (name === "MergeSchemas") {
    const map: Record<string, Node> = {};
    for (const a of args) {
      const v = evaluate(ctx, a);
      if (v.kind !== "map") throw new Error(`${cite(lineAt(ctx, a[0]))}: MergeSchemas of something not a schema map`);
      Object.assign(map, v.map);
    }
    return { kind: "map", map };
  }
  const decl = resolve(ctx, pkg, name);
  if (!decl || decl.kind !== "func") return { kind: "other" };
  return functionResult(
    decl.ctx,
    decl.start,
    args.map((range) => ({ ctx, range })),
  );
}

/** What a function returns, its parameters bound to `args`. */
function functionResult(ctx: Ctx, start: number, args: { ctx: Ctx; range: [number, number] }[]): Value {
  const text = ctx.text;
  const paramsOpen = text.indexOf("(", start + (text.startsWith("func (", start) ? closing(text, start + 5) - start + 1 : 0));
  const paramsClose = closing(text, paramsOpen);
  const names = splitTop(text, paramsOpen + 1, paramsClose, ",").map((r) => text.slice(...trimRange(text, r)).split(/\s+/)[0]);
  const params = Object.fromEntries(names.map((n, i) => [n, args[i]]).filter(([, a]) => a)) as Ctx["params"];
  const bodyOpen = text.indexOf("{", paramsClose);
  const bodyClose = closing(text, bodyOpen);
  const inner: Ctx = { ...ctx, params };
  // The last return at the body's top level.
  const statements = topStatements(text, bodyOpen + 1, bodyClose);
  const ret = [...statements].reverse().find(([s]) => text.startsWith("return", s));
  if (!ret) return { kind: "other" };
  const value = evaluate(inner, [ret[0] + "return".length, ret[1]]);
  if (value.kind !== "other") return value;
  // `s := <expr>; s.ForceNew = true; return s`.
  const ident = text.slice(ret[0] + "return".length, ret[1]).trim();
  if (!/^\w+$/.test(ident)) return value;
  const assign = statements.find(([s, e]) => new RegExp(`^(?:${ident}\\s*:?=|var\\s+${ident}\\s*=)`).test(text.slice(s, e)));
  if (!assign) return value;
  const eq = text.indexOf("=", assign[0]);
  const assigned = evaluate(inner, [eq + 1, assign[1]]);
  if (assigned.kind !== "node") return assigned;
  let node = assigned.node;
  for (const [s, e] of statements) {
    const set = new RegExp(`^${ident}\\.ForceNew\\s*=\\s*(true|false)`).exec(text.slice(s, e));
    if (set) node = { ...node, forceNew: set[1] === "true" ? { at: lineAt(ctx, s), why: "ForceNew" } : undefined };
  }
  return { kind: "node", node };
}

/** Statement ranges at the top level of a function body. */
function topStatements(text: string, from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  let start = from;
  for (let i = from; i < to; i++) {
    const skip = skipLiteral(text, i);
    if (skip > 0) {
      i = skip - 1;
      continue;
    }
    if (OPEN[text[i]]) i = closing(text, i);
    else if (text[i] === "\n" || text[i] === ";") {
      const seg = trimRange(text, [start, i]);
      // A statement continues on the next line after an operator or an opening bracket.
      if (seg[1] > seg[0] && !/[,+\-*/&|=(.]$/.test(text.slice(...seg))) {
        out.push(seg);
        start = i + 1;
      } else if (seg[1] <= seg[0]) start = i + 1;
    }
  }
  const last = trimRange(text, [start, to]);
  if (last[1] > last[0]) out.push(last);
  return out;
}

/** key: value pairs of a composite literal whose `{` is at `open`. */
function fields(ctx: Ctx, open: number): { key: string; keyAt: number; value: [number, number] }[] {
  const close = closing(ctx.text, open);
  return splitTop(ctx.text, open + 1, close, ",").flatMap((r) => {
    const [s, e] = trimRange(ctx.text, r);
    const colon = splitTop(ctx.text, s, e, ":");
    if (colon.length < 2) return [];
    const key = ctx.text.slice(...trimRange(ctx.text, colon[0])).replace(/^"|"$/g, "");
    return [{ key, keyAt: s, value: [colon[0][1] + 1, e] as [number, number] }];
  });
}

function schemaMap(ctx: Ctx, open: number): Record<string, Node> {
  const out: Record<string, Node> = {};
  for (const f of fields(ctx, open)) {
    const v = evaluate(ctx, f.value);
    if (v.kind !== "node") throw new Error(`${cite(lineAt(ctx, f.keyAt))}: cannot read the schema of "${f.key}"`);
    // Cite the entry in the map; a helper's ForceNew line is cited where it decides.
    out[f.key] = { ...v.node, at: lineAt(ctx, f.keyAt) };
  }
  return out;
}

function isTrue(ctx: Ctx, range: [number, number]): boolean {
  const v = ctx.text.slice(...trimRange(ctx.text, range));
  if (v === "true") return true;
  const param = ctx.params?.[v];
  return !!param && param.ctx.text.slice(...trimRange(param.ctx.text, param.range)) === "true";
}

function sdkSchema(ctx: Ctx, open: number, at: number): Node {
  let forceNew: Node["forceNew"];
  let map = false;
  let set = false;
  let json = false;
  let children: Record<string, Node> | undefined;
  for (const f of fields(ctx, open)) {
    const value = ctx.text.slice(...trimRange(ctx.text, f.value));
    if (f.key === "ForceNew" && isTrue(ctx, f.value)) forceNew = { at: lineAt(ctx, f.keyAt), why: "ForceNew" };
    if (f.key === "Type") {
      map = /TypeMap$/.test(value);
      set = /TypeSet$/.test(value);
    }
    if ((f.key === "ValidateFunc" && /StringIsJSON/.test(value)) || (f.key === "DiffSuppressFunc" && /Json/i.test(value))) json = true;
    if (f.key === "Elem") {
      const elem = evaluate(ctx, f.value);
      if (elem.kind === "resource") children = elem.map;
    }
  }
  return { at: lineAt(ctx, at), forceNew, map, set, json, children };
}

function sdkResource(ctx: Ctx, open: number): Value {
  let map: Record<string, Node> = {};
  let customizeDiff: { ctx: Ctx; range: [number, number] } | undefined;
  for (const f of fields(ctx, open)) {
    if (f.key === "Schema") {
      const v = evaluate(ctx, f.value);
      if (v.kind !== "map") throw new Error(`${cite(lineAt(ctx, f.keyAt))}: cannot read the Schema map`);
      map = v.map;
    }
    if (f.key === "CustomizeDiff") customizeDiff = { ctx, range: f.value };
  }
  return { kind: "resource", map, customizeDiff };
}

function frameworkNode(ctx: Ctx, open: number, at: number, type: string): Node {
  let forceNew: Node["forceNew"];
  let replaceIf: Node["replaceIf"];
  let json = false;
  const children: Record<string, Node> = {};
  const addChildren = (o: number) => {
    for (const f of fields(ctx, o))
      if (f.key === "Attributes" || f.key === "Blocks") {
        const v = evaluate(ctx, f.value);
        if (v.kind !== "map") throw new Error(`${cite(lineAt(ctx, f.keyAt))}: cannot read ${f.key}`);
        Object.assign(children, v.map);
      }
  };
  addChildren(open);
  for (const f of fields(ctx, open)) {
    const value = ctx.text.slice(...f.value);
    if (f.key === "PlanModifiers")
      for (const m of value.matchAll(/(\w+)\.(RequiresReplace\w*)\(/g)) {
        const where = lineAt(ctx, f.value[0] + m.index!);
        // The framework's own modifiers; IfConfigured replaces on a change of what botfleet sets.
        if (/planmodifier$/.test(m[1]) && (m[2] === "RequiresReplace" || m[2] === "RequiresReplaceIfConfigured")) forceNew = { at: where, why: m[2] };
        else replaceIf = { at: where, text: `${m[1]}.${m[2]}` };
      }
    if (f.key === "CustomType" && /jsontypes/.test(value)) json = true;
    if (f.key === "NestedObject") addChildren(ctx.text.indexOf("{", f.value[0]));
  }
  return {
    at: lineAt(ctx, at),
    forceNew,
    replaceIf,
    map: /^Map(Attribute|NestedAttribute)$/.test(type),
    set: /^Set/.test(type),
    json,
    children: Object.keys(children).length > 0 ? children : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Finding a resource type's schema, and its CustomizeDiff.

interface ResourceSchema {
  readonly map: Record<string, Node>;
  /** Text (with where it is) of the CustomizeDiff and the package functions it calls. */
  readonly customizeDiff: { ctx: Ctx; range: [number, number] }[];
}

function sdkResourceFrom(ctx: Ctx, range: [number, number]): ResourceSchema {
  const v = evaluate(ctx, range);
  if (v.kind !== "resource") throw new Error(`${cite(lineAt(ctx, range[0]))}: not a resource`);
  return { map: v.map, customizeDiff: v.customizeDiff ? [v.customizeDiff] : [] };
}

/** azurerm: a resources map entry of a registration.go, or a typed resource's Arguments(). */
function azurermSchema(repo: Repo, type: string): ResourceSchema {
  const hit = repo.grep(`^\\s*"${type}":\\s`, "internal/services/*/registration.go").find((h) => {
    const text = repo.read(h.file)!;
    const before = text.split("\n").slice(0, h.line).join("\n");
    return before.lastIndexOf("SupportedResources()") > before.lastIndexOf("SupportedDataSources()");
  });
  if (hit) {
    const ctx = ctxOf(repo, hit.file);
    const lineStart =
      ctx.text
        .split("\n")
        .slice(0, hit.line - 1)
        .join("\n").length + 1;
    const colon = ctx.text.indexOf(":", lineStart);
    const end = ctx.text.indexOf("\n", colon);
    return sdkResourceFrom(ctx, [colon + 1, ctx.text.lastIndexOf(",", end)]);
  }
  const typed = repo.grep(`^\\s*return "${type}"$`, "internal/services").find((h) => /_resource\.go$/.test(h.file));
  if (!typed) throw new Error(`azurerm: no resource ${type}`);
  const ctx = ctxOf(repo, typed.file);
  const receiver = /func \((\w+) (\w+)\) ResourceType\(\)/.exec(ctx.text)![2];
  const method = (name: string) => new RegExp(`^func \\(\\w+ \\*?${receiver}\\) ${name}\\(\\)`, "m").exec(ctx.text);
  const args = method("Arguments")!;
  const v = functionResult(ctx, args.index, []);
  if (v.kind !== "map") throw new Error(`${typed.file}: cannot read ${receiver}.Arguments()`);
  const cd = method("CustomizeDiff");
  const customizeDiff = cd ? [{ ctx, range: [cd.index, closing(ctx.text, ctx.text.indexOf("{", ctx.text.indexOf(")", cd.index + 10)))] as [number, number] }] : [];
  return { map: v.map, customizeDiff };
}

/** google: the provider's resource maps. */
function googleSchema(repo: Repo, type: string): ResourceSchema {
  const hit = repo.grep(`^\\s*"${type}":\\s`, "google/provider/provider_mmv1_resources.go").find((h) => {
    const text = repo.read(h.file)!;
    // The map the entry is in: generatedResources, handwrittenIAMResources, ...; not a *Datasources one.
    const maps = [
      ...text
        .split("\n")
        .slice(0, h.line)
        .join("\n")
        .matchAll(/^var (\w+) = map\[string\]/gm),
    ];
    const name = maps.pop()?.[1] ?? "";
    return /Resources$/.test(name) && !/Datasources$/i.test(name);
  });
  if (!hit) throw new Error(`google: no resource ${type}`);
  const ctx = ctxOf(repo, hit.file);
  const lineStart =
    ctx.text
      .split("\n")
      .slice(0, hit.line - 1)
      .join("\n").length + 1;
  const colon = ctx.text.indexOf(":", lineStart);
  const open = ctx.text.indexOf("(", colon);
  return sdkResourceFrom(ctx, [colon + 1, closing(ctx.text, open) + 1]);
}

/** tfe (SDKv2 part): provider.go's ResourcesMap. */
function tfeSdkSchema(repo: Repo, type: string): ResourceSchema | undefined {
  const hit = repo.grep(`^\\s*"${type}":\\s+resource`, "internal/provider/provider.go")[0];
  if (!hit) return undefined;
  const ctx = ctxOf(repo, hit.file);
  const lineStart =
    ctx.text
      .split("\n")
      .slice(0, hit.line - 1)
      .join("\n").length + 1;
  const colon = ctx.text.indexOf(":", lineStart);
  return sdkResourceFrom(ctx, [colon + 1, ctx.text.lastIndexOf(",", ctx.text.indexOf("\n", colon))]);
}

/** A plugin-framework resource: the receiver whose Metadata names the type, and its Schema. */
function frameworkSchema(repo: Repo, type: string, dir: string): ResourceSchema {
  const suffix = type.slice(type.indexOf("_"));
  const hits = repo.grep(`resp\\.TypeName = (req\\.ProviderTypeName \\+ "${suffix}"|"${type}")$`, dir);
  for (const h of hits) {
    const ctx = ctxOf(repo, h.file);
    const upTo = ctx.text.split("\n").slice(0, h.line).join("\n");
    const fn = [...upTo.matchAll(/^func \((\w+) \*?(\w+)\) Metadata\([^)]*resource\.MetadataRequest/gm)].pop();
    if (!fn) continue;
    const schemaFn = new RegExp(`^func \\(\\w+ \\*?${fn[2]}\\) Schema\\(`, "m").exec(ctx.text)!;
    const bodyOpen = ctx.text.indexOf("{", closing(ctx.text, ctx.text.indexOf("(", schemaFn.index + 6 + fn[1].length + fn[2].length)));
    const assign = /resp\.Schema\s*=\s*/.exec(ctx.text.slice(bodyOpen))!;
    const from = bodyOpen + assign.index + assign[0].length;
    const open = ctx.text.indexOf(/^\w+\(/.test(ctx.text.slice(from)) ? "(" : "{", from);
    const v = ctx.text[open] === "(" ? evaluate(ctx, [from, closing(ctx.text, open) + 1]) : { kind: "node" as const, node: frameworkNode(ctx, open, from, "Schema") };
    if (v.kind !== "node" || !v.node.children) throw new Error(`${h.file}: cannot read ${fn[2]}'s schema`);
    return { map: v.node.children, customizeDiff: [] };
  }
  throw new Error(`${repo.name}: no resource ${type}`);
}

function schemaOf(repo: Repo, type: string): ResourceSchema {
  switch (repo.name) {
    case "azurerm":
      return azurermSchema(repo, type);
    case "google":
      return googleSchema(repo, type);
    case "tfe":
      return tfeSdkSchema(repo, type) ?? frameworkSchema(repo, type, "internal/provider");
    default:
      return frameworkSchema(repo, type, "internal/provider");
  }
}

/**
 * Attributes a CustomizeDiff may force new, with the condition's line: ForceNewIfChange("a", ...),
 * ForceNewIf("a", ...), and d.ForceNew("a") in the functions it names (package functions, three
 * calls deep).
 */
function customizeDiffForceNew(sources: ResourceSchema["customizeDiff"]): Map<string, { at: Loc; text: string }> {
  const out = new Map<string, { at: Loc; text: string }>();
  const seen = new Set<string>();
  const visit = (ctx: Ctx, range: [number, number], depth: number) => {
    const text = ctx.text.slice(...range);
    for (const m of text.matchAll(/\b(ForceNewIfChange|ForceNewIf|ForceNew)\(\s*"([\w.]+)"/g)) {
      const at = lineAt(ctx, range[0] + m.index!);
      if (!out.has(m[2])) out.set(m[2], { at, text: `CustomizeDiff ${m[1]}("${m[2]}")` });
    }
    if (depth === 0) return;
    for (const m of text.matchAll(/\b(?:(\w+)\.)?([A-Za-z]\w*)\b(?!\s*:)/g)) {
      const key = `${ctx.file} ${m[0]}`;
      if (seen.has(key) || /^(if|return|func|err|nil|true|false|string|bool|int|interface|context|fmt|ctx|diff|d|meta|v)$/.test(m[2])) continue;
      seen.add(key);
      const decl = resolve(ctx, m[1], m[2]);
      if (decl?.kind === "func") {
        const open = decl.ctx.text.indexOf("{", closing(decl.ctx.text, decl.ctx.text.indexOf("(", decl.start + 5)));
        visit(decl.ctx, [decl.start, closing(decl.ctx.text, open)], depth - 1);
      }
    }
  };
  for (const s of sources) visit(s.ctx, s.range, 3);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The table.

function classify(repo: Repo, type: string, schema: ResourceSchema, paths: Iterable<string>): Record<string, TableEntry> {
  const custom = customizeDiffForceNew(schema.customizeDiff);
  const out: Record<string, TableEntry> = {};
  for (const path of paths) {
    let map = schema.map;
    let inSet = false;
    let blockForceNew: { at: Loc; block: string } | undefined;
    const segments = path.split(".");
    for (let i = 0; i < segments.length; i++) {
      const node = map[segments[i]];
      const key = segments.slice(0, i + 1).join(".");
      if (!node) throw new Error(`${repo.name} ${repo.tag}: ${type} has no attribute ${key} in its schema (botfleet sets ${path})`);
      inSet ||= node.set;
      if (i < segments.length - 1 && !node.map) {
        if (!node.children) throw new Error(`${repo.name} ${repo.tag}: ${type}.${key} is not a block, yet botfleet sets ${path}`);
        if (node.forceNew && !blockForceNew) blockForceNew = { at: node.forceNew.at, block: key };
        map = node.children;
        continue;
      }
      const flags = { ...(node.map && { map: true as const }), ...(inSet && { set: true as const }), ...(node.json && { json: true as const }) };
      const cd = custom.get(key);
      out[key] = node.forceNew
        ? { change: "replace", why: node.forceNew.why, source: cite(node.forceNew.at), ...flags }
        : blockForceNew
          ? { change: "replace", why: `ForceNew on block ${blockForceNew.block}`, source: cite(blockForceNew.at), ...flags }
          : node.replaceIf
            ? { change: "replace-if", why: node.replaceIf.text, source: cite(node.replaceIf.at), ...flags }
            : cd
              ? { change: "replace-if", why: cd.text, source: cite(cd.at), ...flags }
              : { change: "update", why: "no ForceNew", source: cite(node.at), ...flags };
      break;
    }
  }
  return out;
}

function providerOf(type: string): ProviderName {
  const prefix = type.split("_")[0];
  const name = prefix === "azurerm" ? "azurerm" : prefix;
  if (!(name in PROVIDERS)) throw new Error(`no provider for ${type}`);
  return name as ProviderName;
}

function gitDirOf(sources: string, name: ProviderName): string {
  for (const candidate of [`hashicorp+terraform-provider-${name}/repo`, `terraform-provider-${name}.git`, `terraform-provider-${name}/.git`]) {
    const dir = join(sources, candidate);
    if (existsSync(dir)) return dir;
  }
  throw new Error(`no clone of terraform-provider-${name} under ${sources} (hashicorp+terraform-provider-${name}/repo or terraform-provider-${name}[.git])`);
}

export function buildTable(sources: string, emitted = emittedAttributes()): ForceNewTable {
  const repos = new Map<ProviderName, Repo>();
  const resources: ForceNewTable["resources"] = {};
  for (const type of [...emitted.keys()].sort()) {
    const provider = providerOf(type);
    if (!repos.has(provider)) repos.set(provider, new Repo(provider, gitDirOf(sources, provider)));
    const repo = repos.get(provider)!;
    const attributes = classify(repo, type, schemaOf(repo, type), [...emitted.get(type)!].sort());
    resources[type] = { provider, attributes: Object.fromEntries(Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b))) };
  }
  return {
    generatedBy: "scripts/force-new-table.ts (npm run table:force-new)",
    providers: Object.fromEntries(Object.entries(PROVIDERS).map(([n, p]) => [n, p.tag])),
    resources,
  };
}

if (require.main === module) {
  const { values } = parseArgs({ options: { sources: { type: "string", default: "/work/.mirror" } } });
  try {
    const table = buildTable(values.sources!);
    writeFileSync(TABLE_FILE, `${JSON.stringify(table, null, 2)}\n`);
    const entries = Object.values(table.resources).flatMap((r) => Object.values(r.attributes));
    process.stdout.write(
      `force-new-table: ${TABLE_FILE}: ${Object.keys(table.resources).length} resource types, ${entries.length} attributes, ${entries.filter((e) => e.change === "replace").length} replace, ${entries.filter((e) => e.change === "replace-if").length} replace-if\n`,
    );
  } catch (e) {
    process.stderr.write(`force-new-table: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
