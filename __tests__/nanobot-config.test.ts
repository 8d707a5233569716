import { nanobot } from "../runtimes/nanobot";
import fields from "./fixtures/nanobot-v0.2.0-config-fields.json";
import { fleetFrom } from "./support/fleet";

/**
 * nanobot cannot run here (PyPI is not reachable, so no live run as for OpenClaw). Its config is
 * checked instead against the field names of its source at the pinned tag (the fixture lists them,
 * extracted from HKUDS/nanobot v0.2.0 nanobot/config/schema.py and nanobot/channels/*.py). Its
 * pydantic models ignore unknown keys, so a misspelt key would be dropped without a word.
 */
const fleet = fleetFrom(
  `name: demo\nbots:\n  - name: bot-n\n    runtime: nanobot\n    channels:\n      telegram:\n        allowFrom: ["1"]\n      discord:\n        dmPolicy: open\n        allowFrom: ["*"]\n` +
    `  - name: bot-m\n    runtime: nanobot\n    model: openrouter/anthropic/claude-haiku-4-5\n`,
);

test.each(fleet.bots.map((b) => [b.name, b]))("%s: every key botfleet writes is one nanobot v0.2.0 reads", (_name, bot) => {
  const config = nanobot.config(bot, { trustedProxies: [] }) as Record<string, any>;
  expect(Object.keys(config).sort()).toEqual(["agents", "channels", "gateway", "providers"]);
  expect(Object.keys(config.agents)).toEqual(["defaults"]);
  for (const key of Object.keys(config.agents.defaults)) expect(fields["agents.defaults"]).toContain(key);
  for (const [name, provider] of Object.entries(config.providers)) {
    expect(fields.providers).toContain(name);
    for (const key of Object.keys(provider as object)) expect(fields["providers.<name>"]).toContain(key);
  }
  for (const key of Object.keys(config.gateway)) expect(fields.gateway).toContain(key);
  for (const [channel, settings] of Object.entries(config.channels)) {
    const known = (fields as unknown as Record<string, string[] | undefined>)[`channels.${channel}`];
    expect(known).toBeDefined();
    for (const key of Object.keys(settings as object)) expect(known).toContain(key);
  }
});

// BF-TLS-1 is suppressed for nanobot bots without a domain on the claim that its gateway port
// serves GET /health only (HKUDS/nanobot v0.2.0 nanobot/cli/commands.py, `_health_server`). Its
// chat surfaces listen elsewhere and only when enabled: the WebSocket channel with the web UI
// (channels/websocket.py, `enabled: bool = False`). So botfleet must never enable it.
test.each(fleet.bots.map((b) => [b.name, b]))("%s: only chat channels that poll out are enabled, never the WebSocket channel and its web UI", (_name, bot) => {
  const config = nanobot.config(bot, { trustedProxies: [] }) as { channels: Record<string, { enabled?: boolean }> };
  const enabled = Object.entries(config.channels)
    .filter(([, c]) => c.enabled)
    .map(([name]) => name);
  for (const name of enabled) expect(["telegram", "discord"]).toContain(name);
  expect(config.channels.websocket?.enabled).not.toBe(true);
});
