import { UNSET_SECRET } from "../../runtimes/runtime";
import { fleetFrom } from "./fleet";

/** What the container launcher's suites share (container-launch.test.ts, container-lease.test.ts). */
export const HOSTILE = `it's "quoted" & $HOME \`id\` ${"${PATH}"} | back\\slash\nnew line ünïcødé 🦉`;
export const bot = fleetFrom(`name: demo\nbots:\n  - name: bot-a\n    persona:\n      name: Owl\n      theme: ${JSON.stringify(HOSTILE)}\n    channels:\n      telegram:\n        allowFrom: ["1"]\n`)
  .bots[0];

/**
 * OpenClaw's config check stands in here as a node script with the real one's contract (the image's
 * `openclaw config validate` runs in containers/managed.containers.test.ts): it reads the config
 * from the state directory its environment variable names, and refuses an unknown key.
 */
export const STAND_IN_CHECK = {
  configCheck: [
    process.execPath,
    "-e",
    'const c = JSON.parse(require("node:fs").readFileSync(process.env.OPENCLAW_STATE_DIR + "/openclaw.json", "utf8")); if (c.gateway?.botfleetTestBogus) { console.error("gateway: Unrecognized key: \\"botfleetTestBogus\\""); process.exit(1); }',
  ],
};

/** A ready file as state-sync writes it: its lease proven for `seconds` more. */
export const leaseUntil = (seconds: number) => `${Math.floor(Date.now() / 1000) + seconds}\n`;

/** GET with retries while the server starts. */
export async function getText(url: string): Promise<{ status: number; text: string }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await fetch(url);
      return { status: r.status, text: await r.text() };
    } catch (e) {
      if (attempt > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export const ALL_SET = { OPENCLAW_GATEWAY_TOKEN: "tok'en\"$x", ANTHROPIC_API_KEY: "sk-ant-&|;", TELEGRAM_BOT_TOKEN: "123:abc", BRAVE_API_KEY: UNSET_SECRET };
