import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appArgs } from "./support/app";
import { ROOT } from "./support/fleet";

/**
 * What the app loads at start-up, run as cdktf runs it: only the provider classes of the fleet's
 * targets, neither archiver nor zod's locales until used, and its TypeScript transformed once.
 */

describe("synth loads the provider classes of the fleet's targets only", () => {
  /** Every module the app loads for `fleetYaml`, relative to node_modules. */
  function loadedModules(fleetYaml: string): string[] {
    const dir = mkdtempSync(join(tmpdir(), "botfleet-modules-"));
    writeFileSync(join(dir, "fleet.yaml"), fleetYaml);
    writeFileSync(join(dir, "record.js"), `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(join(dir, "modules.json"))}, JSON.stringify(Object.keys(require.cache))));`);
    const r = spawnSync(process.execPath, ["-r", join(dir, "record.js"), ...appArgs()], {
      cwd: ROOT,
      env: { ...process.env, BOTFLEET_CONFIG: join(dir, "fleet.yaml"), CDKTF_OUTDIR: join(dir, "out") },
      encoding: "utf8",
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    return (JSON.parse(readFileSync(join(dir, "modules.json"), "utf8")) as string[]).map((m) => m.split("/node_modules/").pop()!);
  }
  const providerModules = (modules: string[], provider: string) => modules.filter((m) => m.startsWith(`@cdktf/${provider}/`));

  // One VM fleet, run twice (the second run is the one the tests read), serves three tests.
  const vmFleet = "name: demo\nbots:\n  - name: bot-a\n    domain: a.example.com\n";
  let vmRuns: string[][] | undefined;
  const secondVmRun = () => (vmRuns ??= [loadedModules(vmFleet), loadedModules(vmFleet)])[1];

  test("a fleet of VM bots: no Google Cloud and no Container Apps classes", () => {
    const modules = secondVmRun();
    expect(providerModules(modules, "provider-azurerm")).toContain("@cdktf/provider-azurerm/lib/orchestrated-virtual-machine-scale-set/index.js");
    expect(providerModules(modules, "provider-google")).toEqual([]);
    expect(modules.filter((m) => m.includes("/lib/container-app"))).toEqual([]);
  });

  test("a second run loads neither Sucrase nor Handlebars' compiler: both outputs are kept", () => {
    const modules = secondVmRun();
    expect(modules).toContain("handlebars/dist/cjs/handlebars.runtime.js");
    expect(modules.filter((m) => m.startsWith("handlebars/dist/cjs/handlebars/compiler/") || m.startsWith("sucrase/dist/"))).toEqual([]);
  });

  test("no archiver: cdktf loads it at start-up only to zip assets, which botfleet has none of", () => {
    const modules = secondVmRun();
    expect(modules).toContain("cdktf/lib/private/fs.js");
    expect(modules.filter((m) => /^(archiver|archiver-utils|zip-stream|compress-commons|readable-stream|glob)\//.test(m) && m !== "archiver/index.js")).toEqual([]);
  });

  test("the stand-in for archiver loads the real one when called, in Node's module cache and under jest", () => {
    const script = `require("./scripts/lazy-archiver"); require("cdktf"); const archiver = require(require.resolve("archiver", { paths: [require.resolve("cdktf")] })); const zip = archiver("zip", {}); console.log(typeof zip.directory, Object.keys(require.cache).some((m) => m.includes("/archiver/lib/core.js")));`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("function true");
    // jest.config.js maps "archiver" to the stand-in.
    expect(typeof require("archiver")("zip", {}).directory).toBe("function");
  });

  test("no zod locales but English: zod loads them all at start-up, only to export them", () => {
    const modules = secondVmRun();
    // index.cjs is there as the stand-in; the real one would have loaded every locale.
    expect(modules.filter((m) => m.startsWith("zod/v4/locales/")).sort()).toEqual(["zod/v4/locales/en.cjs", "zod/v4/locales/index.cjs"]);
  });

  test("the stand-in for zod's locales loads the real ones when one is used", () => {
    const script = `require("./scripts/lazy-zod-locales"); const { z } = require("zod"); const before = Object.keys(require.cache).filter((m) => m.includes("/zod/v4/locales/")).length; z.config(z.locales.fr()); console.log(before, Object.keys(require.cache).filter((m) => m.includes("/zod/v4/locales/")).length > 50, z.string().safeParse(1).error.issues[0].message);`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("2 true Entrée invalide : chaîne de caractères attendu, nombre reçu");
  });

  test("a fleet of Cloud Run bots: no Azure classes", () => {
    const modules = loadedModules("name: demo\ngcp:\n  project: botfleet-demo\nbots:\n  - name: bot-g\n    target: gcp-cloud-run\n    region: us-central1\n");
    expect(providerModules(modules, "provider-google")).toContain("@cdktf/provider-google/lib/cloud-run-v2-service/index.js");
    expect(providerModules(modules, "provider-azurerm")).toEqual([]);
  });
});

describe("the app's TypeScript, transformed once", () => {
  const dir = mkdtempSync(join(tmpdir(), "botfleet-ts-"));
  const file = join(dir, "probe.ts");
  /** Runs `file` as cdktf.json runs main.ts; says what it printed and whether Sucrase was loaded. */
  const runProbe = () => {
    const r = spawnSync(process.execPath, ["-r", join(ROOT, "scripts/ts-register.js"), file], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    return JSON.parse(r.stdout) as { value: number; sucrase: boolean };
  };
  const probe = (value: number) =>
    `// ${dir}\nconst value: number = ${value};\nconsole.log(JSON.stringify({ value, sucrase: Object.keys(require.cache).some((m) => m.includes("/node_modules/sucrase/dist/")) }));\n`;

  test("a file seen before runs from the cache, without Sucrase", () => {
    expect(appArgs().slice(0, 2)).toEqual(["-r", "./scripts/ts-register.js"]);
    writeFileSync(file, probe(1));
    expect(runProbe()).toEqual({ value: 1, sucrase: true });
    expect(runProbe()).toEqual({ value: 1, sucrase: false });
  });

  test("an edited file is transformed again", () => {
    writeFileSync(file, probe(2));
    expect(runProbe()).toEqual({ value: 2, sucrase: true });
    expect(runProbe()).toEqual({ value: 2, sucrase: false });
  });
});
