import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, request, type Server } from "node:http";
import { get as httpsGet } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import WebSocket, { WebSocketServer } from "ws";
import { RELEASE, renderVmBootstrap, SANDBOX, WAITING_MARKER } from "../bootstrap/azure-vm";
import { nanobot } from "../runtimes/nanobot";
import { openclaw } from "../runtimes/openclaw";
import { WAITING_FOR_SECRETS, type AgentRuntime } from "../runtimes/runtime";
import type { Fleet } from "../config/load";
import { exampleFleet, fleetFrom, ROOT } from "./support/fleet";
import { freePort, startCaddy, testCaddyfile } from "./support/net";
import { requireTool } from "./support/tools";

/**
 * The real caddy binary with the Caddyfile exactly as the bot stack renders it, except: ports moved
 * to free loopback ports, the admin API off, and a local CA instead of Let's Encrypt (no network).
 */
const fleet = exampleFleet();

class StandInGateway {
  server?: Server;
  lastHeaders: Record<string, unknown> = {};
  /** Bytes of the largest request body the gateway received. */
  largestBody = 0;
  constructor(
    readonly port: number,
    readonly healthPath: string,
    readonly healthBody: string,
  ) {}
  async start() {
    this.server = createHttpServer((req, res) => {
      this.lastHeaders = req.headers;
      if (req.url === this.healthPath) {
        res.writeHead(200, { "content-type": "application/json" }).end(this.healthBody);
        return;
      }
      let size = 0;
      req.on("data", (c) => {
        size += c.length;
        this.largestBody = Math.max(this.largestBody, size);
      });
      req.on("end", () => res.writeHead(200).end(JSON.stringify({ url: req.url, size, headers: req.headers })));
    });
    const wss = new WebSocketServer({ server: this.server });
    wss.on("connection", (socket, req) => {
      this.lastHeaders = req.headers;
      socket.on("message", (m) => socket.send(`echo:${m}`));
    });
    await new Promise<void>((r) => this.server!.listen(this.port, "127.0.0.1", r));
  }
  async stop() {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

function get(port: number, path: string, headers: Record<string, string> = {}, body?: Buffer) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: body ? "POST" : "GET", headers }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Each runtime's health answer, as its gateway gives it. */
const HEALTH: Record<string, string> = { openclaw: '{"ok":true,"status":"live"}', nanobot: '{"status":"ok"}' };

/** bot-beta as the example has it, less its domain: the example's OpenClaw bots all have one. */
const plainFleet = fleetFrom(readFileSync(join(ROOT, "fleet.yaml"), "utf8").replace("\n    domain: beta.bots.example.com\n", "\n"));

describe.each([
  ["without a domain (OpenClaw)", plainFleet, "bot-beta", openclaw],
  ["with a domain (OpenClaw)", fleet, "bot-alpha", openclaw],
  ["without a domain (nanobot)", fleet, "bot-epsilon", nanobot],
] as [string, Fleet, string, AgentRuntime][])("Caddy %s", (label, fleet, botName, runtime) => {
  const bot = fleet.bots.find((b) => b.name === botName)!;
  // The label says which branch of the Caddyfile the case covers.
  test("the bot is the kind the label names", () => {
    expect(bot.runtime).toBe(runtime.id);
    expect(Boolean(bot.domain)).toBe(label.startsWith("with a domain"));
  });
  let gateway: StandInGateway;
  let caddy: ChildProcess;
  let httpPort: number;
  let markerDir: string;

  beforeAll(async () => {
    requireTool("caddy", "caddy");
    httpPort = await freePort();
    const httpsPort = await freePort();
    gateway = new StandInGateway(await freePort(), runtime.healthPath, HEALTH[runtime.id]);
    await gateway.start();
    const rendered = renderVmBootstrap(fleet, bot, runtime).files.find((f) => f.path === "/etc/botfleet/Caddyfile")!.content;
    markerDir = mkdtempSync(join(tmpdir(), "botfleet-run-"));
    const moved = testCaddyfile(rendered, httpPort, httpsPort)
      .replaceAll(`127.0.0.1:${runtime.port}`, `127.0.0.1:${gateway.port}`)
      .replaceAll(`root ${dirname(WAITING_MARKER)}\n`, `root ${markerDir}\n`)
      .replace(`root * ${RELEASE.statusDir}\n`, `root * ${markerDir}\n`)
      .replaceAll(`root ${dirname(SANDBOX.offMarker)}\n`, `root ${markerDir}\n`);
    expect(moved).not.toContain(String(runtime.port));
    expect(moved).not.toContain(dirname(WAITING_MARKER));
    expect(moved).not.toContain(`root ${dirname(SANDBOX.offMarker)}`);
    caddy = await startCaddy(moved);
  });
  afterAll(async () => {
    caddy?.kill();
    await gateway?.stop();
  });

  test("/health answers 200 through the plain-HTTP route with the gateway's health", async () => {
    const r = await get(httpPort, "/health", { host: "localhost" });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual(JSON.parse(HEALTH[runtime.id]));
  });

  test("when the gateway is down health fails, and recovers when it is back", async () => {
    await gateway.stop();
    expect((await get(httpPort, "/health")).status).toBeGreaterThanOrEqual(500);
    await gateway.start();
    expect((await get(httpPort, "/health")).status).toBe(200);
  });

  // While fetch-secrets.sh keeps the marker, the bot is waiting, not broken: the scale set's
  // binary health probe must see exactly 200, or it would reimage a VM that only lacks a secret.
  test("while the bot waits for its secrets /health answers 200 with the waiting text, gateway down or not; afterwards the gateway's health again", async () => {
    const marker = join(markerDir, basename(WAITING_MARKER));
    writeFileSync(marker, "bot-x--llm-api-key\n");
    await gateway.stop();
    try {
      const r = await get(httpPort, "/health", { host: "localhost" });
      expect(r).toMatchObject({ status: 200, body: WAITING_FOR_SECRETS });
      expect((await get(httpPort, "/other")).status).not.toBe(200);
    } finally {
      unlinkSync(marker);
      await gateway.start();
    }
    const r = await get(httpPort, "/health", { host: "localhost" });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual(JSON.parse(HEALTH[runtime.id]));
  });

  // Issue 34: an update stops and starts the agent and may roll back; the scale set's repair must
  // not reimage the VM in the middle of it (update.sh keeps the marker only while it runs).
  test("while an update runs /health answers 200 UPDATING, gateway down or not; the status is for local callers only", async () => {
    const marker = join(markerDir, basename(RELEASE.updatingMarker));
    writeFileSync(marker, "");
    await gateway.stop();
    try {
      expect(await get(httpPort, "/health", { host: "localhost" })).toMatchObject({ status: 200, body: RELEASE.updatingText });
    } finally {
      unlinkSync(marker);
      await gateway.start();
    }
    expect(JSON.parse((await get(httpPort, "/health", { host: "localhost" })).body)).toEqual(JSON.parse(HEALTH[runtime.id]));
    writeFileSync(join(markerDir, "status.json"), '{"running":"0123456789ab"}');
    expect(await get(httpPort, "/botfleet/status", { host: "localhost" })).toMatchObject({ status: 200, body: '{"running":"0123456789ab"}' });
  });

  // Sysbox failing leaves the bot degraded, not broken: /health stays the gateway's, and says so.
  test("/health says whether the tool sandbox is on, and off while boot.sh sandbox keeps its marker", async () => {
    const header = async () => (await get(httpPort, "/health", { host: "localhost" })).headers["botfleet-tool-sandbox"];
    if (!runtime.toolSandbox) {
      expect(await header()).toBeUndefined();
      return;
    }
    expect(await header()).toBe("on");
    const marker = join(markerDir, basename(SANDBOX.offMarker));
    writeFileSync(marker, "Sysbox is not installed (step sysbox logged why)\n");
    try {
      const r = await get(httpPort, "/health", { host: "localhost" });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toEqual(JSON.parse(HEALTH[runtime.id]));
      expect(r.headers["botfleet-tool-sandbox"]).toBe(`off: ${SANDBOX.offMarker} says why`);
    } finally {
      unlinkSync(marker);
    }
    expect(await header()).toBe("on");
  });

  if (bot.domain) {
    test("everything else on plain HTTP redirects to HTTPS", async () => {
      const r = await get(httpPort, "/chat?x=1", { host: bot.domain! });
      expect(r.status).toBe(308);
      expect(r.headers.location).toMatch(new RegExp(`^https://${bot.domain!.replace(/\./g, "\\.")}(:\\d+)?/chat\\?x=1$`));
      const other = await get(httpPort, "/chat", { host: "203.0.113.7" });
      expect(other.status).toBe(308);
    });
  } else {
    test("HTTP requests pass through with the forwarding headers the gateway trusts", async () => {
      const r = await get(httpPort, "/api/status", { host: "bot.example" });
      expect(r.status).toBe(200);
      const seen = JSON.parse(r.body);
      expect(seen.url).toBe("/api/status");
      expect(seen.headers).toMatchObject({ "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http", "x-forwarded-host": "bot.example" });
    });

    test("a WebSocket upgrade passes through both ways", async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws`);
      const reply = await new Promise<string>((resolve, reject) => {
        ws.on("open", () => ws.send("ping ☕"));
        ws.on("message", (m) => resolve(String(m)));
        ws.on("error", reject);
      });
      ws.close();
      expect(reply).toBe("echo:ping ☕");
      expect(gateway.lastHeaders).toMatchObject({ upgrade: "websocket", "x-forwarded-for": "127.0.0.1" });
    });

    test("oversized headers and bodies are refused", async () => {
      expect((await get(httpPort, "/x", { "x-big": "a".repeat(20 * 1024) })).status).toBe(431);
      // Caddy 2.6.2 trips the limit while proxying and answers 502 (newer releases say 413);
      // either way the gateway never receives more than 10 MB.
      expect([413, 502]).toContain((await get(httpPort, "/x", {}, Buffer.alloc(11 * 1024 * 1024))).status);
      expect(gateway.largestBody).toBeLessThanOrEqual(10 * 1024 * 1024);
      expect((await get(httpPort, "/x", {}, Buffer.alloc(1024 * 1024))).status).toBe(200);
    });

    // The timeout is in the template's global options, the same for every runtime: measured once.
    if (runtime === openclaw)
      test("a client that stalls while sending headers is cut off by read_header (10 s)", async () => {
        const started = Date.now();
        const closed = await new Promise<number>((resolve) => {
          const socket = connect(httpPort, "127.0.0.1", () => socket.write("GET /x HTTP/1.1\r\nHost: a\r\n"));
          socket.on("close", () => resolve(Date.now() - started));
          socket.on("error", () => undefined);
        });
        expect(closed).toBeGreaterThanOrEqual(9000);
        expect(closed).toBeLessThan(20000);
      }, 30000);
  }
});

describe("the Caddy harness", () => {
  // CI once failed the live suite's TLS connect with "tlsv1 alert internal error": Caddy logs
  // "serving initial configuration" before it obtains a certificate, and until then refuses every
  // handshake. A lock file that another holder refreshed 8 s ago makes Caddy wait about 2 s before
  // issuing (certmagic's file storage treats a lock as stale 10 s after its last update, and polls
  // each second), so the harness must wait for the handshake, not for the log line.
  test("startCaddy returns once each named site's certificate is served, even when issuing it waits on a lock", async () => {
    requireTool("caddy", "caddy");
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    const storage = mkdtempSync(join(tmpdir(), "botfleet-caddy-storage-"));
    mkdirSync(join(storage, "locks"));
    const updated = new Date(Date.now() - 8000).toISOString();
    writeFileSync(join(storage, "locks", "issue_cert_slow.example.com.lock"), JSON.stringify({ created: updated, updated }));
    const caddyfile = testCaddyfile(`{\n\tservers {\n\t}\n\tstorage file_system ${storage}\n}\nslow.example.com {\n\trespond "ok"\n}\n`, httpPort, httpsPort);
    const started = Date.now();
    const caddy = await startCaddy(caddyfile, { certificatesFor: ["slow.example.com"] });
    // The lock took effect: without it Caddy issues within a few milliseconds.
    expect(Date.now() - started).toBeGreaterThan(1000);
    try {
      const status = await new Promise<number | string>((resolve) =>
        httpsGet({ host: "127.0.0.1", port: httpsPort, servername: "slow.example.com", headers: { host: "slow.example.com" }, rejectUnauthorized: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on("error", (e) => resolve(e.message)),
      );
      expect(status).toBe(200);
    } finally {
      caddy.kill();
    }
  });
});
