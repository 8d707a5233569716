import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { POLICY_RULES } from "../contracts/policy-rules";
import { ROOT } from "./support/fleet";
import { run } from "./support/tools";

// The cdktf CLI itself (3 s of CPU to start): a tools suite, in the full run only.

test("`cdktf synth` fails on a broken rule and prints the rule, the resource and the fix", () => {
  const dir = join(ROOT, "__tests__", "fixtures");
  // The binary `npx cdktf` finds, without npx's own half second of start-up.
  const r = run(join(ROOT, "node_modules/.bin/cdktf"), ["synth", "--output", join(tmpdir(), `botfleet-policy-${process.pid}`)], {
    cwd: ROOT,
    env: { ...process.env, BOTFLEET_CONFIG: join(dir, "fleet-without-domain.yaml"), CI: "true" },
  });
  expect(r.status).not.toBe(0);
  expect(r.output).toContain(
    "ERROR [bot-nodomain/scale-set]: BF-TLS-1 [Traffic to the gateway is encrypted] azurerm_orchestrated_virtual_machine_scale_set.scale-set: Caddy serves the gateway over plain HTTP on port 80",
  );
  expect(r.output).toContain(`Fix: ${POLICY_RULES["BF-TLS-1"].fix}`);
  expect(readFileSync(join(dir, "fleet-without-domain.yaml"), "utf8")).not.toContain("suppressions");
});

test("`npm run synth`, the README's command, prints no network error on a machine without a network", () => {
  // cdktf-cli reports each command to checkpoint-api.hashicorp.com unless CHECKPOINT_DISABLE is
  // set (its only switch: cdktf.json has none); offline that printed
  // "[ERROR] ... getaddrinfo ENOTFOUND checkpoint-api.hashicorp.com".
  const out = mkdtempSync(join(tmpdir(), "botfleet-offline-"));
  const env: NodeJS.ProcessEnv = { ...process.env, CI: "true", NODE_OPTIONS: `--require ${join(ROOT, "__tests__/fixtures/offline.js")}` };
  delete env.CHECKPOINT_DISABLE;
  // A Terraform CLI configuration that names a missing file makes cdktf print an [ERROR] of its own.
  delete env.TF_CLI_CONFIG_FILE;
  try {
    const r = run("npm", ["run", "--silent", "synth", "--", "--output", out], { cwd: ROOT, env });
    expect(r.output).not.toMatch(/ENOTFOUND|EAI_AGAIN|checkpoint|\[ERROR\]/);
    expect(r.status).toBe(0);
    expect(readFileSync(join(out, "manifest.json"), "utf8")).toContain("bot-alpha");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("`npm run synth` prints each problem of a bad fleet file once, without cdktf's error report after it", () => {
  const dir = mkdtempSync(join(tmpdir(), "botfleet-once-"));
  const fleet = join(dir, "fleet.yaml");
  writeFileSync(fleet, "name: demo\nbots:\n  - name: bot-a\n    tier: huge\n");
  const env: NodeJS.ProcessEnv = { ...process.env, CI: "true", BOTFLEET_CONFIG: fleet };
  delete env.TF_CLI_CONFIG_FILE;
  try {
    const r = run("npm", ["run", "--silent", "synth", "--", "--output", join(dir, "cdktf.out")], { cwd: ROOT, env });
    expect(r.status).toBe(1);
    expect(r.output).toBe(`botfleet: ${fleet}: 1 problem\n  line 4: bots[0].tier: "huge" is not allowed; use one of: light, standard, performance\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
