import { decodeCustomData } from "../tfjson/terraform-json";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { containerLaunch } from "../bootstrap/container";
import { renderVmBootstrap } from "../bootstrap/azure-vm";
import { RUNTIMES, TARGETS } from "../config/schema";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import { nanobot } from "../runtimes/nanobot";
import { FleetConfigError } from "../config/load";
import { fleetFrom, resources, ROOT, synthFleet, type StackJson } from "./support/fleet";

const REGION: Record<string, string> = { "azure-vmss": "eastus2", "azure-container-apps": "eastus2", "gcp-cloud-run": "us-central1" };
const pairs = TARGETS.flatMap((target) => RUNTIMES.map((runtime) => [target, runtime] as const));
const matrix = fleetFrom(
  `name: mx\ngcp:\n  project: mx-project-1\nbots:\n` +
    pairs
      .map(([target, runtime], i) => `  - name: bot-${i}\n    target: ${target}\n    runtime: ${runtime}\n    region: ${REGION[target]}\n    channels:\n      telegram:\n        allowFrom: ["1"]\n`)
      .join(""),
);
const { stacks } = synthFleet(matrix);

/** The image, port and health path a bot stack runs its gateway with, whatever the target. */
function gatewayOf(stack: StackJson): { image: string; port: number; health: string } {
  const [vm] = resources(stack, "azurerm_orchestrated_virtual_machine_scale_set");
  if (vm) {
    const files = parse(decodeCustomData(vm.os_profile.custom_data)).write_files as { path: string; content: string }[];
    const run = files.find((f) => f.path.endsWith("run-agent.sh"))!.content;
    const caddy = files.find((f) => f.path.endsWith("Caddyfile"))!.content;
    return {
      image: /^\s+'([^']+)'( '[^']*')*$/m.exec(run)![1],
      port: Number(/--publish '127\.0\.0\.1:(\d+):/.exec(run)![1]),
      health: /rewrite \* (\S+)/.exec(caddy)![1],
    };
  }
  const [app] = resources(stack, "azurerm_container_app");
  if (app) {
    const c = app.template.container[0];
    return { image: c.image, port: app.ingress.target_port, health: c.liveness_probe[0].path };
  }
  const c = resources(stack, "google_cloud_run_v2_service")[0].template.containers[0];
  return { image: c.image, port: c.ports.container_port, health: c.liveness_probe.http_get.path };
}

describe("every target runs every runtime", () => {
  test.each(pairs.map(([t, r], i) => [t, r, `bot-${i}`]))("%s with %s", (_target, runtime, name) => {
    const described = RUNTIME_DESCRIPTIONS[runtime as keyof typeof RUNTIME_DESCRIPTIONS];
    const gateway = gatewayOf(stacks[name]);
    expect(gateway.image.endsWith(described.image.replace(/^ghcr\.io\//, ""))).toBe(true);
    expect(gateway.port).toBe(described.port);
    expect(gateway.health).toBe(described.healthPath);
  });

  test("no target or bootstrap code branches on a runtime's name", () => {
    const dirs = ["constructs", "bootstrap", ...TARGETS.map((t) => `targets/${t}`)];
    for (const dir of dirs)
      for (const file of readdirSync(join(ROOT, dir))) {
        const text = readFileSync(join(ROOT, dir, file), "utf8");
        for (const runtime of RUNTIMES) expect(`${dir}/${file}: ${text.includes(`"${runtime}"`)}`).toBe(`${dir}/${file}: false`);
        expect(text).not.toMatch(/runtime\.id\s*[!=]==/);
      }
  });

  test("no code outside targets/ names a target: it loops over the registry (targets/index.ts)", () => {
    // Source folders; tests and live tests name targets to exercise them.
    const skip = new Set(["targets", "node_modules", "cdktf.out", "__tests__", "live", ".git"]);
    const files = sourceFiles().filter((path) => !skip.has(path.split("/")[0]));
    expect(files).toEqual(expect.arrayContaining(["config/schema.ts", "constructs/fleet.ts", "policy/rules.ts", "review/stack-review.ts", "scripts/deploy-changed.sh", "main.ts"]));
    const literal = new RegExp(`["'\`](${TARGETS.join("|")})["'\`]`);
    const named = files.filter((path) => literal.test(readFileSync(join(ROOT, path), "utf8")));
    expect(named).toEqual([]);
  });
});

/** Code files of the repository, relative to it, outside node_modules and build output. */
function sourceFiles(dir = ""): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) return ["node_modules", "cdktf.out", ".git"].includes(e.name) ? [] : sourceFiles(path);
    return /\.(ts|js|mjs|sh)$/.test(e.name) ? [path] : [];
  });
}

describe("nanobot's config", () => {
  const HOSTILE = [`it's "q" & $HOME`, "`id`", "${PATH}", "back\\slash", "ünï 🦉", "a\nb"];
  const bot = fleetFrom(
    `name: demo\nbots:\n  - name: bot-n\n    runtime: nanobot\n    model: google/gemini-2.5-pro\n    channels:\n      telegram:\n        allowFrom: ${JSON.stringify(HOSTILE)}\n      discord:\n        dmPolicy: open\n        allowFrom: ["*"]\n`,
  ).bots[0];
  const config = nanobot.config(bot, { trustedProxies: [] }) as any;

  test("has the current schema: agents.defaults, providers, channels, gateway on 0.0.0.0:18790", () => {
    expect(Object.keys(config).sort()).toEqual(["agents", "channels", "gateway", "providers"]);
    expect(config.agents.defaults).toEqual({ workspace: "/home/nanobot/.nanobot/workspace", model: "google/gemini-2.5-pro", maxTokens: 8192, temperature: 0.7, maxToolIterations: 20 });
    expect(config.agents.defaults).not.toHaveProperty("memoryWindow");
    expect(config.gateway).toEqual({ host: "0.0.0.0", port: 18790 });
  });

  test("takes keys from the environment through nanobot's ${VAR} substitution, never as values", () => {
    expect(config.providers).toEqual({ gemini: { apiKey: "${GEMINI_API_KEY}" } });
    expect(config.channels.telegram.token).toBe("${TELEGRAM_BOT_TOKEN}");
    expect(config.channels.discord.token).toBe("${DISCORD_BOT_TOKEN}");
    expect(
      nanobot
        .secrets(bot)
        .map((s) => s.env)
        .sort(),
    ).toEqual(["DISCORD_BOT_TOKEN", "GEMINI_API_KEY", "TELEGRAM_BOT_TOKEN"]);
  });

  test("maps each DM policy onto allowFrom: a list, everyone, empty (pairing only) or the channel off", () => {
    expect(config.channels.telegram).toMatchObject({ enabled: true, allowFrom: HOSTILE });
    expect(config.channels.discord).toMatchObject({ enabled: true, allowFrom: ["*"] });
    const policies = fleetFrom("name: demo\nbots:\n  - name: bot-p\n    runtime: nanobot\n    channels:\n      telegram:\n        dmPolicy: pairing\n      discord:\n        dmPolicy: disabled\n")
      .bots[0];
    const c = nanobot.config(policies, { trustedProxies: [] }) as any;
    expect(c.channels.telegram).toMatchObject({ enabled: true, allowFrom: [] });
    expect(c.channels.discord).toMatchObject({ enabled: false });
  });

  test("keeps hostile values intact through the VM's cloud-init and the container launcher", () => {
    const vm = renderVmBootstrap(fleetFrom("name: demo\nbots:\n  - name: bot-n\n"), bot, nanobot);
    const written = (parse(vm.cloudConfig).write_files as { path: string; content: string }[]).find((f) => f.path === "/etc/botfleet/agent-config.json")!;
    expect(JSON.parse(written.content)).toEqual(config);
    const launch = containerLaunch(bot, nanobot, { trustedProxies: [] }, "");
    expect(JSON.parse(launch.environment.BOTFLEET_AGENT_CONFIG)).toEqual(config);
    expect(launch.environment.BOTFLEET_CONFIG_PATH).toBe("/home/nanobot/.nanobot/config.json");
  });

  test("runs nanobot's gateway as the image's user, published on 127.0.0.1 only on a VM", () => {
    const vm = renderVmBootstrap(fleetFrom("name: demo\nbots:\n  - name: bot-n\n"), bot, nanobot);
    const run = vm.files.find((f) => f.path.endsWith("run-agent.sh"))!.content;
    expect(run).toContain("--publish '127.0.0.1:18790:18790'");
    expect(run).toContain("--user '1000:1000'");
    expect(run).toContain("--entrypoint 'nanobot'");
    expect(run).toMatch(/^\s+'ghcr\.io\/hkuds\/nanobot:v0\.2\.0' 'gateway' '--port' '18790'$/m);
  });

  test("rejects a model provider nanobot has no section for", () => {
    expect(() => fleetFrom("name: demo\nbots:\n  - name: bot-n\n    runtime: nanobot\n    model: mistral/mistral-large\n")).toThrow(FleetConfigError);
    expect(() => fleetFrom("name: demo\nbots:\n  - name: bot-n\n    runtime: nanobot\n    model: mistral/mistral-large\n")).toThrow(
      /bots\[0\]\.model: "mistral\/mistral-large" uses provider "mistral", which nanobot has no section for; use one of: anthropic, openai, openrouter, deepseek, groq, google, or runtime openclaw/,
    );
  });
});
