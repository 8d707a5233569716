import { decodeCustomData } from "../tfjson/terraform-json";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { renderVmBootstrap, type VmBootstrap } from "../bootstrap/azure-vm";
import { shellQuote } from "../bootstrap/templates";
import { nanobot } from "../runtimes/nanobot";
import { openclaw } from "../runtimes/openclaw";
import { exampleFleet, fleetFrom } from "./support/fleet";
import { requireTool, run } from "./support/tools";
import { layOutVmFiles } from "./support/vm";

const HOSTILE_THEME = `Says "hi" & 'bye', costs $5 (\${HOME} \`id\` $(id)), café ☕ 日本語 — back\\slash | pipe / slash\nsecond line: {{not a template}} # not a comment`;
const HOSTILE_FLEET = `
name: demo
bots:
  - name: bot-hostile
    persona:
      name: "Zoë \\"Q\\" O'Brien & Co"
      theme: ${JSON.stringify(HOSTILE_THEME)}
      emoji: "🤖"
    channels:
      telegram:
        allowFrom: ["123", "@o'neil", "a&b", "$USER", "ünï"]
      discord:
        dmPolicy: open
        allowFrom: ["*"]
`;

const fleet = exampleFleet();
const cases: Record<string, VmBootstrap> = {
  "bot-alpha (domain)": renderVmBootstrap(fleet, fleet.bots[0], openclaw),
  "bot-beta (no domain)": renderVmBootstrap(fleet, fleet.bots[1], openclaw),
  "bot-hostile (quotes, $, &, unicode)": renderVmBootstrap(fleetFrom(HOSTILE_FLEET), fleetFrom(HOSTILE_FLEET).bots[0], openclaw),
  "bot-epsilon (nanobot)": renderVmBootstrap(
    fleet,
    fleet.bots.find((b) => b.name === "bot-epsilon")!,
    nanobot,
  ),
  "bot-hostile (nanobot)": renderVmBootstrap(fleetFrom(HOSTILE_FLEET), { ...fleetFrom(HOSTILE_FLEET).bots[0], runtime: "nanobot" }, nanobot),
};

function layOut(b: VmBootstrap): string {
  const root = layOutVmFiles(b, "botfleet-vm-");
  writeFileSync(join(root, "cloud-config.yaml"), b.cloudConfig);
  return root;
}

describe.each(Object.entries(cases))("%s", (_name, bootstrap) => {
  const root = layOut(bootstrap);

  test("cloud-init schema accepts the cloud-config", () => {
    requireTool("cloud-init", "cloud-init");
    const r = run("cloud-init", ["schema", "--config-file", join(root, "cloud-config.yaml")]);
    expect(r.output).toContain("Valid cloud-config");
    expect(r.status).toBe(0);
  });

  test("caddy validate accepts the Caddyfile", () => {
    requireTool("caddy", "caddy");
    const r = run("caddy", ["validate", "--adapter", "caddyfile", "--config", join(root, "etc/botfleet/Caddyfile")]);
    expect(r.output).toContain("Valid configuration");
    expect(r.status).toBe(0);
  });

  test("shellcheck finds nothing in any rendered script", () => {
    requireTool("shellcheck", "shellcheck");
    const scripts = bootstrap.files.filter((f) => f.path.endsWith(".sh")).map((f) => join(root, f.path));
    // Seven everywhere (the updater's among them), the sandbox daemon's where the bot has a tool
    // sandbox, and pair.sh where its runtime has a pairing command.
    const has = (suffix: string) => bootstrap.files.some((f) => f.path.endsWith(suffix));
    expect(scripts).toHaveLength(7 + (has("/botfleet-sandbox.service") ? 1 : 0) + (has("/pair.sh") ? 1 : 0));
    const r = run("shellcheck", ["--external-sources", "--shell=bash", "--severity=style", ...scripts], { cwd: join(root, "usr/local/lib/botfleet") });
    expect(r.output).toBe("");
    expect(r.status).toBe(0);
  });

  test("every script parses as bash", () => {
    for (const f of bootstrap.files.filter((file) => file.path.endsWith(".sh"))) expect([f.path, run("bash", ["-n", join(root, f.path)]).output]).toEqual([f.path, ""]);
  });

  test("systemd parses the units", () => {
    requireTool("systemd-analyze", "systemd");
    const units = bootstrap.files.filter((f) => /\.(service|mount)$/.test(f.path)).map((f) => join(root, f.path));
    const r = run("systemd-analyze", ["verify", ...units]);
    // Exit status is unreliable without the binaries the units name; parse errors are what counts.
    expect(r.output).not.toMatch(/Unknown (key|section)|Failed to parse|Invalid|bad-setting|Missing '='/i);
  });
});

describe("hostile values render intact", () => {
  const hostile = cases["bot-hostile (quotes, $, &, unicode)"];

  test("the cloud-config is YAML whose files hold the agent config as valid JSON with the exact values", () => {
    const doc = parse(hostile.cloudConfig) as { write_files: { path: string; content: string }[] };
    const config = JSON.parse(doc.write_files.find((f) => f.path === "/etc/botfleet/agent-config.json")!.content);
    expect(config.agents.entries.main.identity).toEqual({ name: `Zoë "Q" O'Brien & Co`, theme: HOSTILE_THEME, emoji: "🤖" });
    expect(config.channels.telegram.allowFrom).toEqual(["123", "@o'neil", "a&b", "$USER", "ünï"]);
    expect(config.channels.discord).toMatchObject({ dmPolicy: "open", allowFrom: ["*"] });
  });

  test("base64 custom data decodes to the same bytes (unicode survives)", () => {
    expect(decodeCustomData(hostile.customData)).toBe(hostile.cloudConfig);
  });

  test("shell quoting round-trips any value through bash", () => {
    for (const value of [HOSTILE_THEME, "it's", "", "$(rm -rf /)", "a\nb", "'''"]) {
      const r = run("bash", ["-c", `printf '%s' ${shellQuote(value)}`]);
      expect(r.output).toBe(value);
    }
  });
});
