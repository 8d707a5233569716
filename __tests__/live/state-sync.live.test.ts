/**
 * The state-sync engine (state-sync/state-sync.mjs) with real components on loopback: Node 24
 * (`npm run setup:node24`), real SQLite under write load, Azurite as Azure Blob Storage in its
 * OAuth mode over HTTPS (bearer tokens from a stand-in of the Container Apps identity endpoint),
 * and a stand-in of the Cloud Storage JSON API for the GCS lock protocol. Run with
 * `npm run test:state-sync`; not part of plain `npm test`.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, symlinkSync, watch, writeFileSync } from "node:fs";
import type { IncomingMessage, Server } from "node:http";
import { createServer as createHttpsServer, request as httpsRequest, type Server as HttpsServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STATE_SYNC_COMMAND } from "../../bootstrap/state-sync";
import { GcsStandIn } from "../support/gcs-stand-in";
import { freePort, identityEndpoint, killChildren, NODE24, Proc, requireNode24, selfSignedCert, shiftedClock, sleep, startAzurite as startLiveAzurite } from "../support/live-process";

const ROOT = join(__dirname, "..", "..");
const LEASE = 15; // Azure's shortest lease; the deployed default is 60 s.
const INTERVAL = 2;
const work = mkdtempSync(join(tmpdir(), "botfleet-state-sync-"));

jest.setTimeout(240_000);

beforeAll(requireNode24);
afterAll(() => {
  killChildren();
  rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Azure: Azurite (OAuth "basic": HTTPS, bearer tokens checked for issuer, audience and lifetime).
let tls: { cert: string; key: string };
let cert = "";
let azuritePort = 0;
let azurite: Proc | undefined;
let identity: Server;
const identityRequests: { url: string; headers: Record<string, unknown> }[] = [];
const IDENTITY_HEADER = "identity-header-secret";
/** Seconds a token of the identity stand-in lives (Azure's are an hour or more). */
let tokenLifetime = 3600;
const CLIENT_ID = "22222222-2222-2222-2222-222222222222";
const MSI_RES_ID = "/subscriptions/s/resourceGroups/rg-demo-eastus2/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-bot";

async function startAzurite() {
  azurite = await startLiveAzurite(azuritePort, join(work, "azurite"), tls);
}
async function stopAzurite() {
  azurite!.proc.kill("SIGTERM");
  await azurite!.exited;
}

beforeAll(async () => {
  tls = selfSignedCert(work);
  cert = tls.cert;
  azuritePort = await freePort();
  await startAzurite();
  // The Container Apps managed identity endpoint, as the platform serves it to the app's
  // containers; the same server plays the VM's instance metadata service (header Metadata: true).
  identity = await identityEndpoint(IDENTITY_HEADER, identityRequests, () => tokenLifetime);
});
afterAll(async () => {
  identity?.close();
  if (azurite && azurite.proc.exitCode === null) await stopAzurite();
});

let containers = 0;
/** A fresh container in Azurite, as the bot stack's `state-<bot>` container. */
function azureBot() {
  const base = `https://127.0.0.1:${azuritePort}/devstoreaccount1/state-bot-${++containers}`;
  const created = harness("create-container", base);
  expect(created.status).toBe(201);
  return base;
}

function harness(command: string, base: string, ...args: string[]) {
  const r = spawnSync(NODE24, [join(ROOT, "__tests__", "support", "state-harness.mjs"), command, base, ...args], { encoding: "utf8", env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: cert } });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

let instances = 0;
/** One instance of the bot: a fresh local state directory (a new replica's EmptyDir) and its sync. */
function instance(store: string, env: NodeJS.ProcessEnv = {}, dir = join(work, `instance-${++instances}`, "state"), wrap: string[] = []) {
  const common = { STATE_SYNC_DIR: dir, STATE_SYNC_STORE: store, STATE_SYNC_LEASE_SECONDS: String(LEASE), STATE_SYNC_INTERVAL_SECONDS: String(INTERVAL), STATE_SYNC_RETRY_SECONDS: "1" };
  const azure = store.startsWith("azure:")
    ? { NODE_EXTRA_CA_CERTS: cert, IDENTITY_ENDPOINT: `http://127.0.0.1:${(identity.address() as { port: number }).port}/msi/token`, IDENTITY_HEADER, STATE_SYNC_CLIENT_ID: CLIENT_ID }
    : {};
  // Exactly the command the stacks render (the loader and the packed source), on Node 24.
  // `wrap`: a command that runs the engine (in a memory cgroup, on a shifted clock).
  const [cmd, ...args] = [...wrap, NODE24, ...STATE_SYNC_COMMAND.slice(1)];
  const sync = new Proc(cmd, args, { STATE_SYNC_MAIN: "1", ...common, ...azure, ...env });
  return { dir, sync, ready: join(dir, ".botfleet-state-ready") };
}

async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  for (const start = Date.now(); !check(); await sleep(200)) if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/** The agent stand-in, started as the launcher does: only once the ready file exists. */
async function agent(i: { dir: string; ready: string; sync: Proc }, rowsPerSecond?: number) {
  await i.sync.waitFor(/state ready/, "restore before the agent starts");
  expect(existsSync(i.ready)).toBe(true);
  return new Proc(NODE24, [join(ROOT, "__tests__", "support", "state-writer.mjs"), i.dir, ...(rowsPerSecond ? [String(rowsPerSecond)] : [])], {});
}

/** A bot whose store holds a snapshot of an agent's writes, and those rows; nothing is running. */
async function seededAzureBot(): Promise<{ base: string; goodRows: ReturnType<typeof localRows> }> {
  const base = azureBot();
  const seed = instance(`azure:${base}`);
  const w = await agent(seed);
  await seed.sync.waitFor(/periodic snapshot/, "seed state");
  w.proc.kill("SIGTERM");
  await w.exited;
  seed.sync.proc.kill("SIGTERM");
  await seed.sync.exited;
  return { base, goodRows: localRows(seed.dir) };
}

/**
 * The agent stopped, then its engine (a graceful stop: exit 0), then the store restored on another
 * instance: it has every row the agent wrote. Returns those rows and the stopped engine's log.
 */
async function stopAndRestoreElsewhere(store: string, writer: Proc, holder: ReturnType<typeof instance>) {
  writer.proc.kill("SIGTERM");
  await writer.exited;
  const rows = localRows(holder.dir);
  holder.sync.proc.kill("SIGTERM");
  expect(await holder.sync.exited).toBe(0);
  const elsewhere = instance(store);
  await elsewhere.sync.waitFor(/state ready/, "restore on another instance");
  const restored = localRows(elsewhere.dir);
  // What both engines said, when they disagree (a diagnosis needs both logs).
  if (JSON.stringify(restored) !== JSON.stringify(rows)) console.log(`stopped engine:\n${holder.sync.log.split("\n").slice(-40).join("\n")}\nengine elsewhere:\n${elsewhere.sync.log}`);
  expect(restored).toEqual(rows);
  elsewhere.sync.proc.kill("SIGTERM");
  await elsewhere.sync.exited;
  return restored;
}

function localRows(dir: string) {
  const r = spawnSync(
    NODE24,
    [
      "--input-type=module",
      "-e",
      `
    import { DatabaseSync } from "node:sqlite";
    const db = new DatabaseSync(${JSON.stringify(join(dir, "state", "agent.sqlite"))});
    const check = db.prepare("PRAGMA integrity_check").get();
    const rows = db.prepare("SELECT count(*) AS n, max(seq) AS max, max(t) AS t FROM events").get();
    console.log(JSON.stringify({ check: Object.values(check)[0], ...rows }));`,
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { check: string; n: number; max: number; t: number };
}

/** States for the large-state test, in MB (comma-separated in STATE_SYNC_LARGE_MB). */
const LARGE_MB = (process.env.STATE_SYNC_LARGE_MB ?? "100").split(",").map(Number);
const MEMORY_LIMIT_MIB = 176;
/** What the engine's peak resident memory stays under, whatever the state's size (measured: docs/testing.md). */
const PEAK_BOUND_MIB = 160;

/** A cgroup v1 memory cgroup limited to `limitMiB` (page cache counted, reclaimed under the limit). */
function memoryCgroup(name: string, limitMiB: number) {
  const path = join("/sys/fs/cgroup/memory", name);
  mkdirSync(path);
  writeFileSync(join(path, "memory.limit_in_bytes"), String(limitMiB * 1024 * 1024));
  return {
    path,
    /** Runs a command in the cgroup: the shell joins it, then becomes the command (exec). */
    wrap: ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', path],
    oomKills: () => Number(/oom_kill (\d+)/.exec(readFileSync(join(path, "memory.oom_control"), "utf8"))?.[1] ?? 0),
    remove: () => rmdirSync(path),
  };
}

/** A process's peak resident memory (VmHWM), in MiB. */
function peakMiB(pid: number) {
  return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024);
}

const snapshotLine = /periodic snapshot (\S+): .* (\d+) ms$/;

describe("state-sync on Azure Blob Storage (Azurite, OAuth over HTTPS)", () => {
  test("kill -9 mid-write: the next instance waits for the dead one's lease to expire, restores a sound database, loses at most one interval plus an upload", async () => {
    const base = azureBot();
    const first = instance(`azure:${base}`);
    const writer = await agent(first);
    await first.sync.waitFor(/periodic snapshot/, "a first snapshot");
    // Two more snapshots under load, then the instance dies mid-write: no final snapshot, no release.
    const seen = first.sync.count(snapshotLine);
    for (let i = 0; first.sync.count(snapshotLine) < seen + 2 && i < 600; i++) await sleep(100);
    const lastSnapshot = [...first.sync.out].reverse().find((l) => snapshotLine.test(l))!;
    const lastSnapshotAt = Date.parse(lastSnapshot.split(" ")[0]) - Number(snapshotLine.exec(lastSnapshot)![2]);
    writer.proc.kill("SIGKILL");
    first.sync.proc.kill("SIGKILL");
    const killedAt = Date.now();
    const beforeKill = localRows(first.dir);
    expect(beforeKill.check).toBe("ok");

    const second = instance(`azure:${base}`);
    await second.sync.waitFor(/waiting for the lease .*another instance holds the blob lease/, "the lease still held by the dead instance");
    expect(existsSync(second.ready)).toBe(false);
    await second.sync.waitFor(/state ready/, "the lease expires and the state is restored");
    const restored = localRows(second.dir);
    expect(restored.check).toBe("ok");
    // No holes: the restored database is a prefix of what the writer committed.
    expect(restored.n).toBe(restored.max);
    expect(restored.max).toBeLessThanOrEqual(beforeKill.max);
    // Everything committed before the last completed snapshot began is there; the loss is what was
    // written after it (bounded by the interval plus the snapshot's own time).
    expect(restored.t).toBeGreaterThanOrEqual(lastSnapshotAt - 1000);
    console.log(`loss window (kill -9): ${killedAt - restored.t} ms; rows lost ${beforeKill.max - restored.max}; interval ${INTERVAL} s, last snapshot took ${snapshotLine.exec(lastSnapshot)![2]} ms`);
    expect(readFileSync(join(second.dir, "workspace", "MEMORY.md"), "utf8")).toMatch(/^seq \d+/);
    second.sync.proc.kill("SIGTERM");
    await second.sync.exited;
  });

  test("two instances at once: exactly one holds the lease and writes; on a graceful stop the other takes over with its last snapshot", async () => {
    const base = azureBot();
    const a = instance(`azure:${base}`);
    const b = instance(`azure:${base}`);
    const holder = await Promise.race([a.sync.waitFor(/holding the lease/, "a").then(() => a), b.sync.waitFor(/holding the lease/, "b").then(() => b)]);
    const waiter = holder === a ? b : a;
    await waiter.sync.waitFor(/waiting for the lease/, "the second instance waits");
    const writer = await agent(holder);
    await holder.sync.waitFor(/periodic snapshot/, "the holder writes");
    expect(waiter.sync.log).not.toMatch(/snapshot|restored|state ready/);
    expect(existsSync(waiter.ready)).toBe(false);

    // Graceful stop, as the platform does it: SIGTERM to both containers of the old replica.
    writer.proc.kill("SIGTERM");
    await writer.exited;
    const stopped = localRows(holder.dir);
    holder.sync.proc.kill("SIGTERM");
    expect(await holder.sync.exited).toBe(0);
    expect(holder.sync.log).toMatch(/final snapshot|final: state unchanged/);
    expect(holder.sync.log).toMatch(/lease released/);
    await waiter.sync.waitFor(/state ready/, "the waiting instance takes over");
    const taken = localRows(waiter.dir);
    expect(taken).toEqual(stopped);
    waiter.sync.proc.kill("SIGTERM");
    await waiter.sync.exited;
  });

  test("store unreachable at start: clear log, retries, nothing written, then restores the good state", async () => {
    const { base, goodRows } = await seededAzureBot();
    const good = harness("pointer", base);

    await stopAzurite();
    const late = instance(`azure:${base}`);
    await late.sync.waitFor(/store unreachable/, "a clear log line");
    for (let i = 0; late.sync.count(/store unreachable/) < 3 && i < 300; i++) await sleep(100);
    expect(late.sync.count(/Retrying in 1 s; nothing is restored or written meanwhile/)).toBeGreaterThanOrEqual(3);
    expect(existsSync(late.ready)).toBe(false);
    await startAzurite();
    await late.sync.waitFor(/state ready/, "restore once the store answers");
    expect(harness("pointer", base)).toEqual(good);
    expect(localRows(late.dir)).toEqual(goodRows);
    late.sync.proc.kill("SIGTERM");
    await late.sync.exited;
  });

  test("a corrupt snapshot is refused and the previous one restored", async () => {
    const { base, goodRows } = await seededAzureBot();
    const { previous, corrupt } = harness("corrupt-latest", base);

    // As root (the public Node image's user on the container platforms) it hands the agent's user the state.
    const next = instance(`azure:${base}`, { STATE_SYNC_OWNER: "1000:1000" });
    await next.sync.waitFor(/state ready/, "restore");
    expect(process.getuid!()).toBe(0);
    for (const path of ["", "state", "state/agent.sqlite", "workspace/MEMORY.md"]) expect(statSync(join(next.dir, path)).uid).toBe(1000);
    expect(next.sync.log).toContain(`REFUSED snapshot ${corrupt}: database state/agent.sqlite fails integrity_check`);
    expect(next.sync.log).toContain(`restored ${previous}`);
    expect(localRows(next.dir)).toEqual(goodRows);
    next.sync.proc.kill("SIGTERM");
    await next.sync.exited;
  });

  // The streamed restore reads the gzip stream to its end, where gunzip checks the CRC: a file's
  // bytes damaged in the store (a matching checksum in the pointer) are never restored as good.
  test("a snapshot whose gzip CRC does not match is refused and the previous one restored", async () => {
    const { base, goodRows } = await seededAzureBot();
    const { previous, bad } = harness("bad-crc", base);
    const next = instance(`azure:${base}`);
    await next.sync.waitFor(/state ready/, "restore");
    expect(next.sync.log).toMatch(new RegExp(`REFUSED snapshot ${bad}: not a readable archive`));
    expect(next.sync.log).toContain(`restored ${previous}`);
    expect(localRows(next.dir)).toEqual(goodRows);
    next.sync.proc.kill("SIGTERM");
    await next.sync.exited;
  });

  // A full disk says nothing of a snapshot: before, the restore refused the newest snapshot when
  // its files did not fit and restored an older, smaller one in its place.
  test("a restore that does not fit on the disk restores nothing older: the engine stops and says why", async () => {
    const base = azureBot();
    const a = instance(`azure:${base}`, { STATE_SYNC_INTERVAL_SECONDS: "300" });
    await a.sync.waitFor(/state ready/, "first start");
    writeFileSync(join(a.dir, "notes.md"), "small");
    a.sync.proc.kill("SIGUSR1");
    await a.sync.waitFor(/requested snapshot/, "a small snapshot");
    writeFileSync(join(a.dir, "big.bin"), randomBytes(512 * 1024));
    a.sync.proc.kill("SIGTERM");
    expect(await a.sync.exited).toBe(0);
    const small = join(work, "small-disk");
    mkdirSync(small, { recursive: true });
    // Room for the small snapshot, not for the newest.
    expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", small]).status).toBe(0);
    const next = instance(`azure:${base}`, { STATE_SYNC_SCRATCH: join(small, "scratch") }, join(small, "state"));
    try {
      // (Before the fix it took the full disk for the store's failure and retried forever.)
      expect(await Promise.race([next.sync.exited, sleep(60_000).then(() => "still running")])).toBe(1);
      expect(next.sync.log).toMatch(/cannot put snapshots\/\S+ in place here \(.*ENOSPC.*\); nothing restored, the agent is not started/);
      expect(next.sync.log).not.toMatch(/REFUSED|restored /);
      expect(existsSync(join(small, "state", ".botfleet-state-ready"))).toBe(false);
    } finally {
      next.sync.proc.kill("SIGKILL");
      await next.sync.exited;
      spawnSync("umount", [small]);
    }
  });

  // OpenClaw's cache (its Control UI's assets, 28 MB in 1,555 files) made Cloud Run's final
  // snapshot take 3.6 to 5.4 s of the 10 s between SIGTERM and SIGKILL (container suite).
  test("what the runtime regenerates (STATE_SYNC_EXCLUDE) is left out of every snapshot, said in the log, and kept on restore", async () => {
    const base = azureBot();
    const first = instance(`azure:${base}`, { STATE_SYNC_EXCLUDE: "cache" });
    await first.sync.waitFor(/state ready/, "first start");
    mkdirSync(join(first.dir, "cache", "assets"), { recursive: true });
    writeFileSync(join(first.dir, "cache", "assets", "app.js"), "x".repeat(100_000));
    writeFileSync(join(first.dir, "kept.json"), "{}");
    first.sync.proc.kill("SIGTERM");
    await first.sync.exited;
    expect(first.sync.log).toContain("not in snapshots, the agent regenerates them: cache");
    const snap = first.sync.out.find((l) => /final snapshot snapshots\//.test(l))!;
    expect(snap).toMatch(/ 1 files, /);
    const next = instance(`azure:${base}`, { STATE_SYNC_EXCLUDE: "cache" });
    mkdirSync(join(next.dir, "cache"), { recursive: true });
    writeFileSync(join(next.dir, "cache", "regenerated.js"), "y");
    await next.sync.waitFor(/restored/, "restore");
    expect(readFileSync(join(next.dir, "kept.json"), "utf8")).toBe("{}");
    expect(readFileSync(join(next.dir, "cache", "regenerated.js"), "utf8")).toBe("y");
    next.sync.proc.kill("SIGTERM");
    await next.sync.exited;
  });

  test("on the VM, tokens come from the instance metadata service for the identity named by resource ID", async () => {
    const base = azureBot();
    const port = (identity.address() as { port: number }).port;
    const vm = instance(`azure:${base}`, {
      IDENTITY_ENDPOINT: "",
      IDENTITY_HEADER: "",
      STATE_SYNC_CLIENT_ID: "",
      STATE_SYNC_IMDS_ENDPOINT: `http://127.0.0.1:${port}`,
      STATE_SYNC_MSI_RES_ID: MSI_RES_ID,
    });
    await vm.sync.waitFor(/state ready/, "restore with an IMDS token");
    vm.sync.proc.kill("SIGTERM");
    expect(await vm.sync.exited).toBe(0);
    const imds = identityRequests.filter((r) => r.url!.startsWith("/metadata/"));
    expect(imds.length).toBeGreaterThan(0);
    for (const req of imds) {
      expect(req.headers.metadata).toBe("true");
      expect(Object.fromEntries(new URL(req.url!, "http://x").searchParams)).toEqual({ resource: "https://storage.azure.com/", "api-version": "2018-02-01", msi_res_id: MSI_RES_ID });
    }
  });

  test("tokens come from the managed identity endpoint, for storage, as the bot's identity", () => {
    expect(identityRequests.length).toBeGreaterThan(0);
    for (const req of identityRequests.filter((r) => !r.url!.startsWith("/metadata/"))) {
      const q = new URL(req.url!, "http://x").searchParams;
      expect(req.headers["x-identity-header"]).toBe(IDENTITY_HEADER);
      expect(Object.fromEntries(q)).toEqual({ resource: "https://storage.azure.com/", "api-version": "2019-08-01", client_id: CLIENT_ID });
    }
  });
});

// Issue 33: the faults that lost data before, each against the real engine and Azurite. The fault
// proxy sits between the engine and Azurite (HTTPS both sides) and answers chosen requests itself,
// or forwards them and loses the answer.
describe("state-sync under faults (Azurite behind a fault proxy)", () => {
  type Fault = number | "lose-answer" | { delayMs: number } | undefined;
  let proxy: HttpsServer;
  let proxyPort = 0;
  let fault: ((req: IncomingMessage) => Fault) | undefined;
  beforeAll(async () => {
    const ca = readFileSync(cert);
    proxy = createHttpsServer({ key: readFileSync(tls.key), cert: ca }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const f = fault?.(req);
        if (typeof f === "number") {
          res.writeHead(f, { "content-type": "application/xml" });
          res.end(`<?xml version="1.0"?><Error><Code>Injected</Code><Message>injected by the test</Message></Error>`);
          return;
        }
        const forward = () => {
          const upstream = httpsRequest({ host: "127.0.0.1", port: azuritePort, method: req.method, path: req.url, headers: req.headers, ca }, (up) => {
            if (f === "lose-answer") {
              up.resume();
              up.on("end", () => req.socket.destroy());
              return;
            }
            res.writeHead(up.statusCode!, up.headers);
            up.pipe(res);
          });
          upstream.end(Buffer.concat(chunks));
        };
        if (typeof f === "object") setTimeout(forward, f.delayMs);
        else forward();
      });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    proxyPort = (proxy.address() as { port: number }).port;
  });
  afterAll(() => {
    proxy?.closeAllConnections();
    proxy?.close();
  });
  afterEach(() => (fault = undefined));
  const viaProxy = (base: string) => base.replace(`:${azuritePort}/`, `:${proxyPort}/`);
  const readyUntil = (ready: string) => Number(readFileSync(ready, "utf8")) * 1000;
  const renewal = (req: IncomingMessage) => req.method === "PUT" && req.url!.includes("comp=lease") && req.headers["x-ms-lease-action"] === "renew";
  const pointerWrite = (req: IncomingMessage) => req.method === "PUT" && req.url!.split("?")[0].endsWith("/pointer.json") && !req.url!.includes("comp=");
  /** An engine through the proxy with an agent beside it, whose watcher beats as the launcher's does. */
  async function besideLiveAgent(base: string) {
    const store = `azure:${viaProxy(base)}`;
    const a = instance(store);
    const w = await agent(a);
    const beat = setInterval(() => writeFileSync(join(a.dir, ".botfleet-agent-running"), ""), 1000);
    return { store, a, w, stopBeat: () => clearInterval(beat) };
  }

  test("one 503, one 429 and one 401 on lease renewals: the lease is kept, snapshots go on, and a graceful stop takes its final snapshot", async () => {
    const base = azureBot();
    const i = instance(`azure:${viaProxy(base)}`);
    const w = await agent(i);
    await i.sync.waitFor(/periodic snapshot/, "a first snapshot");
    const statuses = [503, 429, 401];
    fault = (req) => (renewal(req) ? statuses.shift() : undefined);
    for (let k = 0; statuses.length && k < 300; k++) await sleep(100);
    expect(statuses).toEqual([]);
    fault = undefined;
    const before = i.sync.count(snapshotLine);
    for (let k = 0; i.sync.count(snapshotLine) < before + 2 && k < 300; k++) await sleep(100);
    expect(i.sync.count(snapshotLine)).toBeGreaterThanOrEqual(before + 2);
    expect(i.sync.log).toMatch(/lease renewal failed \(.*HTTP 503/);
    expect(i.sync.log).toMatch(/lease renewal failed \(.*HTTP 429/);
    expect(i.sync.log).toMatch(/lease renewal failed \(.*HTTP 401/);
    expect(i.sync.log).not.toMatch(/LEASE LOST/);
    expect(readyUntil(i.ready)).toBeGreaterThan(Date.now());
    // The status the health detail reads: running, its last snapshot the pointer's.
    const status = JSON.parse(readFileSync(join(i.dir, ".botfleet-state-status.json"), "utf8"));
    expect(status).toMatchObject({ phase: "running", lastSnapshot: { name: expect.stringMatching(/^snapshots\//) } });
    w.proc.kill("SIGTERM");
    await w.exited;
    const rows = localRows(i.dir);
    i.sync.proc.kill("SIGTERM");
    expect(await i.sync.exited).toBe(0);
    expect(i.sync.log).toMatch(/final snapshot snapshots\//);
    // A graceful stop loses nothing: the store's newest snapshot has every row.
    expect(harness("rows", base, join(work, "rows-transient.sqlite"))).toMatchObject({ n: rows.n, max: rows.max });
  });

  // A rehearsal of CI lost the last 9.6 s of state in the kill -9 test below: on a loaded machine
  // the engine read a renewal's answer late, wrote under a lease that had run out, and took the
  // refusal for a takeover. Azure renews an expired lease "as long as the blob or container has
  // not been leased again since the expiration" (Azure.Storage.Blobs BlobLeaseClient.Renew, Microsoft
  // Learn); Azurite does the same, which this test runs against.
  test("a graceful stop whose renewal came late (paused past its lease, no one took it) renews first and takes its final snapshot: nothing lost", async () => {
    const base = azureBot();
    const i = instance(`azure:${viaProxy(base)}`);
    const w = await agent(i);
    await i.sync.waitFor(/periodic snapshot/, "a first snapshot");
    w.proc.kill("SIGTERM");
    await w.exited;
    const rows = localRows(i.dir);
    i.sync.proc.kill("SIGSTOP");
    await sleep((LEASE + 2) * 1000);
    // The renewal it makes on waking takes 3 s to answer: the stop comes while it is in flight.
    fault = (req) => (renewal(req) ? { delayMs: 3000 } : undefined);
    i.sync.proc.kill("SIGCONT");
    i.sync.proc.kill("SIGTERM");
    expect(await i.sync.exited).toBe(0);
    expect(i.sync.log).toMatch(/final snapshot snapshots\/|final: state unchanged since the last snapshot/);
    expect(i.sync.log).not.toMatch(/LEASE LOST|final snapshot skipped/);
    expect(harness("rows", base, join(work, "rows-late-renewal.sqlite"))).toMatchObject({ n: rows.n, max: rows.max });
  });

  test("a holder paused past its lease: its ready file runs out before another instance can take over, and resumed it writes nothing, removes the ready file and exits 3", async () => {
    const base = azureBot();
    const a = instance(`azure:${base}`);
    const w = await agent(a);
    await a.sync.waitFor(/periodic snapshot/, "a writes");
    a.sync.proc.kill("SIGSTOP");
    const pausedAt = Date.now();
    // The ready file names a time before the lease can pass to anyone (the agent's watcher stops it then).
    expect(readyUntil(a.ready)).toBeLessThanOrEqual(pausedAt + LEASE * 1000);
    const b = instance(`azure:${base}`);
    await b.sync.waitFor(/state ready/, "b takes over once a's lease expired");
    expect(readyUntil(a.ready)).toBeLessThan(Date.now());
    w.proc.kill("SIGTERM"); // as a's watcher did when the ready file ran out
    await w.exited;
    const w2 = await agent(b);
    await b.sync.waitFor(/periodic snapshot/, "b writes");
    a.sync.proc.kill("SIGCONT");
    expect(await a.sync.exited).toBe(3);
    expect(a.sync.log).toMatch(/LEASE LOST: /);
    expect(existsSync(a.ready)).toBe(false);
    expect(JSON.parse(readFileSync(join(a.dir, ".botfleet-state-status.json"), "utf8"))).toMatchObject({ phase: "lease-lost", reason: expect.stringMatching(/renewal|pointer/) });
    // Every snapshot the pointer names is one b wrote.
    await sleep(INTERVAL * 1500);
    // (by its name: the pointer moves before b logs the snapshot)
    expect(harness("pointer", base).snapshot).toMatch(new RegExp(`-${b.sync.proc.pid}-\\d+\\.tar\\.gz$`));
    w2.proc.kill("SIGTERM");
    await w2.exited;
    b.sync.proc.kill("SIGTERM");
    expect(await b.sync.exited).toBe(0);
  });

  test("a holder paused mid-upload past its lease: its upload lands late, the new holder's pointer stands, and resumed it writes nothing more and exits 3", async () => {
    const base = azureBot();
    const a = instance(`azure:${viaProxy(base)}`);
    const w = await agent(a);
    await a.sync.waitFor(/periodic snapshot/, "a writes");
    // The next snapshot upload: a is frozen while it is in flight, and it reaches the store only
    // once another instance holds the lease.
    let held = "no" as "no" | "holding" | "forwarded";
    fault = (req) => {
      // A snapshot's upload: the whole of it, one of its parts or their list.
      if (held !== "no" || req.method !== "PUT" || !req.url!.includes("/snapshots/") || (req.url!.includes("comp=") && !req.url!.includes("comp=block"))) return undefined;
      held = "holding";
      a.sync.proc.kill("SIGSTOP");
      setTimeout(() => (held = "forwarded"), (LEASE + 12) * 1000);
      return { delayMs: (LEASE + 12) * 1000 };
    };
    for (let k = 0; held === "no" && k < 300; k++) await sleep(100);
    expect(held).toBe("holding");
    const b = instance(`azure:${base}`);
    await b.sync.waitFor(/state ready/, "b takes over once a's lease expired");
    w.proc.kill("SIGTERM"); // as a's watcher did when its ready file ran out
    await w.exited;
    const w2 = await agent(b);
    await b.sync.waitFor(/periodic snapshot/, "b writes");
    for (let k = 0; held !== "forwarded" && k < 400; k++) await sleep(100);
    await sleep(1000);
    const snapshotsBefore = a.sync.count(/periodic snapshot/);
    a.sync.proc.kill("SIGCONT");
    expect(await a.sync.exited).toBe(3);
    expect(a.sync.log).toMatch(/LEASE LOST: /);
    expect(a.sync.count(/periodic snapshot/)).toBe(snapshotsBefore);
    expect(existsSync(a.ready)).toBe(false);
    // The pointer names b's snapshots only, and a restore elsewhere has b's rows.
    await sleep(INTERVAL * 1500);
    // (by its name: the pointer moves before b logs the snapshot)
    expect(harness("pointer", base).snapshot).toMatch(new RegExp(`-${b.sync.proc.pid}-\\d+\\.tar\\.gz$`));
    await stopAndRestoreElsewhere(`azure:${base}`, w2, b);
  });

  // Before (054a102): a part refused while the next one was being read went unnoticed (the upload
  // then failed on its list of parts, the cause hidden), and a failed upload left the snapshot's
  // scratch copies open after they were deleted: each failure pinned another copy of the state.
  test("a part of a large snapshot refused (503): the snapshot fails with that part's error, nothing of it stays open, and the next interval's snapshot goes up", async () => {
    const base = azureBot();
    const a = instance(`azure:${viaProxy(base)}`);
    await a.sync.waitFor(/state ready/, "first start");
    let refused = 0;
    fault = (req) => (refused === 0 && req.method === "PUT" && req.url!.includes("comp=block&") ? (refused++, 503) : undefined);
    // Well past the parts read ahead: the refused part leaves the file half read.
    writeFileSync(join(a.dir, "big.bin"), randomBytes(48 * 1024 * 1024));
    await a.sync.waitFor(/snapshot failed/, "the refused part");
    fault = undefined;
    expect(a.sync.log).toMatch(/snapshot failed: write snapshots\/\S+ \(part \d+\): HTTP 503/);
    await a.sync.waitFor(/periodic snapshot/, "the next interval's snapshot");
    const fds = `/proc/${a.sync.proc.pid}/fd`;
    const open = readdirSync(fds).map((fd) => {
      try {
        return readlinkSync(join(fds, fd));
      } catch {
        return "";
      }
    });
    expect(open.filter((target) => target.endsWith("(deleted)"))).toEqual([]);
    a.sync.proc.kill("SIGTERM");
    expect(await a.sync.exited).toBe(0);
  });

  test("a slow store (every answer 3 s late): the lease is kept, snapshots go on, and a graceful stop's final snapshot restores elsewhere", async () => {
    const base = azureBot();
    const a = instance(`azure:${viaProxy(base)}`);
    // 500 rows a second: a busy gateway's pace, the database under a part for the test's length.
    const w = await agent(a, 500);
    await a.sync.waitFor(/periodic snapshot/, "a writes");
    fault = () => ({ delayMs: 3000 });
    const before = a.sync.count(/periodic snapshot/);
    // Each cycle is several round trips (the snapshot; the pointer; the status; both requests'
    // reads at once): two more within three leases.
    await until(() => a.sync.count(/periodic snapshot/) >= before + 2, "two more snapshots", LEASE * 3000);
    expect(a.sync.log).not.toMatch(/LEASE LOST|snapshot failed/);
    await stopAndRestoreElsewhere(`azure:${base}`, w, a);
    expect(a.sync.log).toMatch(/final snapshot snapshots\//);
  });

  test("restarted beside a live agent after the pointer's answer was lost: the local state is its own and kept, never restored under the agent", async () => {
    const base = azureBot();
    const { store, a, w, stopBeat } = await besideLiveAgent(base);
    try {
      await a.sync.waitFor(/periodic snapshot/, "a first snapshot");
      let lost = false;
      fault = (req) => (!lost && pointerWrite(req) ? ((lost = true), "lose-answer") : undefined);
      for (let k = 0; !lost && k < 300; k++) await sleep(100);
      expect(lost).toBe(true);
      await sleep(500);
      a.sync.proc.kill("SIGKILL");
      await a.sync.exited;
      fault = undefined;
      // The pointer moved on; this instance's mark names the snapshot as pending.
      const pointer = harness("pointer", base);
      expect(JSON.parse(readFileSync(join(a.dir, ".botfleet-state-local"), "utf8")).pending).toBe(pointer.snapshot);
      const rowsAtRestart = localRows(a.dir).max;
      const again = instance(store, {}, a.dir);
      await again.sync.waitFor(/state ready/, "the restarted engine");
      expect(again.sync.log).toMatch(/local state is this instance's own and at least as new as/);
      expect(again.sync.log).not.toMatch(/restored snapshots/);
      await sleep(1000);
      expect(w.proc.exitCode).toBeNull();
      expect(localRows(a.dir).max).toBeGreaterThan(rowsAtRestart);
      w.proc.kill("SIGTERM");
      await w.exited;
      again.sync.proc.kill("SIGTERM");
      expect(await again.sync.exited).toBe(0);
    } finally {
      stopBeat();
    }
  });

  // CI, 2026-12-06 (kill -9 at 50 points): killed after its first snapshot's upload and before its
  // first pointer, the restarted engine found a store with one snapshot and no pointer, did not
  // know the snapshot for its own, and waited forever for the live agent to stop to restore it.
  test("killed between its first upload and its first pointer, beside a live agent: restarted, the local state is its own and kept", async () => {
    const base = azureBot();
    const { store, a, w, stopBeat } = await besideLiveAgent(base);
    try {
      let killed = false;
      fault = (req) => {
        if (killed || !pointerWrite(req)) return undefined;
        killed = true;
        a.sync.proc.kill("SIGKILL");
        return 503;
      };
      await a.sync.exited;
      expect(killed).toBe(true);
      fault = undefined;
      const mark = JSON.parse(readFileSync(join(a.dir, ".botfleet-state-local"), "utf8"));
      if (!mark.pending) console.log(a.sync.log);
      expect(mark.pending).toMatch(/^snapshots\//);
      expect(harness("pointer", base).snapshot).toBeUndefined();
      const again = instance(store, {}, a.dir);
      const kept = await again.sync.waitFor(/state ready|waiting for the agent to stop/, "the restarted engine", 30_000);
      expect(kept).toMatch(/state ready/);
      expect(again.sync.log).toContain(`local state is this instance's own and at least as new as ${mark.pending}: kept, not restored`);
      expect(w.proc.exitCode).toBeNull();
      // Its next snapshot names a pointer again, and a restore elsewhere has the agent's rows.
      await again.sync.waitFor(/periodic snapshot/, "a snapshot after the restart");
      await stopAndRestoreElsewhere(`azure:${base}`, w, again);
    } finally {
      stopBeat();
    }
  });

  // Before: 3 of 30 random restarts deleted the live database under the agent.
  test("kill -9 of the engine at 50 random points beside a live agent: every restart keeps the agent's state, and a later restore elsewhere is intact and gap-free", async () => {
    const base = azureBot();
    const store = `azure:${base}`;
    let sync = instance(store);
    const dir = sync.dir;
    const w = await agent(sync);
    const beat = setInterval(() => writeFileSync(join(dir, ".botfleet-agent-running"), ""), 1000);
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    try {
      for (let round = 0; round < 50; round++) {
        await sleep(200 + random() * 2800);
        sync.sync.proc.kill("SIGKILL");
        await sync.sync.exited;
        sync = instance(store, {}, dir);
        await sync.sync.waitFor(/state ready|restored|REFUSED/, `restart ${round}`);
        expect(sync.sync.log).not.toMatch(/restored snapshots|REFUSED/);
        expect(w.proc.exitCode).toBeNull();
      }
      await sync.sync.waitFor(/periodic snapshot/, "a snapshot after the last restart");
      const restored = await stopAndRestoreElsewhere(store, w, sync);
      expect(restored.n).toBe(restored.max);
    } finally {
      clearInterval(beat);
    }
  });

  // Before: an engine restarted on local state it kept as its own took that state for what the
  // store held, so what the agent wrote after the last upload before the kill was never uploaded,
  // not even by the final snapshot of a graceful stop ("state unchanged since the last snapshot").
  test("killed after the agent wrote and before the next snapshot, restarted on the kept state and stopped: the final snapshot holds the write", async () => {
    const base = azureBot();
    const slow = { STATE_SYNC_INTERVAL_SECONDS: "300" };
    const a = instance(`azure:${base}`, slow);
    await a.sync.waitFor(/state ready/, "first start");
    writeFileSync(join(a.dir, "notes.md"), "v1");
    a.sync.proc.kill("SIGUSR1");
    await a.sync.waitFor(/requested snapshot/, "the snapshot of v1");
    writeFileSync(join(a.dir, "notes.md"), "v2");
    a.sync.proc.kill("SIGKILL");
    await a.sync.exited;
    const again = instance(`azure:${base}`, slow, a.dir);
    await again.sync.waitFor(/state ready/, "the restart");
    expect(again.sync.log).toMatch(/kept, not restored/);
    again.sync.proc.kill("SIGTERM");
    expect(await again.sync.exited).toBe(0);
    expect(again.sync.log).toMatch(/final snapshot snapshots\//);
    const elsewhere = instance(`azure:${base}`, slow);
    await elsewhere.sync.waitFor(/state ready/, "restore elsewhere");
    expect(readFileSync(join(elsewhere.dir, "notes.md"), "utf8")).toBe("v2");
    elsewhere.sync.proc.kill("SIGTERM");
    await elsewhere.sync.exited;
  });

  // Before: a token's expiry was read as a time on this machine's clock: with the clock 10 minutes
  // slow an expired token stayed in use, every renewal failed with 401, and the lease was lost
  // with the agent stopped. The store's clock is the only one that decides who holds the lease.
  test("engines on clocks 10 minutes slow and 10 minutes fast (libfaketime): the slow one keeps its lease across token expiries, the fast one never holds it meanwhile, then takes over at a graceful stop", async () => {
    tokenLifetime = 10;
    try {
      const base = azureBot();
      const slow = instance(`azure:${base}`, shiftedClock("-600"));
      await slow.sync.waitFor(/state ready/, "the slow clock's engine holds");
      const fast = instance(`azure:${base}`, shiftedClock("+600"));
      await fast.sync.waitFor(/waiting for the lease/, "the fast clock's engine waits");
      // Their clocks are shifted indeed: each log line starts with the engine's own time.
      const skew = (p: Proc) => (Date.parse(p.out[p.out.length - 1].slice(0, 24)) - Date.now()) / 1000;
      expect(Math.abs(skew(slow.sync) + 600)).toBeLessThan(30);
      expect(Math.abs(skew(fast.sync) - 600)).toBeLessThan(30);
      writeFileSync(join(slow.dir, "notes.md"), "before");
      await sleep(30_000); // three token lifetimes, two leases
      writeFileSync(join(slow.dir, "notes.md"), "after");
      expect(slow.sync.log).not.toMatch(/LEASE LOST|renewal failed|HTTP 401/);
      expect(slow.sync.log).toMatch(/periodic snapshot/);
      expect(fast.sync.log).not.toMatch(/holding the lease|state ready/);
      slow.sync.proc.kill("SIGTERM");
      expect(await slow.sync.exited).toBe(0);
      await fast.sync.waitFor(/state ready/, "the fast clock's engine takes over");
      expect(readFileSync(join(fast.dir, "notes.md"), "utf8")).toBe("after");
      fast.sync.proc.kill("SIGTERM");
      expect(await fast.sync.exited).toBe(0);
    } finally {
      tokenLifetime = 3600;
    }
  });

  // Before: a snapshot and a restore each held the state in memory about three times over (368/467
  // MB peak for a 117 MB database, 2.9/3.3 GB for 979 MB), and a database over 2 GiB was never
  // snapshotted. Now both stream through disk. The engine runs in a cgroup v1 memory limit smaller
  // than the state (the kernel mechanism a container's --memory uses), its peak resident memory
  // read from /proc. Larger states by hand: STATE_SYNC_LARGE_MB=100,1000,3000 (docs/testing.md).
  test.each(LARGE_MB)(
    `a %d MB state (a database of 1 MiB rows, a 24 MiB file) snapshots and restores elsewhere under a ${MEMORY_LIMIT_MIB} MiB cgroup memory limit, its peak memory bounded`,
    async (mb) => {
      const base = azureBot();
      const dir = join(work, `large-${mb}`, "state");
      mkdirSync(join(dir, "workspace"), { recursive: true });
      const made = spawnSync(
        NODE24,
        [
          "--input-type=module",
          "-e",
          `import { DatabaseSync } from "node:sqlite";
          import { mkdirSync } from "node:fs";
          mkdirSync(${JSON.stringify(join(dir, "state"))});
          const db = new DatabaseSync(${JSON.stringify(join(dir, "state", "agent.sqlite"))});
          db.exec("PRAGMA journal_mode=WAL; CREATE TABLE events (seq INTEGER PRIMARY KEY, t INTEGER NOT NULL, payload BLOB NOT NULL)");
          db.exec("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${mb}) INSERT INTO events SELECT x, x, randomblob(1048576) FROM c");
          db.close();`,
        ],
        { encoding: "utf8" },
      );
      expect(made.stderr).toBe("");
      const big = randomBytes(24 * 1024 * 1024);
      writeFileSync(join(dir, "workspace", "big.bin"), big);
      const rows = localRows(dir);
      expect(rows.n).toBe(mb);
      const groups = ["snapshot", "restore"].map((what) => memoryCgroup(`botfleet-state-sync-${process.pid}-${mb}-${what}`, MEMORY_LIMIT_MIB));
      const engines: Proc[] = [];
      try {
        const a = instance(`azure:${base}`, {}, dir, groups[0].wrap);
        engines.push(a.sync);
        const line = await a.sync.waitFor(/periodic snapshot/, "the snapshot", Math.max(300_000, mb * 300));
        const snapshotPeak = peakMiB(a.sync.proc.pid!);
        a.sync.proc.kill("SIGTERM");
        expect(await a.sync.exited).toBe(0);
        const b = instance(`azure:${base}`, {}, undefined, groups[1].wrap);
        engines.push(b.sync);
        await b.sync.waitFor(/state ready/, "the restore elsewhere", Math.max(300_000, mb * 300));
        const restorePeak = peakMiB(b.sync.proc.pid!);
        const restored = /restored snapshots\/\S+ .*/.exec(b.sync.log)![0];
        console.log(`state ${mb} MB + 24 MiB: ${line}; peak ${snapshotPeak} MiB. ${restored}; peak ${restorePeak} MiB (cgroup limit ${MEMORY_LIMIT_MIB} MiB)`);
        expect(localRows(b.dir)).toEqual(rows);
        expect(readFileSync(join(b.dir, "workspace", "big.bin")).equals(big)).toBe(true);
        b.sync.proc.kill("SIGTERM");
        expect(await b.sync.exited).toBe(0);
        expect(groups.map((g) => g.oomKills())).toEqual([0, 0]);
        expect(snapshotPeak).toBeLessThan(PEAK_BOUND_MIB);
        expect(restorePeak).toBeLessThan(PEAK_BOUND_MIB);
      } finally {
        for (const e of engines) e.proc.kill("SIGKILL");
        await Promise.all(engines.map((e) => e.exited));
        for (const g of groups) g.remove();
        rmSync(join(work, `large-${mb}`), { recursive: true, force: true });
      }
    },
    Math.max(600_000, ...LARGE_MB.map((mb) => mb * 700)),
  );

  test.each([
    ["deleted", undefined],
    ["empty", ""],
    ["not a pointer", "{garbled"],
  ])("a pointer %s while snapshots are in the store: the newest verified one is restored and named again, never an empty start", async (_, body) => {
    const { base, goodRows } = await seededAzureBot();
    const good = harness("pointer", base);
    if (body === undefined) expect(harness("delete-pointer", base).status).toBe(202);
    else expect(harness("put-pointer", base, body).status).toBe(201);
    const next = instance(`azure:${base}`);
    await next.sync.waitFor(/state ready/, "restore");
    expect(next.sync.log).toMatch(/the pointer (is missing|is not a valid pointer|names no snapshot); \d+ snapshots are in the store/);
    expect(next.sync.log).toContain(`restored ${good.snapshot}`);
    expect(localRows(next.dir)).toEqual(goodRows);
    expect(harness("pointer", base).snapshot).toBe(good.snapshot);
    next.sync.proc.kill("SIGTERM");
    expect(await next.sync.exited).toBe(0);
  });

  test("whatever the agent keeps survives: symbolic links, a *.db that is not SQLite, side-file names with no database; a pipe and lock files are left out, said in the log", async () => {
    const base = azureBot();
    const a = instance(`azure:${base}`);
    await a.sync.waitFor(/state ready/, "first start");
    mkdirSync(join(a.dir, "workspace"), { recursive: true });
    writeFileSync(join(a.dir, "workspace", "notes.md"), "notes");
    symlinkSync("workspace/notes.md", join(a.dir, "current.md"));
    writeFileSync(join(a.dir, "sessions.db"), '{"_id":"a","nedb":true}\n');
    writeFileSync(join(a.dir, "backup-wal"), "not a side file");
    writeFileSync(join(a.dir, "gateway.lock"), `${process.pid}`);
    expect(spawnSync("mkfifo", [join(a.dir, "events.pipe")]).status).toBe(0);
    a.sync.proc.kill("SIGTERM");
    expect(await a.sync.exited).toBe(0);
    expect(a.sync.log).toMatch(/final snapshot snapshots\//);
    expect(a.sync.log).toMatch(/not in snapshots: .*events\.pipe \(not a file, directory or link/);
    expect(a.sync.log).toMatch(/not in snapshots: .*gateway\.lock \(lock file/);
    const b = instance(`azure:${base}`);
    await b.sync.waitFor(/state ready/, "restore");
    expect(readlinkSync(join(b.dir, "current.md"))).toBe("workspace/notes.md");
    expect(readFileSync(join(b.dir, "current.md"), "utf8")).toBe("notes");
    expect(readFileSync(join(b.dir, "sessions.db"), "utf8")).toBe('{"_id":"a","nedb":true}\n');
    expect(readFileSync(join(b.dir, "backup-wal"), "utf8")).toBe("not a side file");
    expect(existsSync(join(b.dir, "gateway.lock"))).toBe(false);
    b.sync.proc.kill("SIGTERM");
    expect(await b.sync.exited).toBe(0);
  });

  test("two engines on copies of one disk (a cloned OS disk, another host name) never both hold the lease", async () => {
    const base = azureBot();
    const a = instance(`azure:${base}`);
    await a.sync.waitFor(/state ready/, "a holds");
    const copy = join(work, `clone-${instances}`, "state");
    mkdirSync(copy, { recursive: true });
    expect(spawnSync("cp", ["-a", `${a.dir}/.`, copy]).status).toBe(0);
    // The copy runs on another host: a UTS namespace of its own with another host name.
    const env = {
      STATE_SYNC_MAIN: "1",
      STATE_SYNC_DIR: copy,
      STATE_SYNC_STORE: `azure:${base}`,
      STATE_SYNC_LEASE_SECONDS: String(LEASE),
      STATE_SYNC_INTERVAL_SECONDS: String(INTERVAL),
      STATE_SYNC_RETRY_SECONDS: "1",
      NODE_EXTRA_CA_CERTS: cert,
      IDENTITY_ENDPOINT: `http://127.0.0.1:${(identity.address() as { port: number }).port}/msi/token`,
      IDENTITY_HEADER,
      STATE_SYNC_CLIENT_ID: CLIENT_ID,
    };
    const clone = new Proc("unshare", ["--uts", "sh", "-c", 'hostname botfleet-clone && exec "$@"', "sh", NODE24, ...STATE_SYNC_COMMAND.slice(1)], env);
    await clone.waitFor(/waiting for the lease .*another instance holds the blob lease/, "the clone waits");
    await sleep(LEASE * 1000);
    expect(clone.log).not.toMatch(/holding the lease|state ready/);
    clone.proc.kill("SIGTERM");
    await clone.exited;
    a.sync.proc.kill("SIGTERM");
    expect(await a.sync.exited).toBe(0);
  });
});

describe("state-sync on Cloud Storage (a stand-in of the JSON API with generation preconditions)", () => {
  const gcs = new GcsStandIn();
  beforeAll(() => gcs.start());
  afterAll(() => gcs.stop());
  const env = () => ({ GCE_METADATA_HOST: `127.0.0.1:${gcs.port}`, STATE_SYNC_GCS_ENDPOINT: `http://127.0.0.1:${gcs.port}` });

  // Before: a read of the pointer's snapshot that failed for a moment (a 503) refused it, and the
  // engine restored an older one from the pointer's history: what the newer one held was lost.
  test("the store failing reads of the pointer's snapshot at start (503 twice): the same snapshot is read again, never an older one", async () => {
    const a = instance("gcs:flaky-bucket", env());
    const w = await agent(a);
    await a.sync.waitFor(/periodic snapshot/, "a first snapshot");
    await until(() => a.sync.count(/periodic snapshot/) >= 2, "a second snapshot", 30_000);
    w.proc.kill("SIGTERM");
    await w.exited;
    const rows = localRows(a.dir);
    a.sync.proc.kill("SIGTERM");
    expect(await a.sync.exited).toBe(0);
    const pointer = JSON.parse(gcs.objects.get("flaky-bucket/botfleet-state/pointer.json")!.data.toString("utf8"));
    expect(pointer.history.length).toBeGreaterThan(1);
    let reads = 0;
    gcs.fail = (method, name) => (method === "GET" && name === `botfleet-state/${pointer.snapshot}` && ++reads <= 2 ? 503 : undefined);
    try {
      const b = instance("gcs:flaky-bucket", env());
      await b.sync.waitFor(/state ready/, "the restore");
      expect(reads).toBe(3);
      expect(b.sync.count(/cannot read snapshots\/\S+ now \(read snapshots\/\S+: HTTP 503/)).toBe(2);
      expect(b.sync.log).not.toMatch(/REFUSED|the newer ones were refused/);
      expect(b.sync.log).toContain(`restored ${pointer.snapshot}`);
      expect(localRows(b.dir)).toEqual(rows);
      b.sync.proc.kill("SIGTERM");
      expect(await b.sync.exited).toBe(0);
    } finally {
      gcs.fail = undefined;
    }
  });

  test("a snapshot larger than a part goes up as a resumable upload, part by part, and restores elsewhere", async () => {
    const a = instance("gcs:large-bucket", env());
    await a.sync.waitFor(/state ready/, "first start");
    const big = randomBytes(20 * 1024 * 1024);
    mkdirSync(join(a.dir, "workspace"), { recursive: true });
    writeFileSync(join(a.dir, "workspace", "big.bin"), big);
    await a.sync.waitFor(/periodic snapshot/, "the snapshot");
    a.sync.proc.kill("SIGTERM");
    expect(await a.sync.exited).toBe(0);
    const ours = gcs.requests.filter((r) => r.path === "/upload/storage/v1/b/large-bucket/o");
    const started = ours.filter((r) => r.method === "POST" && r.query.uploadType === "resumable" && r.query.name?.startsWith("botfleet-state/snapshots/"));
    expect(started).toHaveLength(1);
    expect(started[0].query.ifGenerationMatch).toBe("0");
    // Parts of 4 MiB (state-sync.mjs PART_BYTES), each starting where the one before ended; the last names the total.
    const parts = ours.filter((r) => r.method === "PUT" && r.query.upload_id !== undefined).map((r) => String(r.headers["content-range"]));
    const part = 4 * 1024 * 1024;
    expect(parts.length).toBeGreaterThanOrEqual(5);
    parts.slice(0, -1).forEach((range, i) => expect(range).toBe(`bytes ${i * part}-${(i + 1) * part - 1}/*`));
    const total = gcs.objects.get(`large-bucket/botfleet-state/${JSON.parse(gcs.objects.get("large-bucket/botfleet-state/pointer.json")!.data.toString("utf8")).snapshot}`)!.data.length;
    expect(parts.at(-1)).toBe(`bytes ${(parts.length - 1) * part}-${total - 1}/${total}`);
    const b = instance("gcs:large-bucket", env());
    await b.sync.waitFor(/state ready/, "restore elsewhere");
    expect(readFileSync(join(b.dir, "workspace", "big.bin")).equals(big)).toBe(true);
    b.sync.proc.kill("SIGTERM");
    expect(await b.sync.exited).toBe(0);
  });

  test("one holder; a killed holder's lock expires by server time; graceful stop hands over; a pointer changed by hand stops the writer; a stop before the pointer was read writes nothing; request shapes", async () => {
    const a = instance("gcs:bot-bucket", env());
    const b = instance("gcs:bot-bucket", env());
    const holder = await Promise.race([a.sync.waitFor(/holding the lease/, "a").then(() => a), b.sync.waitFor(/holding the lease/, "b").then(() => b)]);
    const waiter = holder === a ? b : a;
    await waiter.sync.waitFor(/waiting for the lease .*holds the lock object botfleet-state\/lock.json/, "the other waits");
    const writer = await agent(holder);
    await holder.sync.waitFor(/periodic snapshot/, "the holder writes");
    expect(waiter.sync.log).not.toMatch(/snapshot|state ready/);

    // Graceful stop: final snapshot, lock deleted with its generation as precondition.
    writer.proc.kill("SIGTERM");
    await writer.exited;
    const stopped = localRows(holder.dir);
    holder.sync.proc.kill("SIGTERM");
    expect(await holder.sync.exited).toBe(0);
    await waiter.sync.waitFor(/state ready/, "handover");
    expect(localRows(waiter.dir)).toEqual(stopped);

    // The new holder dies: its lock is taken over only once older than the lease, by server time.
    const w2 = await agent(waiter);
    await waiter.sync.waitFor(/periodic snapshot/, "the new holder writes");
    w2.proc.kill("SIGKILL");
    waiter.sync.proc.kill("SIGKILL");
    const c = instance("gcs:bot-bucket", env());
    await c.sync.waitFor(/waiting for the lease/, "the lock is still fresh");
    await c.sync.waitFor(/took over the lock of [0-9a-f-]+, unrefreshed for [\d.]+ s/, "takeover after expiry");
    const age = Number(/unrefreshed for ([\d.]+) s/.exec(c.sync.log)![1]);
    expect(age).toBeGreaterThanOrEqual(LEASE); // logged to 0.1 s; the engine requires more than LEASE
    await c.sync.waitFor(/state ready/, "restore after takeover");
    expect(localRows(c.dir).check).toBe("ok");
    c.sync.proc.kill("SIGTERM");
    await c.sync.exited;

    // A pointer replaced by hand (docs/secrets-and-operations.md#restore-a-bots-state-by-hand) stops the writer.
    const d = instance("gcs:bot-bucket", env());
    await d.sync.waitFor(/waiting for the lease|holding the lease/, "d starts");
    const w3 = await agent(d);
    await d.sync.waitFor(/periodic snapshot/, "d writes");
    const pointer = gcs.objects.get("bot-bucket/botfleet-state/pointer.json")!;
    gcs.objects.set("bot-bucket/botfleet-state/pointer.json", { data: pointer.data, generation: pointer.generation + 100_000, updated: new Date() });
    await d.sync.waitFor(/the pointer was changed by someone else .*HTTP 412/, "the writer notices");
    const snapshotsAfter = () => gcs.requests.filter((r) => r.method === "POST" && r.query.name?.startsWith("botfleet-state/snapshots/")).length;
    const count = snapshotsAfter();
    await sleep(INTERVAL * 2500);
    expect(snapshotsAfter()).toBe(count);
    expect(gcs.objects.get("bot-bucket/botfleet-state/pointer.json")!.generation).toBe(pointer.generation + 100_000);
    w3.proc.kill("SIGTERM");
    d.sync.proc.kill("SIGTERM");
    await d.sync.exited;

    // The lock is taken but the pointer cannot be read, then the instance is stopped: it must not
    // declare the state ready or write anything, and it gives the lock back.
    gcs.fail = (method, name) => (method === "GET" && name === "botfleet-state/pointer.json" ? 503 : undefined);
    const e = instance("gcs:bot-bucket", env());
    await e.sync.waitFor(/cannot read the pointer: .*HTTP 503/, "the pointer unreadable");
    const uploadsBefore = gcs.requests.filter((r) => r.method === "POST" && !r.query.name?.endsWith("lock.json")).length;
    e.sync.proc.kill("SIGTERM");
    expect(await e.sync.exited).toBe(0);
    gcs.fail = undefined;
    expect(existsSync(e.ready)).toBe(false);
    expect(existsSync(join(e.dir, ".botfleet-state-local"))).toBe(false);
    expect(gcs.requests.filter((r) => r.method === "POST" && !r.query.name?.endsWith("lock.json")).length).toBe(uploadsBefore);
    expect(gcs.objects.has("bot-bucket/botfleet-state/lock.json")).toBe(false);

    // Request shapes.
    const token = gcs.requests.filter((r) => r.path.startsWith("/computeMetadata/"));
    expect(token.length).toBeGreaterThan(0);
    for (const r of token) expect(r.headers["metadata-flavor"]).toBe("Google");
    const storage = gcs.requests.filter((r) => r.path.includes("/b/bot-bucket/"));
    // A resumable upload's session URI is its own credential (cloud.google.com/storage/docs/performing-resumable-uploads).
    for (const r of storage) expect(r.headers.authorization ?? (r.query.upload_id && "the session URI")).toBe(r.query.upload_id ? "the session URI" : "Bearer stand-in-token");
    const uploads = storage.filter((r) => r.method === "POST");
    for (const r of uploads) {
      expect(r.path).toBe("/upload/storage/v1/b/bot-bucket/o");
      // A snapshot over 16 MiB goes up as a resumable upload (its session's parts are PUTs).
      expect(r.query.name?.startsWith("botfleet-state/snapshots/") ? ["media", "resumable"] : ["media"]).toContain(r.query.uploadType);
      // Every write of state carries a generation precondition: nothing is ever overwritten
      // blindly. The published status is no state: the holder rewrites it, only while its lease is proven.
      if (r.query.name === "botfleet-state/status.json") continue;
      expect(r.query.ifGenerationMatch).toMatch(/^\d+$/);
    }
    expect(uploads.filter((r) => r.query.name === "botfleet-state/status.json").length).toBeGreaterThan(0);
    expect(uploads.filter((r) => r.query.name.startsWith("botfleet-state/snapshots/")).every((r) => r.query.ifGenerationMatch === "0")).toBe(true);
    const lockCreates = uploads.filter((r) => r.query.name === "botfleet-state/lock.json" && r.query.ifGenerationMatch === "0");
    expect(lockCreates.length).toBeGreaterThanOrEqual(3);
    const pointerWrites = uploads.filter((r) => r.query.name === "botfleet-state/pointer.json");
    expect(pointerWrites[0].query.ifGenerationMatch).toBe("0");
    const releases = storage.filter((r) => r.method === "DELETE" && r.path.endsWith(encodeURIComponent("botfleet-state/lock.json")));
    expect(releases.length).toBeGreaterThanOrEqual(2);
    for (const r of releases) expect(r.query.ifGenerationMatch).toMatch(/^\d+$/);
  });

  // CI, 2026-12-06: the engine took the restored state's fingerprint only after it said the state
  // was ready, so an agent's first write in that moment counted as restored and was never uploaded.
  test("a write the moment the ready file appears is in the next snapshot", async () => {
    const dir = join(work, "ready-race", "state");
    mkdirSync(dir, { recursive: true });
    const watcher = watch(dir, (_event, file) => {
      if (file === ".botfleet-state-ready" && existsSync(join(dir, file))) {
        writeFileSync(join(dir, "first.txt"), "written as the agent starts");
        watcher.close();
      }
    });
    const i = instance("gcs:bot-ready-race", env(), dir);
    try {
      await i.sync.waitFor(/periodic snapshot/, "the agent's first write uploaded", 20_000);
    } finally {
      watcher.close();
      i.sync.proc.kill("SIGTERM");
      await i.sync.exited;
    }
  });

  // Issue 33: a snapshot the store lost or damaged was found only when a restore needed it.
  test("the restore drill: the pointer's snapshot restored off to the side and verified; a damaged one is said, and a new snapshot taken and drilled; a restore at start counts", async () => {
    const bucket = "bot-drill";
    const statusOf = (dir: string) => JSON.parse(readFileSync(join(dir, ".botfleet-state-status.json"), "utf8"));
    const pointerOf = () => JSON.parse(gcs.objects.get(`${bucket}/botfleet-state/pointer.json`)!.data.toString());
    const scratch = join(work, "drill-scratch");
    const i = instance(`gcs:${bucket}`, { ...env(), STATE_SYNC_DRILL_SECONDS: "3", STATE_SYNC_SCRATCH: scratch });
    await i.sync.waitFor(/state ready/, "start");
    writeFileSync(join(i.dir, "notes.txt"), "kept through the drill");
    await i.sync.waitFor(/periodic snapshot/, "a snapshot");
    await i.sync.waitFor(/restore drill: \S+ restored off to the side and verified \(\d+ entries/, "a drill");
    const first = pointerOf().snapshot;
    expect(statusOf(i.dir).lastDrill).toMatchObject({ snapshot: first, ok: true });
    expect(existsSync(`${scratch}-drill`)).toBe(false);

    // The store damages the snapshot the pointer names; nothing changes locally.
    const key = `${bucket}/botfleet-state/${first}`;
    const damaged = gcs.objects.get(key)!;
    gcs.objects.set(key, { ...damaged, data: damaged.data.subarray(0, damaged.data.length >> 1) });
    const failed = await i.sync.waitFor(/RESTORE DRILL FAILED/, "the drill finds it", 20_000);
    expect(failed).toContain(`${first}, the snapshot the pointer names, did not restore (checksum differs from the pointer's)`);
    expect(statusOf(i.dir).lastDrill).toMatchObject({ snapshot: first, ok: false, error: "checksum differs from the pointer's" });
    expect(readFileSync(join(i.dir, "notes.txt"), "utf8")).toBe("kept through the drill");
    // A new snapshot of the unchanged state, then a drill of it that passes.
    await until(() => pointerOf().snapshot !== first, "a new snapshot", 20_000);
    const second = pointerOf().snapshot;
    await until(() => statusOf(i.dir).lastDrill.snapshot === second && statusOf(i.dir).lastDrill.ok, "the new snapshot drilled", 20_000);
    i.sync.proc.kill("SIGTERM");
    expect(await i.sync.exited).toBe(0);

    // Another instance restores at start: that restore is its drill.
    const next = instance(`gcs:${bucket}`, env());
    await next.sync.waitFor(/state ready/, "restore");
    expect(statusOf(next.dir).lastDrill).toMatchObject({ snapshot: second, ok: true, how: "restored at start" });
    next.sync.proc.kill("SIGTERM");
    expect(await next.sync.exited).toBe(0);
    const bad = instance(`gcs:${bucket}`, { ...env(), STATE_SYNC_DRILL_SECONDS: "daily" });
    expect(await bad.sync.exited).toBe(1);
    expect(bad.sync.log).toContain('STATE_SYNC_DRILL_SECONDS: "daily" is not a number of seconds above 0');
  });

  // Issue 39: a restore by hand meant breaking the lease and hand-writing a pointer with a sha256.
  test("a restore asked for in the store: the current state snapshotted first, the agent stopped, the state swapped, the pointer moved; a bad request changes nothing", async () => {
    const bucket = "bot-restore";
    const key = (name: string) => `${bucket}/botfleet-state/${name}`;
    const json = (name: string) => JSON.parse(gcs.objects.get(key(name))!.data.toString());
    // As `botfleet backups restore` asks: only while no other request is pending (it creates the
    // object only if absent), so the holder's delete of a handled request never takes a new one.
    const ask = async (request: unknown) => {
      await until(() => !gcs.objects.has(key("restore.json")), "the previous request handled", 30_000);
      gcs.objects.set(key("restore.json"), { data: Buffer.from(typeof request === "string" ? request : JSON.stringify(request)), generation: 1, updated: new Date() });
    };
    const i = instance(`gcs:${bucket}`, env());
    await i.sync.waitFor(/state ready/, "start");
    // The agent's watcher, as the container launcher does it: touches its heartbeat while the ready file exists.
    let stoppedAt = 0;
    let agentStarts = 0;
    let running = false;
    const watcher = setInterval(() => {
      if (existsSync(i.ready)) {
        if (!running) agentStarts += 1;
        running = true;
        writeFileSync(join(i.dir, ".botfleet-agent-running"), "");
      } else if (running) {
        // Stopped: the launcher removes its heartbeat (templates/container/launch.sh).
        running = false;
        stoppedAt = Date.now();
        rmSync(join(i.dir, ".botfleet-agent-running"), { force: true });
      }
    }, 200);
    try {
      writeFileSync(join(i.dir, "notes.txt"), "monday");
      await i.sync.waitFor(/periodic snapshot/, "monday's snapshot");
      const monday = json("pointer.json").snapshot;
      writeFileSync(join(i.dir, "notes.txt"), "tuesday");
      await until(() => json("pointer.json").snapshot !== monday, "tuesday's snapshot", 20_000);
      const tuesday = json("pointer.json").snapshot;
      await until(() => gcs.objects.has(key("status.json")) && json("status.json").lastSnapshot?.name === tuesday, "the status published", 20_000);
      expect(json("status.json")).toMatchObject({ phase: "running", interval: INTERVAL });

      // Unsnapshotted work, then a restore of monday asked for.
      writeFileSync(join(i.dir, "notes.txt"), "wednesday, not yet in a snapshot");
      await ask({ id: "r-1", snapshot: monday, requestedAt: new Date().toISOString(), by: "test" });
      await i.sync.waitFor(/RESTORED/, "the restore", 30_000);
      expect(readFileSync(join(i.dir, "notes.txt"), "utf8")).toBe("monday");
      const pointer = json("pointer.json");
      expect(pointer).toMatchObject({ snapshot: monday, restoreId: "r-1" });
      const before = pointer.history[1];
      expect(before).not.toBe(tuesday);
      // (the unsnapshotted work is in it: restored below)
      expect(stoppedAt).toBeGreaterThan(0);
      // The request is deleted once applied, then the result published.
      await until(() => json("status.json").lastRestore?.id === "r-1", "the result published", 10_000);
      expect(gcs.objects.has(key("restore.json"))).toBe(false);
      expect(json("status.json").lastRestore).toMatchObject({ ok: true, snapshot: monday, before });
      await until(() => agentStarts === 2, "the agent started again", 10_000);

      // What was there before the restore comes back the same way.
      await ask({ id: "r-2", snapshot: before });
      await until(() => json("pointer.json").restoreId === "r-2", "restore of the state from before", 30_000);
      expect(readFileSync(join(i.dir, "notes.txt"), "utf8")).toBe("wednesday, not yet in a snapshot");

      // A snapshot that is not there, and a request that is not one: refused, nothing changes.
      await ask({ id: "r-3", snapshot: "snapshots/2020-01-01T00-00-00-000Z-1-0.tar.gz" });
      await i.sync.waitFor(/RESTORE REFUSED: snapshots\/2020-01-01T00-00-00-000Z-1-0.tar.gz: missing from the store. The state stays as it was/, "refused", 30_000);
      await ask("restore monday please");
      await i.sync.waitFor(/RESTORE REFUSED: botfleet-state\/restore.json is not a restore request/, "refused", 30_000);
      await until(() => !gcs.objects.has(key("restore.json")), "the bad request deleted", 10_000);
      expect(readFileSync(join(i.dir, "notes.txt"), "utf8")).toBe("wednesday, not yet in a snapshot");
      expect(json("pointer.json").restoreId).toBe("r-2");
      expect(existsSync(i.ready)).toBe(true);
    } finally {
      clearInterval(watcher);
    }
    i.sync.proc.kill("SIGTERM");
    expect(await i.sync.exited).toBe(0);
    expect(json("status.json").phase).toBe("stopping");
  });

  // Issue 34: the rollback of an agent upgrade on a managed target deploys the older image again;
  // that agent must never read the state the newer one migrated. A restore asked for "next-start"
  // is left alone by the running engine and applied by the next one before its agent may start.
  test("a restore asked for at the next start of a release: the running engine leaves it, so does a restart of another release; the release's start restores it before the state is ready, moves the pointer, and reports it", async () => {
    const bucket = "bot-restore-at-start";
    const key = (name: string) => `${bucket}/botfleet-state/${name}`;
    const json = (name: string) => JSON.parse(gcs.objects.get(key(name))!.data.toString());
    const first = instance(`gcs:${bucket}`, { ...env(), STATE_SYNC_RELEASE: "0ld0ld0ld0ld" });
    await first.sync.waitFor(/state ready/, "start");
    writeFileSync(join(first.dir, "notes.txt"), "before the upgrade");
    await first.sync.waitFor(/periodic snapshot/, "the snapshot before the upgrade");
    const before = json("pointer.json").snapshot;
    writeFileSync(join(first.dir, "notes.txt"), "migrated by the upgrade");
    await until(() => json("pointer.json").snapshot !== before, "the migrated state's snapshot", 20_000);
    const request = { id: "rollback-1", snapshot: before, when: "next-start", release: "0ld0ld0ld0ld", requestedAt: new Date().toISOString(), by: "deploy workflow" };
    gcs.objects.set(key("restore.json"), { data: Buffer.from(JSON.stringify(request)), generation: 1, updated: new Date() });
    // Two snapshots on (the engine reads requests after each), it has read it and left it alone.
    for (const write of ["migrated, later", "migrated, later still"]) {
      const current = json("pointer.json").snapshot;
      writeFileSync(join(first.dir, "notes.txt"), write);
      await until(() => json("pointer.json").snapshot !== current, `the snapshot of "${write}"`, 20_000);
    }
    expect(readFileSync(join(first.dir, "notes.txt"), "utf8")).toBe("migrated, later still");
    expect(gcs.objects.has(key("restore.json"))).toBe(true);
    first.sync.proc.kill("SIGTERM");
    expect(await first.sync.exited).toBe(0);
    // The failed release restarting (a platform's restart of its container) is not the one asked for.
    const failed = instance(`gcs:${bucket}`, { ...env(), STATE_SYNC_RELEASE: "feedfacecafe" });
    await failed.sync.waitFor(/state ready/, "the failed release's restart");
    expect(failed.sync.log).not.toContain("RESTORED");
    expect(readFileSync(join(failed.dir, "notes.txt"), "utf8")).toBe("migrated, later still");
    expect(gcs.objects.has(key("restore.json"))).toBe(true);
    failed.sync.proc.kill("SIGTERM");
    expect(await failed.sync.exited).toBe(0);

    const next = instance(`gcs:${bucket}`, { ...env(), STATE_SYNC_RELEASE: "0ld0ld0ld0ld" });
    await next.sync.waitFor(/state ready/, "the next start");
    const log = next.sync.log;
    expect(log).toMatch(new RegExp(`RESTORED ${before.replace(/[.]/g, "\\.")} at start, as asked \\(rollback-1 by deploy workflow\\), before the agent started`));
    expect(log.indexOf("RESTORED")).toBeLessThan(log.indexOf("state ready"));
    expect(readFileSync(join(next.dir, "notes.txt"), "utf8")).toBe("before the upgrade");
    expect(json("pointer.json")).toMatchObject({ snapshot: before, restoreId: "rollback-1" });
    // The migrated state stays in the history, restorable.
    expect(json("pointer.json").history[1]).not.toBe(before);
    expect(gcs.objects.has(key("restore.json"))).toBe(false);
    await until(() => json("status.json").lastRestore?.id === "rollback-1", "the result published", 20_000);
    expect(json("status.json").lastRestore).toMatchObject({ ok: true, snapshot: before, how: "at start" });
    next.sync.proc.kill("SIGTERM");
    expect(await next.sync.exited).toBe(0);
  });

  // Issue 33: five snapshots a minute apart were all the history there was; "yesterday" could not be restored.
  test("history: every snapshot of the last hour, the newest of each hour for 48 h and of each day for 30 days; older ones pruned, never the pointer's", async () => {
    const bucket = "bot-retention";
    const seed = instance(`gcs:${bucket}`, env());
    await seed.sync.waitFor(/state ready/, "seed");
    writeFileSync(join(seed.dir, "a.txt"), "1");
    await seed.sync.waitFor(/periodic snapshot/, "a first snapshot");
    seed.sync.proc.kill("SIGTERM");
    expect(await seed.sync.exited).toBe(0);
    const H = 3_600_000;
    const D = 24 * H;
    const now = Date.now();
    const hour = Math.floor((now - 3 * H) / H) * H;
    const day = Math.floor((now - 5 * D) / D) * D;
    const name = (t: number) => `snapshots/${new Date(t).toISOString().replace(/[:.]/g, "-")}-1-0.tar.gz`;
    const at = { recent: [now - 10 * 60_000, now - 50 * 60_000], sameHour: [hour + 10 * 60_000, hour + 20 * 60_000], hourly: [now - 47 * H], sameDay: [day + H, day + 2 * H], old: [now - 40 * D] };
    for (const t of Object.values(at).flat()) gcs.objects.set(`${bucket}/botfleet-state/${name(t)}`, { data: Buffer.from("x"), generation: 1, updated: new Date() });
    const next = instance(`gcs:${bucket}`, env());
    await next.sync.waitFor(/state ready/, "restore");
    writeFileSync(join(next.dir, "a.txt"), "2");
    await next.sync.waitFor(/pruned 3 snapshots beyond the retention \(all=1h hourly=48h daily=30d\)/, "pruning");
    const left = [...gcs.objects.keys()].filter((k) => k.startsWith(`${bucket}/botfleet-state/snapshots/`)).map((k) => k.slice(`${bucket}/botfleet-state/`.length));
    for (const t of [...at.recent, at.sameHour[1], ...at.hourly, at.sameDay[1]]) expect(left).toContain(name(t));
    for (const t of [at.sameHour[0], at.sameDay[0], ...at.old]) expect(left).not.toContain(name(t));
    const pointer = JSON.parse(gcs.objects.get(`${bucket}/botfleet-state/pointer.json`)!.data.toString());
    for (const kept of pointer.history) expect(left).toContain(kept);
    next.sync.proc.kill("SIGTERM");
    expect(await next.sync.exited).toBe(0);

    // A retention that does not parse stops the engine at once, saying what it expects.
    const bad = instance(`gcs:${bucket}`, { ...env(), STATE_SYNC_RETENTION: "weekly=4w" });
    expect(await bad.sync.exited).toBe(1);
    expect(bad.sync.log).toContain('STATE_SYNC_RETENTION: "weekly=4w" is not <all|hourly|daily>=<number><m|h|d>');
  });
});
