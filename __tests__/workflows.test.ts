import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { stackNames } from "../scripts/stacks";
import { exampleFleet, fleetFrom, ROOT } from "./support/fleet";
import { run } from "./support/tools";

const deployGcp = parse(readFileSync(join(ROOT, ".github/workflows/deploy-gcp.yml"), "utf8"));
const steps: { uses?: string; run?: string; with?: Record<string, string> }[] = deployGcp.jobs.deploy.steps;

describe("the Cloud Run deploy workflow", () => {
  test("authenticates with Workload Identity Federation and stores no key", () => {
    expect(deployGcp.permissions).toEqual({ contents: "read", "id-token": "write" });
    const auth = steps.find((s) => s.uses?.startsWith("google-github-actions/auth@"))!;
    expect(Object.keys(auth.with!).sort()).toEqual(["service_account", "workload_identity_provider"]);
    expect(JSON.stringify(deployGcp)).not.toMatch(/credentials_json|GOOGLE_CREDENTIALS|service_account_key/);
  });

  test("deploys exactly the Cloud Run bot stacks, after the tests, one run at a time", () => {
    const names = steps.map((s) => s.uses ?? s.run ?? "");
    const deploy = names.findIndex((n) => n.includes("cdktf deploy"));
    expect(names.findIndex((n) => n.includes("npm test"))).toBeLessThan(deploy);
    expect(names[deploy]).toContain("scripts/stacks.ts --target gcp-cloud-run");
    expect(deployGcp.concurrency["cancel-in-progress"]).toBe(false);
  });
});

describe("scripts/stacks.ts", () => {
  test("lists the bot stacks of a target, or the shared stacks", () => {
    const fleet = exampleFleet();
    expect(stackNames(fleet, { target: "gcp-cloud-run" })).toEqual(["bot-gamma"]);
    expect(stackNames(fleet, { target: "azure-vmss" })).toEqual(["bot-alpha", "bot-beta", "bot-epsilon"]);
    expect(stackNames(fleet, { target: "azure-container-apps" })).toEqual(["bot-delta"]);
    expect(stackNames(fleet, { shared: true })).toEqual(["azure-shared-eastus2", "gcp-shared-us-central1"]);
    expect(stackNames(fleetFrom("name: tf\nbots:\n  - name: bot-a\n"), { target: "gcp-cloud-run" })).toEqual([]);
  });

  test("rejects an unknown target from the command line", () => {
    const r = run(process.execPath, ["-r", "sucrase/register", "scripts/stacks.ts", "--target", "gcp-cloudrun"], { cwd: ROOT });
    expect(r.status).toBe(2);
    expect(r.output).toContain('--target "gcp-cloudrun" is not a target; use one of: azure-vmss, azure-container-apps, gcp-cloud-run');
  });
});
