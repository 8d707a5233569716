import type { Bot } from "../config/load";
import { OPENCLAW_CATALOG } from "../config/openclaw-catalog";
import { OPENCLAW_PLUGINS, OPENCLAW_VERSION } from "./openclaw-pins";
import { commonSecrets, type AgentRuntime, type GatewayContext, type SandboxSettings } from "./runtime";

const PORT = 18789;
const STATE_DIR = "/home/node/.openclaw";

/**
 * The sandbox image the gateway expects by default (docs/gateway/sandboxing/images-and-setup.md in
 * the package): it is not published; sandbox runs fail fast until it is built on the daemon. Built
 * from the package's own inline Dockerfile, with the Debian base pinned by its point release.
 */
const SANDBOX_IMAGE = "openclaw-sandbox:bookworm-slim";
const SANDBOX_DOCKERFILE = `FROM debian:12.12-slim
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends bash ca-certificates curl git jq python3 ripgrep && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --shell /bin/bash sandbox
USER sandbox
WORKDIR /home/sandbox
CMD ["sleep", "infinity"]
`;

/**
 * agents.defaults.sandbox (docs/gateway/config-agents/sandbox.md in the package). The Docker
 * backend drives the `docker` CLI, so it honours DOCKER_HOST (dist/docker-*.mjs keys its daemon on
 * process.env.DOCKER_HOST). Its defaults are written out so the review and the VM's merge see
 * them: no network, read-only root, every capability dropped, one container per agent, and a
 * workspace of its own (the agent's workspace is not mounted).
 */
function sandboxConfig(sandbox: SandboxSettings | undefined) {
  if (!sandbox) return { mode: "off" };
  return {
    mode: sandbox.mode,
    backend: "docker",
    scope: "agent",
    workspaceAccess: "none",
    docker: {
      image: SANDBOX_IMAGE,
      network: sandbox.network ? "bridge" : "none",
      readOnlyRoot: true,
      capDrop: ["ALL"],
      ...(sandbox.limits && { cpus: Number(sandbox.limits.cpus), memory: sandbox.limits.memory, pidsLimit: sandbox.limits.pids }),
    },
  };
}

/**
 * Prints a plugin's install record from the state's SQLite as `{"install": {...}}`, read-only.
 * Not `openclaw plugins inspect`: that loads the plugin against the state and leaves legacy auth
 * rows behind that doctor then reports (measured with 2026.9.6). The record lives in
 * config_machine_state "plugins.installedIndex" (index.installRecords.<id>).
 */
const READ_INSTALL_RECORD = [
  'const { DatabaseSync } = require("node:sqlite");',
  "try {",
  '  const db = new DatabaseSync(process.env.OPENCLAW_STATE_DIR + "/state/openclaw.sqlite", { readOnly: true });',
  '  const row = db.prepare("SELECT value_json FROM config_machine_state WHERE state_key = ?").get("plugins.installedIndex");',
  "  process.stdout.write(JSON.stringify({ install: JSON.parse(row.value_json).index.installRecords[process.argv[1]] }));",
  "} catch {}",
].join("\n");

/**
 * Deletes the gateway owner lease from the state's SQLite. The gateway takes it at start and
 * refuses to start while another holds it, unless its holder is on this host and dead; it expires 5
 * minutes after its last heartbeat (openclaw 2026.9.6 dist/windows-port-pids-*.mjs
 * acquireGatewayOwnerLease, dist/openclaw-state-lease-store-*.mjs
 * reclaimDeadOpenClawStateLeaseInTransaction, STARTUP_MIGRATION_LEASE_TTL_MS). A replica's host name
 * is new at every start, so the lease a previous replica's final snapshot carried (its gateway was
 * still shutting down, or was killed at the end of the grace period) blocked the new gateway for up
 * to 5 minutes: measured on the Cloud Run stand-in (containers/managed.containers.test.ts).
 */
const RELEASE_STALE_OWNER = [
  'const { existsSync } = require("node:fs");',
  'const path = process.env.OPENCLAW_STATE_DIR + "/state/openclaw.sqlite";',
  "if (existsSync(path)) {",
  '  const db = new (require("node:sqlite").DatabaseSync)(path);',
  `  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'state_leases'").get()) {`,
  `    const { changes } = db.prepare("DELETE FROM state_leases WHERE scope = 'gateway-owner'").run();`,
  '    if (changes) console.error("botfleet: released the gateway owner lease of the previous instance");',
  "  }",
  "  db.close();",
  "}",
].join("\n");

/** A secret the gateway reads from its environment, as a SecretRef (doctor calls `${VAR}` plaintext). */
const envSecret = (id: string) => ({ source: "env", provider: "default", id });

/**
 * OpenClaw (formerly MoltBot / Clawdbot). Config schema: openclaw/openclaw src/config/zod-schema.ts
 * (strict: an unknown key stops the gateway), so only keys that schema has are written here.
 */
export const openclaw: AgentRuntime = {
  id: "openclaw",
  image: "ghcr.io/openclaw/openclaw:2026.9.6",
  port: PORT,
  healthPath: "/healthz",
  stateDir: STATE_DIR,
  uid: 1000,
  gid: 1000,
  configFile: "openclaw.json",
  // The image's default command binds loopback inside the container; containers need lan.
  command: ["node", "openclaw.mjs", "gateway", "--bind", "lan", "--port", String(PORT)],

  secrets: (bot) => [
    { key: "gateway-token", env: "OPENCLAW_GATEWAY_TOKEN", required: true, generated: true, description: "Gateway auth token (generated by Terraform)" },
    ...commonSecrets(bot),
    { key: "search-api-key", env: "BRAVE_API_KEY", required: false, description: "Brave Search API key for the web search tool (optional)" },
  ],

  gatewayAuthProblem(config) {
    const mode = (config as { gateway?: { auth?: { mode?: unknown } } }).gateway?.auth?.mode;
    return mode === "token" ? undefined : `sets the gateway's auth mode to ${JSON.stringify(mode) ?? "nothing"}, not "token"`;
  },

  logSignals: {
    // [ws] unauthorized conn=3f2a remote=10.0.0.4 client=openclaw-control-ui webchat reason=token_mismatch
    authFailure: ["[ws] unauthorized"],
    // [telegram] getUpdates conflict: Call to 'getUpdates' failed! (409: Conflict: ...); retrying in 30s.
    // [telegram] [diag] polling cycle error reason=getUpdates conflict ...
    channelDisconnect: ["getUpdates conflict", "polling cycle error", "[discord] disconnected"],
    channelActivity: ["[telegram]", "[discord]"],
  },

  // As the container's PID 1 it would ignore SIGTERM without a handler, and every stop would wait
  // out the platform's whole grace period.
  waitingServer: [
    "node",
    "-e",
    'process.on("SIGTERM", () => process.exit(0)); require("http").createServer((_, res) => { res.writeHead(200, { "content-type": "text/plain" }); res.end(process.env.BOTFLEET_WAITING + "\\n"); }).listen(Number(process.env.BOTFLEET_PORT), "0.0.0.0");',
  ],

  // Node's own fetch (Node 18 on).
  httpCheck: ["node", "-e", "fetch(process.argv[1], { signal: AbortSignal.timeout(3000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));"],

  releaseStaleOwner: ["node", "-e", RELEASE_STALE_OWNER],
  // Offline, about 2.5 s; exit 1 with the issues (e.g. `Unrecognized key`) on a config the gateway
  // would refuse at start (package docs docs/cli/config.md, "config validate").
  configCheck: ["node", "openclaw.mjs", "config", "validate"],
  // Reads and writes the pairing store in the state directly, the gateway running or not
  // (dist/pairing-cli-*.mjs of the package: listChannelPairingRequests, approveChannelPairingCode);
  // about 10 s to start on a 2-core machine.
  pairingCommand: ["node", "openclaw.mjs", "pairing"],
  stateDirEnv: "OPENCLAW_STATE_DIR",
  // The gateway's cache: the Control UI's assets, copied from its package at start. Measured in the
  // container suite: 28 MB in 1,555 files a minute after the first start, 200 times the rest of the
  // state; Cloud Run's final snapshot (10 s between SIGTERM and SIGKILL) took 3.6 to 5.4 s with it.
  regeneratedState: ["cache"],
  // The package needs Node ">=24.16.0 <25 || >=26.1.0" (its package.json `engines`) and uses
  // `node:sqlite` itself, so the image's node runs state-sync as it runs the gateway.
  stateSyncNode: "node",

  // The gateway trusts an external plugin only when its own installer put it in the state from
  // the registry (not a tarball, not a load path); --pin records the exact version.
  plugins: (bot) =>
    bot.channels.discord
      ? [OPENCLAW_PLUGINS.discord].map((p) => ({
          id: p.id,
          spec: `${p.npm}@${p.version}`,
          integrity: p.integrity,
          install: ["node", "openclaw.mjs", "plugins", "install", `npm:${p.npm}@${p.version}`, "--pin", "--force", "--accept-capabilities"],
          inspect: ["node", "-e", READ_INSTALL_RECORD, p.id],
        }))
      : [],

  // 2026.9 moved agents.list to keyed agents.entries.
  retiredConfigPaths: [["agents", "list"]],
  toolSandbox: {
    // The mode every sandbox guide of the package enables (docs/gateway/sandboxing.md "Minimal
    // enable example", docs/install/docker/sandbox-and-troubleshooting.md "Quick enable"): group
    // and channel sessions are sandboxed, the owner's main session is not.
    recommendedMode: "non-main",
    image: SANDBOX_IMAGE,
    dockerfile: SANDBOX_DOCKERFILE,
    dockerHostEnv: "DOCKER_HOST",
    describe(config) {
      const s = (config as { agents?: { defaults?: { sandbox?: { mode?: string; docker?: { network?: string } } } } }).agents?.defaults?.sandbox;
      if (!s?.mode || s.mode === "off") return "off";
      return `${s.mode}: tools run in Docker sandbox containers, network ${s.docker?.network ?? "none"}`;
    },
  },

  // The gateway's own stop policy outside systemd (gateway-shutdown-budget.mjs in the package):
  // drain 315 s + reserve 10 s + exit margin 5 s. Killed sooner, in-flight turns are cut.
  stopTimeoutSeconds: 330,

  environment: (_bot, memoryMiB) => ({
    OPENCLAW_STATE_DIR: STATE_DIR,
    OPENCLAW_GATEWAY_PORT: String(PORT),
    // Half the container's memory for V8's old space: the rest holds the gateway's worker threads
    // (SQLite store, state readers), native memory and its child processes. Measured in the
    // container suite (containers/gateway-memory.containers.test.ts): about 1.0 GB resident idle and
    // 1.6 to 1.75 GB through a busy session, whatever the limit above 2 GiB.
    ...(memoryMiB !== undefined && { NODE_OPTIONS: `--max-old-space-size=${Math.floor(memoryMiB / 2)}` }),
  }),

  config(bot: Bot, gateway: GatewayContext) {
    const { telegram, discord } = bot.channels;
    // The bundled plugin that serves the model provider (the loader refuses providers without one).
    const providerPlugin = OPENCLAW_CATALOG.providers[bot.modelProvider]?.plugin;
    // Every plugin the bot needs is enabled by name: the gateway leaves an external plugin
    // unloaded without explicit trust, and auto-enabling rewrites the config at start.
    const plugins: Record<string, { enabled: true }> = {};
    if (providerPlugin) plugins[providerPlugin] = { enabled: true };
    if (telegram) plugins.telegram = { enabled: true };
    if (discord) plugins[OPENCLAW_PLUGINS.discord.id] = { enabled: true };
    return {
      gateway: {
        mode: "local",
        bind: "lan",
        port: PORT,
        // The token itself comes from OPENCLAW_GATEWAY_TOKEN.
        auth: { mode: "token" },
        trustedProxies: [...gateway.trustedProxies],
        // Required for non-loopback binds (openclaw/openclaw#27473). Without a domain the
        // Control UI is not offered over plain HTTP, where the token would travel in clear.
        controlUi: { allowedOrigins: gateway.publicOrigin ? [gateway.publicOrigin] : [`http://127.0.0.1:${PORT}`] },
      },
      // The 2026.9 layout: agents keyed by id under `entries` (`agents.list` is migrated away).
      agents: {
        // Explicit "off" too: the VM's merge must override a stored config that had it on.
        defaults: { model: { primary: bot.model }, sandbox: sandboxConfig(gateway.sandbox) },
        entries: { main: { identity: { ...bot.persona } } },
      },
      channels: {
        ...(telegram && {
          // groupAllowFrom spelled out as doctor would (it copies allowFrom when it is absent).
          telegram: {
            enabled: true,
            botToken: envSecret("TELEGRAM_BOT_TOKEN"),
            dmPolicy: telegram.dmPolicy,
            allowFrom: [...telegram.allowFrom],
            ...(telegram.allowFrom.length > 0 && { groupAllowFrom: [...telegram.allowFrom] }),
          },
        }),
        ...(discord && {
          discord: { enabled: true, token: envSecret("DISCORD_BOT_TOKEN"), dmPolicy: discord.dmPolicy, allowFrom: [...discord.allowFrom] },
        }),
      },
      // External plugins (Discord) load from the gateway's own install record, which is what it
      // trusts; a plugins.load.paths entry would be an untrusted local override.
      plugins: { entries: plugins },
      // Web search is off: left to auto-detection, an OPENROUTER_API_KEY or BRAVE_API_KEY makes
      // the gateway install a search plugin from npm at every start (not pinned, not checked).
      tools: { web: { search: { enabled: false } } },
      // A config without `meta` that replaces one the gateway wrote is taken for a clobbered
      // write and the last-known-good backup restored (missing-meta-vs-last-good): the launcher's
      // fresh config at each container start would silently lose to the previous one.
      meta: { lastTouchedVersion: OPENCLAW_VERSION },
    };
  },
};
