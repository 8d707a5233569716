// botfleet state-sync: keeps a bot's live state on local disk and its durable copy in the cloud's
// object store (Azure Blob or Cloud Storage), with one writer at a time. Runs beside the agent
// (sidecar container, or a host-networked container on the VM) on Node 24 with no dependencies.
//
// Protocol, per bot (one container / bucket prefix):
//   1. Take the lease on the bot's durable state (Azure: blob lease on the pointer blob, which the
//      store then refuses to let anyone else write; Cloud Storage: a lock object written with
//      generation preconditions and an expiry). Without it: wait, log why, write nothing.
//   2. Restore the snapshot the pointer names (verified: checksum, every SQLite database passes
//      `PRAGMA integrity_check`; a bad one is refused and the previous one in the pointer's
//      history is tried), then write the ready file the agent's launcher waits for.
//   3. Every interval: a consistent copy of each SQLite database (`VACUUM INTO`, one read
//      transaction) plus the other files, packed as tar.gz, uploaded as a new object, then the
//      pointer rewritten last (the switch is atomic). Unchanged state is not uploaded.
//   4. On SIGTERM: a final snapshot, then the lease is released.
// The store unreachable at start: logged, retried; nothing is restored or written until the
// pointer has been read, so empty state never replaces good state.
import { createHash, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { chown, mkdir, readdir, readFile, rename, rm, stat, writeFile, open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { gzipSync, gunzipSync } from "node:zlib";

const PREFIX = "botfleet-state/";
/** Names inside the state directory that belong to this program, never to a snapshot. */
export const READY_FILE = ".botfleet-state-ready";
const LOCAL_FILE = ".botfleet-state-local";
const STAGING_DIR = ".botfleet-state-staging";
/** This instance's lease id / lock holder: a restarted sync in the same instance takes its lease back. */
const ID_FILE = ".botfleet-state-instance";
const OWN = new Set([READY_FILE, LOCAL_FILE, STAGING_DIR, ID_FILE]);
/** SQLite's side files: their content is inside the `VACUUM INTO` copy; lock files are per host. */
const SKIP = /(-wal|-shm|-journal|\.lock)$/;
const SQLITE_MAGIC = Buffer.from("SQLite format 3\0", "latin1");
/** Top-level entries the agent regenerates by itself (STATE_SYNC_EXCLUDE): never snapshotted, kept on restore. */
let excluded = new Set();
const HISTORY = 5;

const log = (msg) => console.log(`${new Date().toISOString()} state-sync: ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class StoreError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function request(method, url, { headers = {}, body } = {}) {
  let res;
  try {
    // 30 s, plus a second per MB sent: a large snapshot on a slow link is not cut off.
    res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(30_000 + Math.ceil((body?.length ?? 0) / 1000)) });
  } catch (e) {
    throw new StoreError(`${method} ${url.split("?")[0]}: store unreachable (${e.cause?.code ?? e.message})`, 0);
  }
  return res;
}

async function expect(res, ok, what) {
  if (ok.includes(res.status)) return res;
  const text = (await res.text()).slice(0, 300);
  throw new StoreError(`${what}: HTTP ${res.status} ${text}`, res.status);
}

// ---------------------------------------------------------------------------------------------
// Tokens: managed identity (Azure VM IMDS, Container Apps identity endpoint) or the Google
// metadata server. Cached until 5 minutes before expiry.
export function tokenSource(env) {
  let cached = { token: "", until: 0 };
  const fetchToken = async () => {
    if (env.STATE_SYNC_STORE.startsWith("gcs:")) {
      const host = env.GCE_METADATA_HOST ?? "metadata.google.internal";
      const res = await expect(
        await request("GET", `http://${host}/computeMetadata/v1/instance/service-accounts/default/token`, { headers: { "Metadata-Flavor": "Google" } }),
        [200],
        "token from the metadata server",
      );
      const j = await res.json();
      return { token: j.access_token, until: Date.now() + j.expires_in * 1000 };
    }
    const resource = "https://storage.azure.com/";
    const clientId = env.STATE_SYNC_CLIENT_ID;
    let res;
    if (env.IDENTITY_ENDPOINT && env.IDENTITY_HEADER) {
      // Container Apps (and App Service) managed identity endpoint.
      const q = new URLSearchParams({ resource, "api-version": "2019-08-01", ...(clientId && { client_id: clientId }) });
      res = await request("GET", `${env.IDENTITY_ENDPOINT}?${q}`, { headers: { "X-IDENTITY-HEADER": env.IDENTITY_HEADER } });
    } else {
      // VM: IMDS. The identity is named by client ID, or by resource ID where only that is known
      // when the bootstrap is rendered (the VM computes it from the instance metadata).
      const which = env.STATE_SYNC_MSI_RES_ID ? { msi_res_id: env.STATE_SYNC_MSI_RES_ID } : clientId ? { client_id: clientId } : {};
      const q = new URLSearchParams({ resource, "api-version": "2018-02-01", ...which });
      const imds = env.STATE_SYNC_IMDS_ENDPOINT ?? "http://169.254.169.254";
      res = await request("GET", `${imds}/metadata/identity/oauth2/token?${q}`, { headers: { Metadata: "true" } });
    }
    const j = await (await expect(res, [200], "token from the managed identity endpoint")).json();
    return { token: j.access_token, until: Number(j.expires_on) * 1000 };
  };
  return async () => {
    if (Date.now() > cached.until - 300_000) cached = await fetchToken();
    return cached.token;
  };
}

// ---------------------------------------------------------------------------------------------
// Stores. Both offer: get/put/delete of objects, and a lease on the pointer.
// getPointer -> { pointer, tag }; putPointer(pointer, tag) writes only under the lease.

/** Azure Blob Storage with a bearer token (REST API; `x-ms-version` 2017-11-09+ takes OAuth). */
export class AzureStore {
  constructor(base, token, leaseSeconds, leaseId) {
    this.base = base.replace(/\/$/, "");
    this.token = token;
    this.leaseSeconds = leaseSeconds;
    this.leaseId = leaseId;
    this.describe = `Azure blob container ${this.base}`;
  }
  async h(extra = {}) {
    return { Authorization: `Bearer ${await this.token()}`, "x-ms-version": "2023-11-03", "x-ms-date": new Date().toUTCString(), ...extra };
  }
  url(name, q = "") {
    return `${this.base}/${PREFIX}${name}${q}`;
  }
  async get(name) {
    const res = await request("GET", this.url(name), { headers: await this.h() });
    if (res.status === 404) return undefined;
    return Buffer.from(await (await expect(res, [200], `read ${name}`)).arrayBuffer());
  }
  async put(name, body, extra = {}) {
    await expect(
      await request("PUT", this.url(name), { headers: await this.h({ "x-ms-blob-type": "BlockBlob", ...extra }), body }),
      [201],
      `write ${name}`,
    );
  }
  async delete(name) {
    await expect(await request("DELETE", this.url(name), { headers: await this.h() }), [202, 404], `delete ${name}`);
  }
  async lease(action) {
    const headers = { "x-ms-lease-action": action };
    if (action === "acquire") Object.assign(headers, { "x-ms-lease-duration": String(this.leaseSeconds), "x-ms-proposed-lease-id": this.leaseId });
    else headers["x-ms-lease-id"] = this.leaseId;
    return request("PUT", this.url("pointer.json", "?comp=lease"), { headers: await this.h(headers) });
  }
  /** Returns undefined when held, or why not. */
  async acquire() {
    // The pointer blob must exist to be leased: create it empty, never over an existing one.
    const create = await request("PUT", this.url("pointer.json"), {
      headers: await this.h({ "x-ms-blob-type": "BlockBlob", "If-None-Match": "*" }),
      body: "{}",
    });
    await expect(create, [201, 409, 412], "create the pointer blob");
    const res = await this.lease("acquire");
    if (res.status === 201 || res.status === 200) return undefined;
    if (res.status === 409) return `another instance holds the blob lease on ${PREFIX}pointer.json (it expires ${this.leaseSeconds} s after its holder's last renewal)`;
    await expect(res, [201], "acquire the lease");
  }
  async renew() {
    await expect(await this.lease("renew"), [200], "renew the lease");
  }
  async release() {
    await expect(await this.lease("release"), [200], "release the lease");
  }
  async getPointer() {
    const body = await this.get("pointer.json");
    return { pointer: body ? JSON.parse(body.toString("utf8") || "{}") : {} };
  }
  async putPointer(pointer) {
    // Only the lease holder can write a leased blob: the store itself enforces one writer.
    await this.put("pointer.json", Buffer.from(JSON.stringify(pointer)), { "x-ms-lease-id": this.leaseId });
  }
}

/**
 * Google Cloud Storage JSON API. Cloud Storage has no leases: the lock is an object created with
 * `ifGenerationMatch=0` (only if absent), refreshed by rewriting it with `ifGenerationMatch=<the
 * generation we wrote>`, and taken over by another instance only when its `updated` time (server
 * clock) is older than the lease period (compared with the server's Date header). The pointer is
 * written with `ifGenerationMatch` of the generation this instance last saw, right after a lock
 * refresh succeeded.
 */
export class GcsStore {
  constructor(bucket, token, leaseSeconds, holder, endpoint = "https://storage.googleapis.com") {
    this.bucket = bucket;
    this.token = token;
    this.leaseSeconds = leaseSeconds;
    this.holder = holder;
    this.endpoint = endpoint.replace(/\/$/, "");
    this.describe = `Cloud Storage bucket gs://${bucket}`;
    this.lockGeneration = undefined;
    this.pointerGeneration = "0";
  }
  async h(extra = {}) {
    return { Authorization: `Bearer ${await this.token()}`, ...extra };
  }
  obj(name, q = {}) {
    return `${this.endpoint}/storage/v1/b/${encodeURIComponent(this.bucket)}/o/${encodeURIComponent(PREFIX + name)}?${new URLSearchParams(q)}`;
  }
  upload(name, q = {}) {
    return `${this.endpoint}/upload/storage/v1/b/${encodeURIComponent(this.bucket)}/o?${new URLSearchParams({ uploadType: "media", name: PREFIX + name, ...q })}`;
  }
  async get(name) {
    const res = await request("GET", this.obj(name, { alt: "media" }), { headers: await this.h() });
    if (res.status === 404) return undefined;
    await expect(res, [200], `read ${name}`);
    return Object.assign(Buffer.from(await res.arrayBuffer()), { generation: res.headers.get("x-goog-generation") });
  }
  async put(name, body, q = {}) {
    const res = await request("POST", this.upload(name, q), { headers: await this.h({ "Content-Type": "application/octet-stream" }), body });
    return res;
  }
  async delete(name) {
    await expect(await request("DELETE", this.obj(name), { headers: await this.h() }), [204, 404], `delete ${name}`);
  }
  lockBody() {
    return Buffer.from(JSON.stringify({ holder: this.holder, leaseSeconds: this.leaseSeconds }));
  }
  async acquire() {
    const res = await this.put("lock.json", this.lockBody(), { ifGenerationMatch: "0" });
    if (res.status === 200) {
      this.lockGeneration = (await res.json()).generation;
      return undefined;
    }
    await expect(res, [412], "create the lock object");
    // Held: by us (a restarted sidecar of this instance), or by another that may have died.
    const meta = await request("GET", this.obj("lock.json"), { headers: await this.h() });
    if (meta.status === 404) return "the lock object vanished while being read; retrying";
    const m = await (await expect(meta, [200], "read the lock object")).json();
    const body = await this.get("lock.json");
    const holder = body?.generation === m.generation ? JSON.parse(body.toString("utf8")).holder : undefined;
    const age = (Date.parse(meta.headers.get("date")) - Date.parse(m.updated)) / 1000;
    if (holder !== this.holder && !(age > this.leaseSeconds))
      return `instance ${holder ?? "?"} holds the lock object ${PREFIX}lock.json (refreshed ${Math.max(0, Math.round(age))} s ago; it expires ${this.leaseSeconds} s after its last refresh)`;
    const take = await this.put("lock.json", this.lockBody(), { ifGenerationMatch: m.generation });
    if (take.status === 412) return "another instance took the lock object first";
    this.lockGeneration = (await (await expect(take, [200], "take over the lock object")).json()).generation;
    log(holder === this.holder ? "took back this instance's own lock" : `took over the lock of ${holder ?? "?"}, unrefreshed for ${age.toFixed(1)} s`);
    return undefined;
  }
  async renew() {
    const res = await this.put("lock.json", this.lockBody(), { ifGenerationMatch: this.lockGeneration });
    this.lockGeneration = (await (await expect(res, [200], "refresh the lock object")).json()).generation;
  }
  async release() {
    await expect(
      await request("DELETE", this.obj("lock.json", { ifGenerationMatch: this.lockGeneration }), { headers: await this.h() }),
      [204, 404, 412],
      "release the lock object",
    );
  }
  async getPointer() {
    const body = await this.get("pointer.json");
    this.pointerGeneration = body ? body.generation : "0";
    return { pointer: body ? JSON.parse(body.toString("utf8")) : {} };
  }
  async putPointer(pointer) {
    await this.renew();
    const res = await this.put("pointer.json", Buffer.from(JSON.stringify(pointer)), { ifGenerationMatch: this.pointerGeneration });
    this.pointerGeneration = (await (await expect(res, [200], "write the pointer")).json()).generation;
  }
  async putSnapshot(name, body) {
    await expect(await this.put(name, body, { ifGenerationMatch: "0" }), [200], `write ${name}`);
  }
}
AzureStore.prototype.putSnapshot = async function (name, body) {
  await this.put(name, body, { "If-None-Match": "*" });
};

// ---------------------------------------------------------------------------------------------
// tar (ustar + pax path records), only regular files and directories.
function header(name, size, mode, type) {
  const b = Buffer.alloc(512);
  const field = (v, off, len) => b.write(v, off, len, "utf8");
  const octal = (n, off, len) => field(n.toString(8).padStart(len - 1, "0") + "\0", off, len);
  field(name.length <= 100 ? name : "longname", 0, 100);
  octal(mode, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(0, 136, 12);
  b.fill(" ", 148, 156);
  field(type, 156, 1);
  field("ustar\0" + "00", 257, 8);
  let sum = 0;
  for (const byte of b) sum += byte;
  field(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
  return b;
}
const pad = (n) => Buffer.alloc((512 - (n % 512)) % 512);

export function tarPack(entries) {
  const parts = [];
  for (const { name, mode, data } of entries) {
    const type = data ? "0" : "5";
    if (Buffer.byteLength(name) > 100) {
      // A pax record is "<length> path=<name>\n", its length counting its own digits.
      const rec = ` path=${name}\n`;
      let len = Buffer.byteLength(rec) + 1;
      while (String(len).length + Buffer.byteLength(rec) !== len) len = String(len).length + Buffer.byteLength(rec);
      const pax = Buffer.from(`${len}${rec}`);
      parts.push(header("pax", pax.length, 0o644, "x"), pax, pad(pax.length));
    }
    parts.push(header(name, data ? data.length : 0, mode & 0o7777, type));
    if (data) parts.push(data, pad(data.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function tarUnpack(buf) {
  const out = [];
  let off = 0;
  let paxPath;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const str = (o, l) => h.toString("utf8", o, o + l).replace(/\0.*$/s, "");
    const size = parseInt(str(124, 12).trim() || "0", 8);
    const type = str(156, 1) || "0";
    const data = buf.subarray(off + 512, off + 512 + size);
    if (data.length !== size) throw new Error("truncated archive");
    off += 512 + size + ((512 - (size % 512)) % 512);
    if (type === "x") {
      const m = /\d+ path=([^\n]*)\n/.exec(data.toString("utf8"));
      paxPath = m?.[1];
      continue;
    }
    const name = paxPath ?? str(0, 100);
    paxPath = undefined;
    if (name.split("/").some((p) => p === ".." ) || name.startsWith("/")) throw new Error(`unsafe path in archive: ${name}`);
    out.push({ name, mode: parseInt(str(100, 8).trim() || "644", 8), data: type === "5" ? undefined : Buffer.from(data) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Local state.
async function isSqlite(path) {
  const fh = await open(path, "r");
  try {
    const b = Buffer.alloc(16);
    const { bytesRead } = await fh.read(b, 0, 16, 0);
    return bytesRead === 16 && b.equals(SQLITE_MAGIC);
  } finally {
    await fh.close();
  }
}

async function walk(dir, root = dir, out = []) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    const rel = relative(root, path).split(sep).join("/");
    if (dir === root && (OWN.has(e.name) || excluded.has(e.name))) continue;
    if (e.isDirectory()) {
      out.push({ rel, path, dir: true });
      await walk(path, root, out);
    } else if (e.isFile() && !SKIP.test(e.name)) out.push({ rel, path, dir: false });
  }
  return out;
}

/** Size and mtime of every file: unchanged state is not uploaded again. */
async function fingerprint(dir) {
  const h = createHash("sha256");
  for (const f of await walk(dir)) {
    if (f.dir) continue;
    const s = await stat(f.path).catch(() => undefined);
    // WAL databases change in their -wal file first: include it in the fingerprint.
    const wal = await stat(f.path + "-wal").catch(() => undefined);
    h.update(`${f.rel}\0${s?.size}\0${s?.mtimeMs}\0${wal?.size}\0${wal?.mtimeMs}\n`);
  }
  return h.digest("hex");
}

/** Opens a SQLite database (node:sqlite is loaded lazily: only Node >= 22.5 has it). */
async function database(path, readOnly) {
  const { DatabaseSync } = await import("node:sqlite");
  return new DatabaseSync(path, { readOnly, timeout: 10_000 });
}

export async function integrityCheck(path) {
  let db;
  try {
    db = await database(path, false);
    const rows = db.prepare("PRAGMA integrity_check").all();
    const result = rows.map((r) => Object.values(r)[0]).join("; ");
    return result === "ok" ? undefined : result;
  } catch (e) {
    return e.message;
  } finally {
    db?.close();
  }
}

/** A packed, verified snapshot of `dir`, or throws when a database in it fails its check. */
export async function snapshot(dir, scratch) {
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  const entries = [];
  let databases = 0;
  try {
    for (const f of await walk(dir)) {
      const s = await stat(f.path).catch(() => undefined);
      if (!s) continue; // removed since listed
      if (f.dir) {
        entries.push({ name: f.rel, mode: s.mode });
        continue;
      }
      let data;
      if (await isSqlite(f.path)) {
        // VACUUM INTO: one read transaction, so a consistent copy even while the agent writes
        // (the online backup API restarts whenever another connection writes, and can starve).
        const copy = join(scratch, `db-${databases++}.sqlite`);
        const db = await database(f.path, false);
        try {
          db.prepare("VACUUM INTO ?").run(copy);
        } finally {
          db.close();
        }
        const problem = await integrityCheck(copy);
        if (problem) throw new Error(`database ${f.rel} fails integrity_check (${problem}); snapshot refused, the previous one stays current`);
        data = await readFile(copy);
      } else data = await readFile(f.path).catch(() => undefined);
      if (data) entries.push({ name: f.rel, mode: s.mode, data });
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { body: gzipSync(tarPack(entries)), files: entries.filter((e) => e.data).length, databases };
}

/** Unpacks `body` into `staging` and checks every database; throws what is wrong. */
export async function verifyInto(body, staging) {
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  let entries;
  try {
    entries = tarUnpack(gunzipSync(body));
  } catch (e) {
    throw new Error(`not a readable archive (${e.message})`);
  }
  for (const e of entries) {
    const path = join(staging, e.name);
    if (!e.data) {
      await mkdir(path, { recursive: true, mode: e.mode });
      continue;
    }
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, e.data, { mode: e.mode });
    if (e.data.subarray(0, 16).equals(SQLITE_MAGIC)) {
      const problem = await integrityCheck(path);
      if (problem) throw new Error(`database ${e.name} fails integrity_check (${problem})`);
      // integrity_check may leave side files of the copy behind.
      await rm(path + "-wal", { force: true });
      await rm(path + "-shm", { force: true });
    } else if (/\.(sqlite|db)$/.test(e.name) && e.data.length > 0) throw new Error(`database ${e.name} is not a SQLite file`);
  }
  return entries.length;
}

/** Replaces everything in `dir` (but this program's own files) by what `staging` holds. */
async function swapIn(dir, staging) {
  for (const name of await readdir(dir)) if (!OWN.has(name) && !excluded.has(name)) await rm(join(dir, name), { recursive: true, force: true });
  for (const name of await readdir(staging)) await rename(join(staging, name), join(dir, name));
  await rm(staging, { recursive: true, force: true });
}

/**
 * Gives `dir` and everything in it to `owner` ("uid:gid") when this program runs as root (the
 * public Node image's default user, on platforms that cannot set a container's user): the agent
 * runs as that user and must own its state.
 */
async function giveTo(owner, dir) {
  if (!owner || process.getuid?.() !== 0) return;
  const [uid, gid] = owner.split(":").map(Number);
  await chown(dir, uid, gid);
  for (const f of await walk(dir)) await chown(f.path, uid, gid).catch(() => {});
}

// ---------------------------------------------------------------------------------------------
export function storeFrom(env, instance) {
  const spec = env.STATE_SYNC_STORE ?? "";
  const leaseSeconds = Number(env.STATE_SYNC_LEASE_SECONDS ?? 60);
  const token = tokenSource(env);
  if (spec.startsWith("azure:")) {
    // Azure lease durations are 15..60 s or infinite; infinite would never expire on a crash.
    if (!(leaseSeconds >= 15 && leaseSeconds <= 60)) throw new Error(`STATE_SYNC_LEASE_SECONDS=${leaseSeconds}: Azure blob leases last 15 to 60 seconds`);
    return new AzureStore(spec.slice(6), token, leaseSeconds, instance);
  }
  if (spec.startsWith("gcs:")) return new GcsStore(spec.slice(4), token, leaseSeconds, instance, env.STATE_SYNC_GCS_ENDPOINT);
  throw new Error(`STATE_SYNC_STORE=${JSON.stringify(spec)}: expected azure:https://<account>.blob.core.windows.net/<container> or gcs:<bucket>`);
}

export async function run(env = process.env) {
  const dir = env.STATE_SYNC_DIR;
  if (!dir) throw new Error("STATE_SYNC_DIR is not set: the local state directory shared with the agent");
  const intervalMs = Number(env.STATE_SYNC_INTERVAL_SECONDS ?? 60) * 1000;
  const retryMs = Number(env.STATE_SYNC_RETRY_SECONDS ?? 5) * 1000;
  await mkdir(dir, { recursive: true });
  excluded = new Set((env.STATE_SYNC_EXCLUDE ?? "").split(/\s+/).filter(Boolean));
  if (excluded.size) log(`not in snapshots, the agent regenerates them: ${[...excluded].join(", ")}`);
  // A UUID (Azure lease ids are GUIDs), kept in the state directory: on the same local disk it
  // names the same instance after a restart of this program.
  let instance = (await readFile(join(dir, ID_FILE), "utf8").catch(() => "")).trim();
  if (!instance) await writeFile(join(dir, ID_FILE), (instance = randomUUID()));
  const store = storeFrom(env, instance);
  await giveTo(env.STATE_SYNC_OWNER, dir);
  const scratch = env.STATE_SYNC_SCRATCH ?? join(tmpdir(), `botfleet-state-sync-${instance}`);
  let phase = "starting";
  let stopping = false;
  const health = env.STATE_SYNC_PORT
    ? createServer((_, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(`state-sync ${phase}\n`);
      }).listen(Number(env.STATE_SYNC_PORT), "0.0.0.0")
    : undefined;

  await rm(join(dir, READY_FILE), { force: true });
  const stopped = new Promise((resolve) =>
    ["SIGTERM", "SIGINT"].forEach((s) =>
      process.on(s, () => {
        log(`${s}: final snapshot, then releasing the lease`);
        stopping = true;
        resolve();
      }),
    ),
  );

  // 1. Lease, retried until held. Nothing is written before.
  phase = "waiting-for-lease";
  for (let waitingSince = Date.now(); ; ) {
    if (stopping) return health?.close();
    try {
      const why = await store.acquire();
      if (!why) break;
      log(`waiting for the lease on ${store.describe}: ${why}. Not restoring or writing anything until it is free (waiting ${Math.round((Date.now() - waitingSince) / 1000)} s).`);
    } catch (e) {
      log(`cannot take the lease on ${store.describe}: ${e.message}. Retrying in ${retryMs / 1000} s; nothing is restored or written meanwhile.`);
    }
    await Promise.race([sleep(retryMs), stopped]);
  }
  log(`holding the lease on ${store.describe}`);

  let lost = false;
  const renewer = setInterval(async () => {
    try {
      await store.renew();
    } catch (e) {
      log(`LEASE RENEWAL FAILED: ${e.message}`);
      if (e.status >= 400) {
        lost = true;
        log("the lease is lost (another instance may hold it now): no more snapshots are written by this instance");
      }
    }
  }, (store.leaseSeconds * 1000) / 3);

  // 2. Restore.
  phase = "restoring";
  let pointer;
  for (;;) {
    try {
      ({ pointer } = await store.getPointer());
      break;
    } catch (e) {
      log(`cannot read the pointer: ${e.message}. Retrying in ${retryMs / 1000} s.`);
      if (stopping) break;
      await sleep(retryMs);
    }
  }
  if (!pointer) {
    // Stopped before the store ever answered: nothing was restored, so nothing may be written.
    clearInterval(renewer);
    await store.release().catch(() => {});
    health?.close();
    return;
  }
  const localMark = await readFile(join(dir, LOCAL_FILE), "utf8").catch(() => undefined);
  if (localMark !== undefined && localMark === (pointer.snapshot ?? "")) {
    log(`local state is this instance's own and at least as new as ${pointer.snapshot ?? "the empty store"}: kept, not restored`);
  } else if (pointer.snapshot) {
    const candidates = [pointer.snapshot, ...(pointer.history ?? []).filter((h) => h !== pointer.snapshot)];
    let restored = false;
    for (const name of candidates) {
      try {
        const body = await store.get(name);
        if (!body) throw new Error("missing from the store");
        const expected = name === pointer.snapshot ? pointer.sha256 : undefined;
        if (expected && createHash("sha256").update(body).digest("hex") !== expected) throw new Error("checksum differs from the pointer's");
        const count = await verifyInto(body, join(dir, STAGING_DIR));
        await swapIn(dir, join(dir, STAGING_DIR));
        await giveTo(env.STATE_SYNC_OWNER, dir);
        log(`restored ${name} (${count} entries, ${body.length} bytes)${name === pointer.snapshot ? "" : " — an older snapshot, the newer ones were refused"}`);
        restored = true;
        break;
      } catch (e) {
        await rm(join(dir, STAGING_DIR), { recursive: true, force: true });
        log(`REFUSED snapshot ${name}: ${e.message}`);
      }
    }
    if (!restored) {
      // Never start empty over a store that has state: the operator must look.
      clearInterval(renewer);
      await store.release().catch(() => {});
      health?.close();
      throw new Error(`no snapshot in ${store.describe} passed verification (${candidates.join(", ")}); refusing to start the agent on empty state. Restore one by hand: docs/secrets-and-operations.md#restore-a-bots-state-by-hand in botfleet.`);
    }
  } else log(`no snapshot in ${store.describe} yet: starting with the local state as it is`);
  await writeFile(join(dir, LOCAL_FILE), pointer.snapshot ?? "");
  await writeFile(join(dir, READY_FILE), new Date().toISOString() + "\n");
  phase = "running";
  log("state ready: the agent may start");

  // 3. Snapshots.
  let last = await fingerprint(dir);
  let seq = 0;
  const save = async (why) => {
    if (lost) return;
    const now = await fingerprint(dir);
    if (now === last && why !== "final") return;
    if (now === last) return log("final: state unchanged since the last snapshot");
    const started = Date.now();
    const snap = await snapshot(dir, scratch);
    const name = `snapshots/${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}-${seq++}.tar.gz`;
    await store.putSnapshot(name, snap.body);
    const history = [name, ...(pointer.history ?? (pointer.snapshot ? [pointer.snapshot] : []))];
    const next = { snapshot: name, sha256: createHash("sha256").update(snap.body).digest("hex"), bytes: snap.body.length, time: new Date().toISOString(), history: history.slice(0, HISTORY) };
    try {
      await store.putPointer(next);
    } catch (e) {
      // Someone else wrote the pointer (a restore by hand, or another instance that took over):
      // this instance is no longer the writer.
      if (e.status === 409 || e.status === 412) {
        lost = true;
        await store.delete(name).catch(() => {});
        log(`the pointer was changed by someone else (${e.message}): this instance writes nothing more; restart the bot to restore what the pointer names`);
        return;
      }
      throw e;
    }
    await writeFile(join(dir, LOCAL_FILE), name);
    for (const old of history.slice(HISTORY)) await store.delete(old).catch((e) => log(`could not delete ${old}: ${e.message}`));
    pointer = next;
    last = now;
    log(`${why} snapshot ${name}: ${snap.files} files, ${snap.databases} databases, ${snap.body.length} bytes, ${Date.now() - started} ms`);
  };
  while (!stopping) {
    await Promise.race([sleep(intervalMs), stopped]);
    if (stopping) break;
    try {
      await save("periodic");
    } catch (e) {
      log(`snapshot failed: ${e.message}. The previous snapshot stays current; retrying next interval.`);
    }
  }

  // 4. Graceful stop.
  clearInterval(renewer);
  try {
    await save("final");
  } catch (e) {
    log(`final snapshot failed: ${e.message}`);
  }
  if (!lost) await store.release().then(() => log("lease released"), (e) => log(`lease release failed (it expires by itself): ${e.message}`));
  health?.close();
}

if (import.meta.url === `file://${process.argv[1]}` || process.env.STATE_SYNC_MAIN === "1") {
  run().then(
    () => process.exit(0),
    (e) => {
      log(`FATAL: ${e.message}`);
      process.exit(1);
    },
  );
}
