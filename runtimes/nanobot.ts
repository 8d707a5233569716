import type { Bot, ChannelSettings } from "../config/load";
import { MODEL_PROVIDERS, NANOBOT_PROVIDERS } from "../config/schema";
import { commonSecrets, type AgentRuntime } from "./runtime";

const PORT = 18790;
const HOME = "/home/nanobot";
const STATE_DIR = `${HOME}/.nanobot`;

/**
 * nanobot's `allowFrom` carries the whole DM policy: empty means pairing only (v0.2+), ["*"]
 * everyone, a list those users. A disabled channel is switched off.
 */
function channel(c: ChannelSettings, tokenVariable: string) {
  const allowFrom = c.dmPolicy === "open" ? ["*"] : c.dmPolicy === "pairing" ? [] : [...c.allowFrom];
  return { enabled: c.dmPolicy !== "disabled", token: `\${${tokenVariable}}`, allowFrom };
}

/**
 * nanobot (HKUDS/nanobot, the Python agent of seed 000). Config `~/.nanobot/config.json`, camelCase,
 * with `${VAR}` substitution built in, so keys come from the environment and never sit in the file.
 * Its gateway port serves only `GET /health`, and 404 for anything else (HKUDS/nanobot v0.2.0
 * nanobot/cli/commands.py, gateway's `_health_server`: a bare asyncio server, the only listener
 * `nanobot gateway` opens); it has no token of its own, so nothing but health checks ever needs to
 * reach it. Its chat surfaces listen elsewhere and stay off: the OpenAI-compatible API is `nanobot
 * serve` (nanobot/api/server.py), which botfleet never runs, and the WebSocket channel with the web
 * UI is enabled by nothing botfleet writes (channels/websocket.py: `enabled: bool = False`).
 */
export const nanobot: AgentRuntime = {
  id: "nanobot",
  // Not verified that this tag is published; if it is not, build the image from the nanobot
  // repository at that tag, push it to the fleet's registry and set the bot's `image`.
  image: "ghcr.io/hkuds/nanobot:v0.2.0",
  port: PORT,
  healthPath: "/health",
  stateDir: STATE_DIR,
  uid: 1000,
  gid: 1000,
  configFile: "config.json",
  command: ["nanobot", "gateway", "--port", String(PORT)],

  secrets: (bot) => commonSecrets(bot),

  retiredConfigPaths: [],
  plugins: () => [],
  stopTimeoutSeconds: 20,

  environment: () => ({ HOME }),

  config(bot: Bot) {
    const { telegram, discord } = bot.channels;
    return {
      agents: {
        defaults: {
          // On the persistent state volume, so memory and sessions survive restarts.
          workspace: `${STATE_DIR}/workspace`,
          model: bot.model,
          maxTokens: 8192,
          temperature: 0.7,
          maxToolIterations: 20,
        },
      },
      providers: {
        [NANOBOT_PROVIDERS[bot.modelProvider]!]: { apiKey: `\${${MODEL_PROVIDERS[bot.modelProvider]}}` },
      },
      channels: {
        ...(telegram && { telegram: channel(telegram, "TELEGRAM_BOT_TOKEN") }),
        ...(discord && { discord: channel(discord, "DISCORD_BOT_TOKEN") }),
      },
      // 0.0.0.0 inside the container; the VM publishes it on 127.0.0.1 only.
      gateway: { host: "0.0.0.0", port: PORT },
    };
  },

  // The gateway port answers GET /health only: there is nothing behind it to authenticate.
  gatewayAuthProblem: () => undefined,

  // nanobot's image is Python: the standard library serves the waiting text. As the container's
  // PID 1 it would ignore SIGTERM without a handler, and every stop would wait out the grace period.
  waitingServer: [
    "python3",
    "-c",
    [
      "import http.server, os, signal, sys",
      "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))",
      'text = (os.environ["BOTFLEET_WAITING"] + "\\n").encode()',
      "class Waiting(http.server.BaseHTTPRequestHandler):",
      "    def do_GET(self):",
      "        self.send_response(200)",
      '        self.send_header("content-type", "text/plain")',
      "        self.end_headers()",
      "        self.wfile.write(text)",
      "    def log_message(self, *args):",
      "        pass",
      'http.server.HTTPServer(("0.0.0.0", int(os.environ["BOTFLEET_PORT"])), Waiting).serve_forever()',
    ].join("\n"),
  ],
  // urllib raises on a status of 400 and above, and on no answer.
  httpCheck: ["python3", "-c", "import sys, urllib.request\ntry:\n    urllib.request.urlopen(sys.argv[1], timeout=3)\nexcept Exception:\n    sys.exit(1)"],

  logSignals: {
    // nanobot's gateway has no authentication, so nothing to count.
    authFailure: [],
    // python-telegram-bot: "telegram.error.Conflict: Conflict: terminated by other getUpdates request; ..."
    channelDisconnect: ["terminated by other getUpdates request", "Discord gateway disconnected"],
    channelActivity: ["telegram", "discord"],
  },
};
