/**
 * Keeps the documentation true: README.md's quick start is what CI runs, every relative link and
 * anchor resolves, the minimal fleet synthesizes, the fleet-file reference names every key of the
 * schema, `help` names real scripts and pages. (docs/policy.md's rule table is checked in
 * policy.test.ts, docs/review.md's example in review.test.ts, the Mermaid diagrams in
 * mermaid.test.ts.)
 */
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
  for (const command of ["npm ci && npx cdktf synth", "npm run setup:tools && npm test"]) {
    expect(ci).toContain(`${command}\n`);
    expect(readme).toMatch(new RegExp(`^${command.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} +#`, "m"));
  }
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

test("docs/configuration.md's reference table names every key of the fleet file's schema", () => {
  const table = read("docs/configuration.md").match(/^\| key \| default \| meaning \|\n[\s\S]*?\n\n/m);
  expect(table).not.toBeNull();
  // The first column's code spans, cut into key names: `persona.name` / `.theme` gives persona, name, theme.
  const named = new Set([...table![0].matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1].matchAll(/`([^`]+)`/g)].flatMap((c) => c[1].split(/[.[\]*/ ]+/).filter(Boolean))));
  const keys: string[] = [];
  const walk = (schema: any, path: string) => {
    for (const variant of schema.anyOf ?? schema.oneOf ?? schema.allOf ?? []) walk(variant, path);
    if (schema.items && !path.endsWith("suppressions")) walk(schema.items, `${path}[]`);
    for (const [key, child] of Object.entries<any>(schema.properties ?? {})) {
      if (key === "$schema") continue;
      keys.push(`${path}${path ? "." : ""}${key}`);
      walk(child, `${path}${path ? "." : ""}${key}`);
    }
  };
  walk(JSON.parse(read("fleet.schema.json")), "");
  expect(keys.length).toBeGreaterThan(40);
  expect(keys.filter((k) => !named.has(k.split(".").pop()!.replace("[]", "")))).toEqual([]);
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
