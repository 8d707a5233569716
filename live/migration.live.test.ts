import { readFileSync, writeFileSync, mkdirSync, chmodSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { renderVmBootstrap } from "../bootstrap/azure-vm";
import { extractOpenclawCatalog, OPENCLAW_CATALOG } from "../config/openclaw-catalog";
import { openclaw } from "../runtimes/openclaw";
import { OPENCLAW_VERSION } from "../runtimes/openclaw-pins";
import { fleetFrom } from "../__tests__/support/fleet";
import { layOutVmFiles } from "../__tests__/support/vm";
import { cli, doctorFindings, liveInstall, requirePrivateNetwork } from "./support";

requirePrivateNetwork();

test("the installed package is the pinned release, and its model catalog is the one the fleet loader reads", () => {
  const { pkg } = liveInstall();
  expect(JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).version).toBe(OPENCLAW_VERSION);
  expect(extractOpenclawCatalog(pkg)).toEqual(OPENCLAW_CATALOG);
});

/**
 * A reimage or repair reruns boot.sh's config merge over a state the runtime has migrated: the
 * merged config must stay valid and the fleet file's values must win.
 */
test("the VM's config merge survives the runtime's own migration, and the fleet file's values win", () => {
  const yaml = (name: string) => `name: demo\nbots:\n  - name: bot-a\n    persona:\n      name: ${name}\n    channels:\n      telegram:\n        allowFrom: ["123456789"]\n`;
  const before = fleetFrom(yaml("Old Name"));
  const root = layOutVmFiles(renderVmBootstrap(before, before.bots[0], openclaw), "botfleet-live-merge-");
  const stateDir = join(root, "var/lib/botfleet/state");
  const target = join(stateDir, "openclaw.json");
  const env = { HOME: root, OPENCLAW_STATE_DIR: stateDir, OPENCLAW_GATEWAY_TOKEN: "t".repeat(48), TELEGRAM_BOT_TOKEN: `123456789:AAE${"example".repeat(5)}`.slice(0, 45), ANTHROPIC_API_KEY: "test" };
  const boot = (r: string) => {
    const out = spawnSync("bash", [join(r, "usr/local/lib/botfleet/boot.sh"), "config"], {
      env: { PATH: process.env.PATH, BOTFLEET_ROOT: r, BOTFLEET_LIB: join(r, "usr/local/lib/botfleet") },
      encoding: "utf8",
    });
    expect(out.status).toBe(0);
  };

  // A state an older botfleet wrote in the retired layout, which the runtime then migrated.
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const old = JSON.parse(readFileSync(join(root, "etc/botfleet/agent-config.json"), "utf8"));
  old.agents = { defaults: { model: { primary: "anthropic/claude-sonnet-4-5" } }, list: [{ id: "main", identity: { name: "Old Name" } }] };
  writeFileSync(target, JSON.stringify(old), { mode: 0o600 });
  chmodSync(stateDir, 0o700);
  const fix = cli(["doctor", "--fix", "--non-interactive"], env);
  expect(fix.output).toContain("Moved agents.list to keyed agents.entries");
  const migrated = JSON.parse(readFileSync(target, "utf8"));
  expect(migrated.agents).not.toHaveProperty("list");
  expect(migrated.agents.entries.main.identity.name).toBe("Old Name");

  // The persona is renamed in the fleet file; a reimage lays the new render over the migrated state.
  const after = fleetFrom(yaml("New Name"));
  const rendered = renderVmBootstrap(after, after.bots[0], openclaw).files.find((f) => f.path === "/etc/botfleet/agent-config.json")!;
  writeFileSync(join(root, rendered.path), rendered.content);
  boot(root);
  const merged = JSON.parse(readFileSync(target, "utf8"));
  expect(merged.agents.entries.main.identity.name).toBe("New Name");
  expect(merged.agents.defaults.model.primary).toBe(after.bots[0].model);
  expect(merged.agents).not.toHaveProperty("list");

  // The runtime finds the merged config valid and nothing to migrate.
  const validate = cli(["config", "validate"], env);
  expect(validate.status).toBe(0);
  const configFindings = doctorFindings(env).filter((f) => f.severity !== "info" && /config|legacy|migration/.test(f.checkId));
  expect(configFindings).toEqual([]);
  // A second merge changes nothing.
  boot(root);
  expect(JSON.parse(readFileSync(target, "utf8"))).toEqual(merged);
});
