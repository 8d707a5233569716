/**
 * Keeps the documentation true: README.md's quick start is what CI runs, every relative link and
 * anchor resolves, the minimal fleet synthesizes, the fleet-file reference names every key of the
 * schema, `help` names real scripts and pages. (docs/policy.md's rule table is checked in
 * policy.test.ts, docs/review.md's example in review.test.ts, the Mermaid diagrams in
 * mermaid.test.ts.)
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { synthTo } from "../scripts/readme-review-example";
import { pages } from "./support/docs";
import { fleetFrom, ROOT } from "./support/fleet";

const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

/** A page's text outside fenced code blocks (links and headings there are not Markdown). */
const prose = (text: string) => text.replace(/^```[\s\S]*?^```/gm, "");

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, "")
    .replace(/ /g, "-");

const anchors = (text: string) => new Set([...prose(text).matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1])));

test("the README's quick start is the two commands CI runs on a fresh clone (.ci/run)", () => {
  const ci = read(".ci/run");
  const readme = read("README.md");
  for (const command of ["npm ci && npm run synth", "npm run setup:tools && npm test"]) {
    expect(ci).toContain(`${command}\n`);
    expect(readme).toMatch(new RegExp(`^${command.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} +#`, "m"));
  }
});

test("Node 24 everywhere: engines, both workflows, the README, CI's PATH, and no package refusing it at install", () => {
  const engines = JSON.parse(read("package.json")).engines;
  expect(engines).toEqual({ node: ">=24" });
  const lock = JSON.parse(read("package-lock.json"));
  expect(lock.packages[""].engines).toEqual(engines);
  for (const workflow of [".github/workflows/pull-request.yml", ".github/actions/synthesize/action.yml"])
    expect([...read(workflow).matchAll(/node-version: *(\S+)/g)].map((m) => m[1])).toEqual(["24"]);
  expect(read("README.md")).toContain("On a machine with Node.js 24 and npm");
  // npm 11 runs only the install scripts package.json allows: node-pty's builds the binary cdktf needs.
  expect(JSON.parse(read("package.json")).allowScripts).toEqual({ "@cdktf/node-pty-prebuilt-multiarch": true, protobufjs: false });
  // CI puts the Node 24 it installs (and an npm for it) first on PATH before the README's commands.
  const ci = read(".ci/run");
  expect(ci.indexOf("bash scripts/setup-node24.sh --npm")).toBeGreaterThan(0);
  expect(ci.indexOf("bash scripts/setup-node24.sh --npm")).toBeLessThan(ci.indexOf("npm ci && npm run synth\n"));
  expect(read("state-sync/node-version")).toMatch(/^24\.\d+\.\d+\n?$/);
  // npm warns EBADENGINE for each installed package whose engines.node the running Node misses:
  // none may miss the oldest Node that engines allows (semver, as npm's check; cdktf depends on it).
  const semver = require("semver") as { satisfies(version: string, range: string): boolean; minVersion(range: string): { version: string } };
  const oldest = semver.minVersion(engines.node).version;
  const refusing = Object.entries<any>(lock.packages)
    .filter(([, p]) => typeof p.engines?.node === "string" && !semver.satisfies(oldest, p.engines.node))
    .map(([path, p]) => `${path}: ${p.engines.node}`);
  expect(refusing).toEqual([]);
});

test("every relative link in the README, CONTRIBUTING and docs/ leads to a file, and its anchor to a heading there", () => {
  const broken: string[] = [];
  for (const page of pages()) {
    const text = read(page);
    for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split("#");
      const file = path ? relative(ROOT, join(ROOT, dirname(page), path)) : page;
      if (!existsSync(join(ROOT, file))) broken.push(`${page}: ${target} (no file ${file})`);
      else if (anchor && file.endsWith(".md") && !anchors(read(file)).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor} in ${file})`);
    }
  }
  expect(broken).toEqual([]);
  expect(pages()).toEqual(expect.arrayContaining(["docs/targets/azure-vmss.md", "docs/targets/azure-container-apps.md", "docs/targets/gcp-cloud-run.md"]));
});

test("the README's minimal fleet passes policy and synthesizes one shared stack and its bot", () => {
  const block = read("README.md").match(/<!-- minimal-fleet:start -->\n```yaml\n([\s\S]*?)```\n<!-- minimal-fleet:end -->/);
  expect(block).not.toBeNull();
  const manifest = JSON.parse(readFileSync(join(synthTo(fleetFrom(block![1])), "manifest.json"), "utf8"));
  expect(Object.keys(manifest.stacks).sort()).toEqual(["azure-shared-eastus2", "bot-alpha"]);
});

/** The reference table's rows, keyed by each full key the first column names (`persona.name` / `.theme` names persona.name and persona.theme). */
const REFERENCE_ROWS: { keys: string[]; defaultCell: string; row: string }[] = (() => {
  const table = read("docs/configuration.md").match(/^\| key \| default \| meaning \|\n[\s\S]*?\n\n/m)![0];
  return [...table.matchAll(/^\| ([^|]+) \|([^|]*)\|.*$/gm)].map((m) => {
    let prefix = "";
    const keys = [...m[1].matchAll(/`([^`]+)`/g)].map(([, key]) => {
      if (key.startsWith(".")) return prefix + key;
      prefix = key.slice(0, key.lastIndexOf("."));
      return key;
    });
    return { keys, defaultCell: m[2].trim(), row: m[0] };
  });
})();

/** The row that documents a schema path: `bots[].x` and `defaults.x` are documented as `x` unless a row names them whole; `defaults.*` is the last resort. */
function referenceRow(path: string) {
  const matches = (key: string, p: string) => new RegExp(`^${key.replace(/[.[\]]/g, "\\$&").replace(/\*/g, "[^.]+")}$`).test(p);
  const bare = path.replace(/^(bots\[\]|defaults)\./, "").replace(/\[\]$/, "");
  const find = (p: string, wildcards: boolean) => REFERENCE_ROWS.find((r) => r.keys.some((k) => (wildcards || !k.includes("*")) && matches(k, p)));
  return find(path, false) ?? find(bare, true) ?? find(path, true);
}

/** Every schema in fleet.schema.json with its path (`bots[].name`; a union's variants share their path). */
const SCHEMA_OBJECTS: { path: string; schema: any }[] = (() => {
  const found: { path: string; schema: any }[] = [];
  const walk = (schema: any, path: string) => {
    found.push({ path, schema });
    for (const variant of schema.anyOf ?? schema.oneOf ?? schema.allOf ?? []) walk(variant, path);
    if (schema.items) walk(schema.items, `${path}[]`);
    for (const [key, child] of Object.entries<any>(schema.properties ?? {})) walk(child, `${path}${path ? "." : ""}${key}`);
  };
  walk(JSON.parse(read("fleet.schema.json")), "");
  return found;
})();

test("docs/configuration.md's reference table names every key of the fleet file's schema", () => {
  // Every leaf key: a section is documented by its keys' rows.
  const keys = SCHEMA_OBJECTS.filter((o) => !o.schema.properties && !o.schema.items?.properties && !o.path.endsWith("[]") && !o.path.includes("suppressions[]") && o.path !== "$schema").map(
    (o) => o.path,
  );
  expect(keys.length).toBeGreaterThan(40);
  expect(keys.filter((path) => !referenceRow(path))).toEqual([]);
});

test("the reference gives every length, count and range limit the schema enforces", () => {
  const missing: string[] = [];
  for (const { path, schema } of SCHEMA_OBJECTS) {
    if (path.includes("suppressions[]")) continue; // in the suppressions row's prose, checked below
    const limits = [schema.minimum, schema.maximum, schema.maxLength, schema.maxItems, schema.minLength > 1 ? schema.minLength : undefined, schema.minItems > 1 ? schema.minItems : undefined];
    for (const limit of limits.filter((n) => n !== undefined && n !== Number.MAX_SAFE_INTEGER)) {
      const row = referenceRow(path);
      if (!row || !new RegExp(`(^|[^\\d.])${String(limit).replace(".", "\\.")}([^\\d]|$)`).test(row.row)) missing.push(`${path}: ${limit}`);
    }
  }
  expect(missing).toEqual([]);
  const suppressions = referenceRow("bots[].suppressions")!.row;
  expect(suppressions).toMatch(/12\+ characters/);
  expect(suppressions).toMatch(/at most 500/);
});

test("a key its section requires is documented as required there, and defaults.* names every bot-only key", () => {
  const wrong: string[] = [];
  for (const { path, schema } of SCHEMA_OBJECTS) {
    if (!path || path.includes("suppressions[]")) continue;
    for (const key of schema.required ?? []) {
      const row = referenceRow(`${path}.${key}`);
      if (!row || !/^required\b/.test(row.defaultCell)) wrong.push(`${path}.${key}: "${row?.defaultCell}"`);
    }
  }
  expect(wrong).toEqual([]);
  const keysOf = (path: string) => Object.keys(SCHEMA_OBJECTS.find((o) => o.path === path && o.schema.properties)!.schema.properties);
  const botOnly = keysOf("bots[]").filter((k) => !keysOf("defaults").includes(k));
  expect(botOnly).toEqual(expect.arrayContaining(["name", "domain", "suppressions"]));
  const defaultsRow = referenceRow("defaults.x")!.row;
  expect(botOnly.filter((k) => !defaultsRow.includes(`\`${k}\``))).toEqual([]);
});

test("the code points to documentation by path, and every path and anchor it names exists", () => {
  const files = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter((f) => f && !/\.md$|package-lock\.json|__snapshots__|^__tests__\/docs\.test\.ts$/.test(f) && existsSync(join(ROOT, f)));
  const wrong: string[] = [];
  for (const file of files) {
    const text = read(file);
    // A README section named by its title ("README: Policy", README "Names") goes stale when the section moves.
    for (const m of text.matchAll(/README(?:'s)?[:,]?\s*(?:\/\/\s*|\*\s*)?"[A-Z]|README: \w/g)) wrong.push(`${file}: ${m[0]}`);
    for (const [, page, anchor] of text.matchAll(/\b((?:docs\/(?:targets\/)?[\w-]+|README|CONTRIBUTING)\.md)(?:#([\w-]+))?/g)) {
      if (!existsSync(join(ROOT, page))) wrong.push(`${file}: ${page} (no such file)`);
      else if (anchor && !anchors(read(page)).has(anchor)) wrong.push(`${file}: ${page}#${anchor} (no such heading)`);
    }
  }
  expect(wrong).toEqual([]);
});

test("help names only scripts package.json has and pages that exist, and no README section that moved", () => {
  const help = read("help");
  const scripts = Object.keys(JSON.parse(read("package.json")).scripts);
  const run = [...help.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
  expect(run.length).toBeGreaterThan(5);
  expect(run.filter((s) => !scripts.includes(s))).toEqual([]);
  for (const [path] of help.matchAll(/(?:docs\/[\w/-]+|CONTRIBUTING)\.md/g)) expect(existsSync(join(ROOT, path))).toBe(true);
  expect(help).not.toMatch(/README "/);
});

test("LICENSE holds the license package.json names", () => {
  expect(JSON.parse(read("package.json")).license).toBe("MPL-2.0");
  expect(read("LICENSE")).toMatch(/^Mozilla Public License Version 2\.0\n/);
});

test("the README and the architecture page say that cdktf is deprecated, and the CDK Terrain plan with its npm facts and their date", () => {
  for (const page of ["README.md", "docs/architecture.md"]) {
    const text = read(page).replace(/\s+/g, " ");
    expect(text).toContain("deprecated CDK for Terraform on 2025-12-10 and archived");
    expect(text).toContain("checked with `npm view` on 2026-12-05");
    expect(text).toMatch(/`cdktn` (has one release, )?0\.24\.0/);
    expect(text).toContain("`@cdktn/provider-azurerm` 16.1.0 wants `cdktn` ^0.23.0");
    expect(text).toContain("`@cdktn/provider-google` is not published");
  }
});
