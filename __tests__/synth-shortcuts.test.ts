import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { appArgs } from "./support/app";
import { ROOT } from "./support/fleet";

/** Each shortcut synth takes must give what the long way gives. */

describe("synth loads the provider classes of the fleet's targets only", () => {
  /** Every module the app loads for `fleetYaml`, relative to node_modules. */
  function loadedModules(fleetYaml: string): string[] {
    const dir = mkdtempSync(join(tmpdir(), "botfleet-modules-"));
    writeFileSync(join(dir, "fleet.yaml"), fleetYaml);
    writeFileSync(
      join(dir, "record.js"),
      `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(join(dir, "modules.json"))}, JSON.stringify(Object.keys(require.cache))));`,
    );
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

  test("a fleet of VM bots: no Google Cloud and no Container Apps classes", () => {
    const modules = loadedModules("name: demo\nbots:\n  - name: bot-a\n    domain: a.example.com\n");
    expect(providerModules(modules, "provider-azurerm")).toContain("@cdktf/provider-azurerm/lib/orchestrated-virtual-machine-scale-set/index.js");
    expect(providerModules(modules, "provider-google")).toEqual([]);
    expect(modules.filter((m) => m.includes("/lib/container-app"))).toEqual([]);
  });

  test("a fleet of Cloud Run bots: no Azure classes", () => {
    const modules = loadedModules("name: demo\ngcp:\n  project: botfleet-demo\nbots:\n  - name: bot-g\n    target: gcp-cloud-run\n    region: us-central1\n");
    expect(providerModules(modules, "provider-google")).toContain("@cdktf/provider-google/lib/cloud-run-v2-service/index.js");
    expect(providerModules(modules, "provider-azurerm")).toEqual([]);
  });
});
