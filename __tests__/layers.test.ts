import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { ROOT } from "./support/fleet";

/**
 * The layers of botfleet, lowest first: a file may import its own layer and lower ones, never a
 * higher one, so that the fleet file's schema does not load the policy, the policy not the stacks,
 * and a new target or rule finds its place (docs/architecture.md#layout).
 */
const LAYERS: readonly (readonly [string, (path: string) => boolean])[] = [
  // Types and constants every layer shares; the loader's disk cache (plain JavaScript, imports nothing of botfleet's).
  ["contracts", (p) => p.startsWith("contracts/") || p === "scripts/disk-cache.js"],
  // Reading synthesized Terraform JSON: what the policy, the review and the targets' checks read.
  ["tfjson", (p) => p.startsWith("tfjson/")],
  // What the targets' settings are built from: names, address plans, region lists.
  ["config basics", (p) => /^config\/(cidr|names|regions|openclaw-catalog)\.ts$|^config\/openclaw-models\.json$/.test(p)],
  // Each target's descriptor, the registry and what descriptors share.
  ["target descriptors", (p) => /^targets\/([^/]+|[^/]+\/index\.ts)$/.test(p)],
  // The fleet file: schema, loader, HCP Terraform facts.
  ["config", (p) => p.startsWith("config/")],
  ["runtimes", (p) => p.startsWith("runtimes/")],
  ["bootstrap", (p) => p.startsWith("bootstrap/")],
  // Rules over synthesized JSON; stacks run them as an aspect.
  ["policy", (p) => p.startsWith("policy/")],
  // Constructs and stacks, the targets' bot stacks among them.
  ["constructs", (p) => p.startsWith("constructs/") || (p.startsWith("targets/") && !p.endsWith("/operations.ts"))],
  ["review", (p) => p.startsWith("review/")],
  // The `botfleet` command and each target's operations (targets/<id>/operations.ts): they read
  // the fleet file and what the review prices, and load the clouds' SDKs, which nothing below does.
  ["operations", (p) => p.startsWith("operations/") || /^targets\/[^/]+\/operations\.ts$/.test(p)],
  ["main and scripts", (p) => p === "main.ts" || p.startsWith("scripts/")],
];

function layerOf(path: string): number {
  const i = LAYERS.findIndex(([, holds]) => holds(path));
  if (i < 0) throw new Error(`${path} is in no layer; add it to LAYERS in __tests__/layers.test.ts`);
  return i;
}

/** The repository's TypeScript outside tests, relative to the root. */
function sourceFiles(dir = ""): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) return ["node_modules", "cdktf.out", ".git", "__tests__", "live", "containers", "templates"].includes(e.name) ? [] : sourceFiles(path);
    return /\.ts$/.test(e.name) && !e.name.endsWith(".d.ts") ? [path] : [];
  });
}

interface Import {
  readonly from: string;
  readonly to: string;
  /** A `require()` in a function: loaded on first use. */
  readonly lazy: boolean;
}

/** Every relative import of a file: `import ... from`, `export ... from`, `import "..."`, `import(...)` types and `require(...)`. */
function importsOf(from: string): Import[] {
  const text = readFileSync(join(ROOT, from), "utf8");
  const found = [...text.matchAll(/(?:\bfrom\s+|^import\s+|\bimport\s*\(\s*|\b(require)\s*\(\s*)["'](\.{1,2}\/[^"']*|\.)["']/gm)];
  return found.map((m) => ({ from, to: resolveImport(from, m[2]), lazy: m[1] === "require" }));
}

function resolveImport(from: string, spec: string): string {
  const base = posix.normalize(posix.join(dirname(from), spec));
  const candidate = [`${base}.ts`, `${base}/index.ts`, `${base}.js`, base].find((p) => existsSync(join(ROOT, p)));
  if (!candidate) throw new Error(`${from} imports ${spec}, which does not exist`);
  return candidate;
}

const files = sourceFiles();
const imports = files.flatMap(importsOf);

test("the layers cover every source file, and the scan finds the imports", () => {
  for (const file of files) expect(() => layerOf(file)).not.toThrow();
  expect(files).toEqual(expect.arrayContaining(["main.ts", "config/schema.ts", "targets/index.ts", "targets/azure-vmss/bot-stack.ts", "policy/rules.ts"]));
  expect(imports).toContainEqual({ from: "config/schema.ts", to: "targets/registry.ts", lazy: false });
  expect(imports).toContainEqual({ from: "targets/azure-vmss/index.ts", to: "targets/azure-vmss/bot-stack.ts", lazy: true });
});

test("no file imports a higher layer", () => {
  const upward = imports
    // A target descriptor names its stack classes with a require run on first use (main loads
    // stack classes lazily, for speed); nothing of them loads with the descriptor.
    .filter((i) => !(i.lazy && LAYERS[layerOf(i.from)][0] === "target descriptors" && LAYERS[layerOf(i.to)][0] === "constructs"))
    .filter((i) => layerOf(i.to) > layerOf(i.from))
    .map((i) => `${i.from} (${LAYERS[layerOf(i.from)][0]}) imports ${i.to} (${LAYERS[layerOf(i.to)][0]})`);
  expect(upward).toEqual([]);
});

test("nothing below the operations loads a cloud SDK", () => {
  const sdk = /from\s+["'](@azure\/(identity|storage-blob|keyvault-secrets|arm-appcontainers)|@google-cloud\/(storage|secret-manager|run)|commander)["']/;
  const loading = files.filter((f) => LAYERS[layerOf(f)][0] !== "operations" && sdk.test(readFileSync(join(ROOT, f), "utf8")));
  expect(loading).toEqual([]);
  expect(files.filter((f) => sdk.test(readFileSync(join(ROOT, f), "utf8")))).toEqual(
    expect.arrayContaining(["operations/azure-blob-store.ts", "operations/gcs-store.ts", "operations/key-vault-secrets.ts", "operations/gcp-secret-manager.ts", "operations/cli.ts"]),
  );
});
