import { openclaw } from "../runtimes/openclaw";
import { OPENCLAW_PLUGINS, OPENCLAW_VERSION } from "../runtimes/openclaw-pins";
import { BUILTIN_DEFAULTS } from "../config/schema";
import { fleetFrom } from "./support/fleet";

test("the pinned image and the npm release the live suite runs are the same OpenClaw version", () => {
  expect(openclaw.image).toBe(`ghcr.io/openclaw/openclaw:${OPENCLAW_VERSION}`);
  for (const p of Object.values(OPENCLAW_PLUGINS)) expect(p.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
});

describe("the rendered OpenClaw config, in the 2026.9 layout", () => {
  const fleet = fleetFrom(
    `name: demo\nbots:\n  - name: bot-a\n    persona:\n      name: Owl\n    channels:\n      telegram:\n        allowFrom: ["1"]\n      discord:\n        dmPolicy: pairing\n  - name: bot-b\n    model: openrouter/anthropic/claude-haiku-4-5\n`,
  );
  const [a, b] = fleet.bots.map((bot) => openclaw.config(bot, { trustedProxies: ["172.17.0.1"] }) as Record<string, any>);

  test("keys agents by id under entries (agents.list is migrated away)", () => {
    expect(a.agents).toEqual({ defaults: { model: { primary: BUILTIN_DEFAULTS.model }, sandbox: { mode: "off" } }, entries: { main: { identity: { name: "Owl" } } } });
  });

  test("without a Docker engine from the target the sandbox is off in so many words (the VM's merge must override a stored mode)", () => {
    expect(b.agents.defaults.sandbox).toEqual({ mode: "off" });
  });

  test("with one, the sandbox block of docs/gateway/config-agents/sandbox.md: the mode asked for, Docker, no network unless allowed", () => {
    const on = (network: boolean) => (openclaw.config(fleet.bots[0], { trustedProxies: [], sandbox: { mode: "all", network } }) as Record<string, any>).agents.defaults.sandbox;
    expect(on(false)).toEqual({
      mode: "all",
      backend: "docker",
      scope: "agent",
      workspaceAccess: "none",
      docker: { image: "openclaw-sandbox:bookworm-slim", network: "none", readOnlyRoot: true, capDrop: ["ALL"] },
    });
    expect(on(true).docker.network).toBe("bridge");
    expect(openclaw.toolSandbox!.describe({ agents: { defaults: { sandbox: on(false) } } })).toBe("all: tools run in Docker sandbox containers, network none");
    expect(openclaw.toolSandbox!.describe(b)).toBe("off");
  });

  test("enables by name every plugin the bot needs, and only those", () => {
    expect(a.plugins.entries).toEqual({ anthropic: { enabled: true }, telegram: { enabled: true }, discord: { enabled: true } });
    expect(b.plugins.entries).toEqual({ openrouter: { enabled: true } });
  });

  test("names channel tokens as environment SecretRefs, never as values", () => {
    expect(a.channels.telegram.botToken).toEqual({ source: "env", provider: "default", id: "TELEGRAM_BOT_TOKEN" });
    expect(a.channels.discord.token).toEqual({ source: "env", provider: "default", id: "DISCORD_BOT_TOKEN" });
    expect(a.channels.telegram.groupAllowFrom).toEqual(["1"]);
  });

  test("keeps search plugins from being fetched at start, and carries meta so a rewrite is not taken for a clobber", () => {
    expect(b.tools).toEqual({ web: { search: { enabled: false } } });
    expect(a.meta).toEqual({ lastTouchedVersion: OPENCLAW_VERSION });
  });
});

test("on the VM the gateway runs under an init and gets its whole drain budget before it is killed", () => {
  const { renderVmBootstrap } = require("../bootstrap/azure-vm") as typeof import("../bootstrap/azure-vm");
  const { exampleFleet } = require("./support/fleet") as typeof import("./support/fleet");
  const fleet = exampleFleet();
  const files = renderVmBootstrap(fleet, fleet.bots[0], openclaw).files;
  const run = files.find((f) => f.path.endsWith("run-agent.sh"))!.content;
  const unit = files.find((f) => f.path.endsWith("botfleet-agent.service"))!.content;
  expect(run).toMatch(/^\s+--init$/m);
  // The unit stops it through run-agent.sh, on whichever daemon runs it.
  expect(unit).toContain("ExecStop=/usr/local/lib/botfleet/run-agent.sh --stop");
  const dockerStop = Number(/ stop --time (\d+) botfleet-agent$/m.exec(run)![1]);
  const systemdStop = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)![1]);
  // gateway-shutdown-budget.mjs (openclaw 2026.9.6): GATEWAY_SERVICE_STOP_TIMEOUT_MS = 330000.
  expect(dockerStop).toBeGreaterThanOrEqual(330);
  expect(systemdStop).toBeGreaterThan(dockerStop);
});

describe("the fleet loader knows the pinned OpenClaw's models", () => {
  const load = (model: string) => () => fleetFrom(`name: demo\nbots:\n  - name: bot-a\n    model: ${model}\n`);

  test("accepts the default and a catalog model, and any model of a provider that lists its models at run time", () => {
    expect(load(BUILTIN_DEFAULTS.model)).not.toThrow();
    expect(load("anthropic/claude-haiku-4-5")).not.toThrow();
    expect(load("openrouter/anthropic/claude-haiku-4-5")).not.toThrow();
  });

  test("refuses a retired or misspelt model with its close matches", () => {
    expect(load("anthropic/claude-sonnet-4-5")).toThrow(
      /bots\[0\]\.model.*is not a model OpenClaw 2026\.9\.6 knows for anthropic; close matches: anthropic\/claude-sonnet-5, .*\(all: config\/openclaw-models\.json\)/s,
    );
  });

  test("refuses a provider the release bundles no plugin for, which the gateway would fetch from npm", () => {
    expect(load("mistral/mistral-large-latest")).toThrow(/for which OpenClaw 2026\.9\.6 bundles no plugin .*use one of: anthropic, openai, openrouter, google, xai, or runtime nanobot/s);
  });
});
