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
//      pointer rewritten last (the switch is atomic). Unchanged state is not uploaded. Snapshots
//      and restores stream through disk in parts of PART_BYTES, and SQLite's synchronous work runs
//      in a worker thread: memory stays bounded whatever the state's size, and the lease renewer
//      is never starved.
//   4. On SIGTERM: a final snapshot, then the lease is released.
// The store unreachable at start: logged, retried; nothing is restored or written until the
// pointer has been read, so empty state never replaces good state.
import { createHash, randomUUID } from "node:crypto";
import { createServer, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { createReadStream, createWriteStream, renameSync, rmSync, writeFileSync } from "node:fs";
import { chown, copyFile, lchown, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { basename, dirname, join, relative, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Worker } from "node:worker_threads";
import { createGunzip, createGzip } from "node:zlib";

const PREFIX = "botfleet-state/";
/** Names inside the state directory that belong to this program, never to a snapshot. */
export const READY_FILE = ".botfleet-state-ready";
const LOCAL_FILE = ".botfleet-state-local";
const STAGING_DIR = ".botfleet-state-staging";
/** This instance's lease id / lock holder: a restarted sync in the same instance takes its lease back. */
const ID_FILE = ".botfleet-state-instance";
/**
 * Touched every 2 s by the agent's watcher while the agent may run (the container launcher, or
 * run-agent.sh on a VM): no restore replaces the state while it is fresh.
 */
export const AGENT_FILE = ".botfleet-agent-running";
/**
 * In the store: a restore someone asked for (`botfleet backups restore`), `{id, snapshot, sha256?,
 * requestedAt, by}`. The lease holder applies it (a snapshot of the current state first) and deletes it.
 */
export const RESTORE_REQUEST = "restore.json";

/** A restore request as `botfleet backups restore` writes it: `{id, snapshot: "snapshots/<name>.tar.gz", ...}`. */
const isRestoreRequest = (asked) => typeof asked?.id === "string" && typeof asked.snapshot === "string" && /^snapshots\/[^/]+\.tar\.gz$/.test(asked.snapshot);

/**
 * The restore request an engine applies at its start, before the agent may start, or undefined:
 * one asked for `"when": "next-start"` (`botfleet backups restore --at-next-start`: the rollback of
 * an agent upgrade, whose migrated state the older agent must never read), well formed, not
 * applied already, and, when it names a release, asked of this engine's (STATE_SYNC_RELEASE): the
 * failed release's own restarts must leave it to the older release deployed after it. A running
 * engine leaves such a request for the next one.
 */
export function restoreAtStart(body, pointer, release) {
  let asked;
  try {
    asked = body ? JSON.parse(body.toString("utf8")) : undefined;
  } catch {
    return undefined;
  }
  const valid = asked?.when === "next-start" && isRestoreRequest(asked);
  return valid && asked.id !== pointer.restoreId && (asked.release === undefined || asked.release === release) ? asked : undefined;
}

/** In the store: the holder's status (below), for `botfleet status`; rewritten on change and every 10 minutes. */
export const STORE_STATUS = "status.json";
const PUBLISH_EVERY_MS = 10 * 60_000;
/**
 * What this instance is doing, for the bot's health detail and the operations command: its phase,
 * the last snapshot, the last failure, and a lost lease with its reason (JSON, rewritten on change).
 */
export const STATUS_FILE = ".botfleet-state-status.json";
/**
 * In the store: a DM pairing someone asked for (`botfleet pairing`), `{id, action: "list" |
 * "approve", channel, code?}`. The lease holder hands it to the agent's watcher (the container
 * launcher, or run-agent.sh on a VM) through PAIRING_FILE, which runs the runtime's own pairing
 * command beside the agent and answers in PAIRING_DONE (the request's id and the exit status,
 * then `.stdout` and `.stderr` beside it); the answer goes to PAIRING_RESULT, the request is deleted.
 */
export const PAIRING_REQUEST = "pairing.json";
export const PAIRING_RESULT = "pairing-result.json";
export const PAIRING_FILE = ".botfleet-pairing-request";
export const PAIRING_DONE = ".botfleet-pairing-result";
/** How long the watcher may take: OpenClaw's CLI starts in about 10 s on a 2-core machine. */
const PAIRING_WAIT_MS = 120_000;
/** How long a request waits for an agent that is not running. */
const PAIRING_KEEP_MS = 60 * 60_000;
const PAIRING_FILES = [PAIRING_FILE, PAIRING_DONE, `${PAIRING_DONE}.stdout`, `${PAIRING_DONE}.stderr`].flatMap((n) => [n, `${n}.new`]);
const OWN = new Set([READY_FILE, LOCAL_FILE, STAGING_DIR, ID_FILE, AGENT_FILE, STATUS_FILE, ...PAIRING_FILES]);
const SQLITE_MAGIC = Buffer.from("SQLite format 3\0", "latin1");
/** Top-level entries the agent regenerates by itself (STATE_SYNC_EXCLUDE): never snapshotted, kept on restore. */
let excluded = new Set();
/** Snapshots the pointer lists for a restore to fall back on, newest first. */
const HISTORY = 5;
/**
 * How long snapshots are kept (STATE_SYNC_RETENTION): every one for `all`, then the newest of
 * each hour for `hourly`, then the newest of each day (UTC) for `daily`; older ones are deleted.
 */
export const DEFAULT_RETENTION = "all=1h hourly=48h daily=30d";
const RETENTION_UNITS = { m: 60_000, h: 3_600_000, d: 86_400_000 };
/** Pruned at most this often: a listing of the store each time. */
const PRUNE_EVERY_MS = 10 * 60_000;
/**
 * How often the newest snapshot is restored off to the side and verified (STATE_SYNC_DRILL_SECONDS):
 * a store that silently lost or damaged it is found while the local state is still good. A restore
 * at start counts as one.
 */
export const DEFAULT_DRILL_SECONDS = 24 * 3600;
/** The first drill of an instance that restored nothing at start, at most this long after it. */
const FIRST_DRILL_MS = 15 * 60_000;

export function parseRetention(spec) {
  const policy = { all: 0, hourly: 0, daily: 0 };
  for (const part of (spec || DEFAULT_RETENTION).split(/\s+/).filter(Boolean)) {
    const m = /^(all|hourly|daily)=(\d+)([mhd])$/.exec(part);
    if (!m) throw new Error(`STATE_SYNC_RETENTION: "${part}" is not <all|hourly|daily>=<number><m|h|d> (for example "${DEFAULT_RETENTION}")`);
    policy[m[1]] = Number(m[2]) * RETENTION_UNITS[m[3]];
  }
  return policy;
}

/** The time in a snapshot's name (snapshots/2026-12-05T18-56-17-539Z-<pid>-<seq>.tar.gz), or NaN. */
export function snapshotTime(name) {
  const m = /snapshots\/(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z-/.exec(name);
  return m ? Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`) : NaN;
}

/** The snapshots `policy` keeps at `now`; a name without a time is always kept. */
export function retained(names, now, policy) {
  const keep = new Set();
  const newest = new Map();
  for (const name of names) {
    const t = snapshotTime(name);
    const age = now - t;
    if (Number.isNaN(t) || age <= policy.all) {
      keep.add(name);
      continue;
    }
    const bucket = age <= policy.hourly ? `h${Math.floor(t / 3_600_000)}` : age <= policy.daily ? `d${Math.floor(t / 86_400_000)}` : undefined;
    if (bucket && !(snapshotTime(newest.get(bucket) ?? "") >= t)) newest.set(bucket, name);
  }
  for (const name of newest.values()) keep.add(name);
  return keep;
}

const log = (msg) => console.log(`${new Date().toISOString()} state-sync: ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A failure of this machine (a full disk, a permission), not of the store nor of a snapshot. */
const localFailure = (e) => !(e instanceof StoreError) && typeof e?.syscall === "string";

class StoreError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
  /** Someone else holds the lease or wrote the object: final, never retried. */
  get conflict() {
    return this.status === 409 || this.status === 412;
  }
  /** The store unreachable, throttling or failing for now: worth asking again, nothing to conclude. */
  get transient() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/**
 * Snapshots travel in parts of this size (a multiple of 256 KiB, as Cloud Storage's resumable
 * uploads require): at most two parts are held in memory, whatever the state's size.
 */
const PART_BYTES = 4 * 1024 * 1024;
/** Files up to this size are read whole while packed; larger ones are copied to the scratch directory first. */
const READ_WHOLE_BYTES = 1024 * 1024;
/** A download that delivers nothing for this long is broken off (however long it takes in all). */
const DOWNLOAD_IDLE_MS = 60_000;

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

/** Forgets the cached token (tokenSource): a store that answers 401 gets a new one next time. */
let forgetToken = () => {};

async function expect(res, ok, what) {
  if (ok.includes(res.status)) return res;
  if (res.status === 401) forgetToken();
  const text = (await res.text()).slice(0, 300);
  throw new StoreError(`${what}: HTTP ${res.status} ${text}`, res.status);
}

/**
 * A request through Node's own HTTP client, for snapshots' parts and downloads: fetch copies the
 * body it is given and leaves garbage its collector reclaims late (an upload through fetch peaked
 * at about twice the memory, measured). Broken off when the connection is idle for `idleMs`.
 * `body` is a buffer or buffers sent one after the other. Resolves to the response stream, with
 * `status` and `text()` as `expect` reads them.
 */
function raw(method, url, { headers = {}, body, idleMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const bodies = body === undefined ? [] : [body].flat();
    const length = bodies.reduce((sum, b) => sum + b.length, 0);
    const req = (target.protocol === "https:" ? httpsRequest : httpRequest)(target, { method, headers: body === undefined ? headers : { ...headers, "content-length": length } });
    req.setTimeout(idleMs, () => req.destroy(new Error(`nothing received for ${idleMs / 1000} s`)));
    req.once("error", (e) => reject(new StoreError(`${method} ${url.split("?")[0]}: store unreachable (${e.code ?? e.message})`, 0)));
    req.once("response", (res) =>
      resolve(
        Object.assign(res, {
          status: res.statusCode,
          text: async () => {
            let text = "";
            for await (const chunk of res) text += chunk;
            return text;
          },
        }),
      ),
    );
    for (const b of bodies) req.write(b);
    req.end();
  });
}

/**
 * GET `url` streamed into the file `path`: its sha256 and size, or undefined when the store has no
 * such object. Broken off when nothing arrives for DOWNLOAD_IDLE_MS, however long it takes in all.
 */
async function download(url, headers, path, what) {
  const res = await raw("GET", url, { headers, idleMs: DOWNLOAD_IDLE_MS });
  if (res.status === 404) return void res.resume();
  await expect(res, [200], what);
  const hash = createHash("sha256");
  let bytes = 0;
  const file = createWriteStream(path);
  try {
    await pipeline(
      res,
      async function* (source) {
        for await (const chunk of source) {
          hash.update(chunk);
          bytes += chunk.length;
          yield chunk;
        }
      },
      file,
    );
  } catch (e) {
    // A local failure (a full disk) is not the store's.
    if (file.errored) throw file.errored;
    throw new StoreError(`${what}: the download broke off after ${bytes} bytes (${e.code ?? e.message})`, 0);
  }
  return { sha256: hash.digest("hex"), bytes };
}

/**
 * `source` in parts of PART_BYTES, the last one shorter (or empty). Each part is a buffer from
 * `free` (a new one when none is free): its consumer gives it back once it is sent.
 */
async function* parts(source, free) {
  let part = free.pop() ?? Buffer.allocUnsafe(PART_BYTES);
  let used = 0;
  for await (const chunk of source) {
    for (let from = 0; from < chunk.length; ) {
      const n = Math.min(chunk.length - from, PART_BYTES - used);
      chunk.copy(part, used, from, from + n);
      used += n;
      from += n;
      if (used === PART_BYTES) {
        yield part;
        part = free.pop() ?? Buffer.allocUnsafe(PART_BYTES);
        used = 0;
      }
    }
  }
  yield part.subarray(0, used);
}

/** Snapshots of up to this many parts go in one request (a store far away is slow per request). */
const WHOLE_PARTS = 4;

/**
 * Uploads `source`: `whole(parts)` in one request when it fits in WHOLE_PARTS parts, else
 * `part(body, index, last)` for each part (the next one is read before a part is sent, so the last
 * one is known), up to `concurrency` at once. Buffers are reused: at most WHOLE_PARTS + 1 parts are
 * in memory.
 */
async function uploadParts(source, whole, part, concurrency = 1) {
  const free = [];
  const it = parts(source, free)[Symbol.asyncIterator]();
  try {
    const ahead = [];
    for (let read = await it.next(); ; read = await it.next()) {
      if (read.done) return await whole(ahead);
      ahead.push(read.value);
      if (ahead.length > WHOLE_PARTS) break;
    }
    const sending = new Set();
    // The first part that failed: the upload fails with it, even if it failed unawaited.
    let failed;
    let body = ahead.shift();
    for (let index = 0; ; index++) {
      const next = ahead.length ? { value: ahead.shift(), done: false } : await it.next();
      if (failed) throw failed;
      const buffer = body;
      const one = part(body, index, next.done).finally(() => {
        sending.delete(one);
        if (buffer.length === PART_BYTES) free.push(buffer);
      });
      one.catch((e) => (failed ??= e));
      sending.add(one);
      if (sending.size >= concurrency) await Promise.race(sending);
      if (next.done) break;
      body = next.value;
    }
    await Promise.all(sending);
    if (failed) throw failed;
  } finally {
    // Failed or not, the source is closed: its scratch files are released.
    await it.return?.();
  }
}

// ---------------------------------------------------------------------------------------------
// Tokens: managed identity (Azure VM IMDS, Container Apps identity endpoint) or the Google
// metadata server. Cached until 5 minutes before expiry, on this machine's clock, and forgotten
// when the store answers 401.

/**
 * Until when (this machine's clock) a token from the managed identity endpoint may be used: its
 * `expires_on` is the issuer's clock, so a clock that is slow kept an expired token in use (10
 * minutes slow: every request failed with 401 and the lease was lost). Bounded by its lifetime in
 * its own claims (exp minus iat, both the issuer's), counted from when it arrived.
 */
export function tokenUntil(answer, receivedAt) {
  const until = Number(answer.expires_on) * 1000;
  try {
    const claims = JSON.parse(Buffer.from(String(answer.access_token).split(".")[1], "base64url").toString("utf8"));
    const lifetime = (claims.exp - claims.iat) * 1000;
    if (lifetime > 0) return Math.min(until, receivedAt + lifetime);
  } catch {
    // not a JWT: expires_on alone
  }
  return until;
}

export function tokenSource(env) {
  let cached = { token: "", until: 0 };
  forgetToken = () => (cached = { token: "", until: 0 });
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
    return { token: j.access_token, until: tokenUntil(j, Date.now()) };
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
  async download(name, path) {
    return download(this.url(name), await this.h(), path, `read ${name}`);
  }
  /**
   * A new snapshot from a stream, never over an existing one: one Put Blob when it is small, else
   * a block per part, two at a time, and Put Block List (Blob service REST API, Put Block /
   * Put Block List).
   */
  async putSnapshot(name, source) {
    const ids = [];
    await uploadParts(
      source,
      async (whole) => (await expect(await raw("PUT", this.url(name), { headers: await this.h({ "x-ms-blob-type": "BlockBlob", "If-None-Match": "*" }), body: whole }), [201], `write ${name}`)).resume(),
      async (body, index) => {
        // Azure refuses an empty block: the last part is empty when the rest filled whole parts.
        if (!body.length) return;
        const id = Buffer.from(String(index).padStart(8, "0")).toString("base64");
        ids.push(id);
        const q = `?comp=block&blockid=${encodeURIComponent(id)}`;
        (await expect(await raw("PUT", this.url(name, q), { headers: await this.h(), body }), [201], `write ${name} (part ${index + 1})`)).resume();
      },
      // Two at a time, as the Azure SDK's stream upload sends several: a store far away is slow
      // per request, not per byte.
      2,
    );
    if (!ids.length) return;
    const list = `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((id) => `<Latest>${id}</Latest>`).join("")}</BlockList>`;
    await expect(
      await request("PUT", this.url(name, "?comp=blocklist"), { headers: await this.h({ "If-None-Match": "*", "Content-Type": "application/xml" }), body: list }),
      [201],
      `write ${name} (its ${ids.length} parts)`,
    );
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
    return parsePointer(await this.get("pointer.json"));
  }
  async putPointer(pointer) {
    // Only the lease holder can write a leased blob: the store itself enforces one writer.
    await this.put("pointer.json", Buffer.from(JSON.stringify(pointer)), { "x-ms-lease-id": this.leaseId });
  }
  /** The names under `prefix` (e.g. "snapshots/"), in order. */
  async list(prefix) {
    const names = [];
    for (let marker = ""; ; ) {
      const q = new URLSearchParams({ restype: "container", comp: "list", prefix: PREFIX + prefix, ...(marker && { marker }) });
      const res = await expect(await request("GET", `${this.base}?${q}`, { headers: await this.h() }), [200], `list ${prefix}`);
      const xml = await res.text();
      for (const m of xml.matchAll(/<Name>([^<]+)<\/Name>/g)) names.push(m[1].replace(/&amp;/g, "&").slice(PREFIX.length));
      marker = /<NextMarker>([^<]+)<\/NextMarker>/.exec(xml)?.[1] ?? "";
      if (!marker) return names.sort();
    }
  }
}

/**
 * A pointer blob's content: `{}` (created empty, a new bot), or the current snapshot with its
 * checksum and history. Anything else (empty, not JSON, no snapshot name) is `invalid`, never taken
 * for a new bot: the snapshots are listed instead.
 */
function parsePointer(body) {
  if (!body) return { pointer: {}, missing: true };
  try {
    const pointer = JSON.parse(body.toString("utf8"));
    if (pointer && typeof pointer === "object" && !Array.isArray(pointer) && (pointer.snapshot === undefined || typeof pointer.snapshot === "string")) return { pointer };
  } catch {
    // not JSON
  }
  return { pointer: {}, invalid: true };
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
    // The lock and the pointer are written one request at a time: two writes sent together with
    // the same generation precondition would fail the second with 412 in normal operation.
    this.queue = Promise.resolve();
  }
  serial(work) {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
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
  async download(name, path) {
    return download(this.obj(name, { alt: "media" }), await this.h(), path, `read ${name}`);
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
  renew() {
    return this.serial(() => this.refresh());
  }
  async refresh() {
    const res = await this.put("lock.json", this.lockBody(), { ifGenerationMatch: this.lockGeneration });
    this.lockGeneration = (await (await expect(res, [200], "refresh the lock object")).json()).generation;
  }
  release() {
    return this.serial(async () => {
      await expect(
        await request("DELETE", this.obj("lock.json", { ifGenerationMatch: this.lockGeneration }), { headers: await this.h() }),
        [204, 404, 412],
        "release the lock object",
      );
    });
  }
  async getPointer() {
    const body = await this.get("pointer.json");
    this.pointerGeneration = body ? body.generation : "0";
    return parsePointer(body);
  }
  /**
   * Rewrites the pointer as it is, right after taking the lock: a write a paused former holder
   * still has in flight carries an older generation and is refused from now on (fencing).
   */
  fence() {
    return this.serial(async () => {
      const body = await this.get("pointer.json");
      const res = await this.put("pointer.json", body ?? Buffer.from("{}"), { ifGenerationMatch: body ? body.generation : "0" });
      this.pointerGeneration = (await (await expect(res, [200], "fence the pointer")).json()).generation;
    });
  }
  putPointer(pointer) {
    return this.serial(async () => {
      // Still the holder right before the write (the lock's generation moves only under it).
      await this.refresh();
      const mine = JSON.stringify(pointer);
      const res = await this.put("pointer.json", Buffer.from(mine), { ifGenerationMatch: this.pointerGeneration });
      if (res.status === 412) {
        // The answer to this very write may have been lost and the write retried: ours if it says what we wrote.
        const now = await this.get("pointer.json");
        if (now?.toString("utf8") === mine) return void (this.pointerGeneration = now.generation);
      }
      this.pointerGeneration = (await (await expect(res, [200], "write the pointer")).json()).generation;
    });
  }
  async list(prefix) {
    const names = [];
    for (let pageToken = ""; ; ) {
      const q = new URLSearchParams({ prefix: PREFIX + prefix, fields: "items(name),nextPageToken", ...(pageToken && { pageToken }) });
      const res = await expect(await request("GET", `${this.endpoint}/storage/v1/b/${encodeURIComponent(this.bucket)}/o?${q}`, { headers: await this.h() }), [200], `list ${prefix}`);
      const j = await res.json();
      for (const item of j.items ?? []) names.push(item.name.slice(PREFIX.length));
      pageToken = j.nextPageToken ?? "";
      if (!pageToken) return names.sort();
    }
  }
  /**
   * A new snapshot from a stream, only if absent: one media upload when it is small, else a
   * resumable upload, a part per request (cloud.google.com/storage/docs/performing-resumable-uploads:
   * the session URI from the initiating POST's Location, `Content-Range: bytes a-b/*` answered 308,
   * the last part with the total size answered 200 or 201).
   */
  async putSnapshot(name, source) {
    let session;
    let offset = 0;
    await uploadParts(
      source,
      async (whole) =>
        (await expect(await raw("POST", this.upload(name, { ifGenerationMatch: "0" }), { headers: await this.h({ "Content-Type": "application/octet-stream" }), body: whole }), [200], `write ${name}`)).resume(),
      async (body, index, last) => {
        if (!session) {
          const init = await request("POST", this.upload(name, { uploadType: "resumable", ifGenerationMatch: "0" }), {
            headers: await this.h({ "X-Upload-Content-Type": "application/octet-stream" }),
          });
          session = (await expect(init, [200], `start the upload of ${name}`)).headers.get("location");
        }
        const range = body.length ? `${offset}-${offset + body.length - 1}` : "*";
        const res = await raw("PUT", session, { headers: { "Content-Range": `bytes ${range}/${last ? offset + body.length : "*"}` }, body });
        (await expect(res, last ? [200, 201] : [308], `write ${name} (part ${index + 1})`)).resume();
        offset += body.length;
      },
    );
  }
}
// Files anyone may overwrite (the published status).
GcsStore.prototype.putFile = async function (name, body) {
  await expect(await this.put(name, body), [200], `write ${name}`);
};
AzureStore.prototype.putFile = AzureStore.prototype.put;

// ---------------------------------------------------------------------------------------------
// tar (ustar + pax path records): regular files, directories and symbolic links.
function header(name, size, mode, type, link = "") {
  const b = Buffer.alloc(512);
  const field = (v, off, len) => b.write(v, off, len, "utf8");
  const octal = (n, off, len) => field(n.toString(8).padStart(len - 1, "0") + "\0", off, len);
  field(Buffer.byteLength(name) <= 100 ? name : "longname", 0, 100);
  octal(mode, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(0, 136, 12);
  b.fill(" ", 148, 156);
  field(type, 156, 1);
  field(Buffer.byteLength(link) <= 100 ? link : "longlink", 157, 100);
  field("ustar\0" + "00", 257, 8);
  let sum = 0;
  for (const byte of b) sum += byte;
  field(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8);
  return b;
}
const pad = (n) => Buffer.alloc((512 - (n % 512)) % 512);

/** A pax record "<length> key=value\n", its length counting its own digits. */
function paxRecord(key, value) {
  const rec = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(rec) + 1;
  while (String(len).length + Buffer.byteLength(rec) !== len) len = String(len).length + Buffer.byteLength(rec);
  return `${len}${rec}`;
}

/** The largest size a ustar header's 11 octal digits hold (8 GiB - 1); larger sizes go in a pax record. */
const USTAR_MAX_SIZE = 0o77777777777;

/**
 * A tar archive as it is read, entry by entry: { name, mode } a directory, { name, link } a
 * symbolic link, a file as { name, mode, data } (its bytes), { name, mode, load } (`load()` gives
 * its bytes, or undefined to leave it out) or { name, mode, size, read } (`read()` streams exactly
 * `size` bytes).
 */
export async function* tarStream(entries) {
  for (const e of entries) {
    let { data, size = 0 } = e;
    if (e.load) {
      data = await e.load();
      if (!data) continue;
    }
    if (data) size = data.length;
    const file = data !== undefined || e.read !== undefined;
    const type = e.link !== undefined ? "2" : file ? "0" : "5";
    const records =
      (Buffer.byteLength(e.name) > 100 ? paxRecord("path", e.name) : "") +
      (e.link !== undefined && Buffer.byteLength(e.link) > 100 ? paxRecord("linkpath", e.link) : "") +
      (size > USTAR_MAX_SIZE ? paxRecord("size", size) : "");
    if (records) {
      const pax = Buffer.from(records);
      yield Buffer.concat([header("pax", pax.length, 0o644, "x"), pax, pad(pax.length)]);
    }
    yield header(e.name, size > USTAR_MAX_SIZE ? 0 : size, (e.mode ?? 0o644) & 0o7777, type, e.link ?? "");
    if (!file) continue;
    if (data) yield data;
    else {
      let read = 0;
      for await (const chunk of e.read()) {
        read += chunk.length;
        if (read > size) break;
        yield chunk;
      }
      if (read !== size) throw new Error(`${e.name} changed size while it was packed (${size} bytes listed, ${read} read)`);
    }
    yield pad(size);
  }
  yield Buffer.alloc(1024);
}

/** Reads a byte stream by exact lengths; `body()` streams the next `owed` bytes. */
class ByteReader {
  constructor(source) {
    this.it = (source[Symbol.asyncIterator] ?? source[Symbol.iterator]).call(source);
    this.held = Buffer.alloc(0);
    this.owed = 0;
  }
  async more() {
    const { value, done } = await this.it.next();
    if (done) throw new Error("truncated archive");
    this.held = this.held.length ? Buffer.concat([this.held, value]) : value;
  }
  async take(n) {
    while (this.held.length < n) await this.more();
    const out = this.held.subarray(0, n);
    this.held = this.held.subarray(n);
    return out;
  }
  async *body() {
    while (this.owed > 0) {
      if (!this.held.length) await this.more();
      const chunk = this.held.subarray(0, Math.min(this.owed, this.held.length));
      this.held = this.held.subarray(chunk.length);
      this.owed -= chunk.length;
      yield chunk;
    }
  }
}

/**
 * The entries of a tar stream, each { name, mode, type, link, size, body }; `body` streams the
 * entry's bytes and is skipped if not read before the next entry.
 */
export async function* tarEntries(source) {
  const r = new ByteReader(source);
  const padding = (n) => (512 - (n % 512)) % 512;
  let pax = {};
  for (;;) {
    const h = await r.take(512);
    if (h.every((x) => x === 0)) {
      // To its end: gunzip checks the archive's CRC and length only there.
      while (!(await r.it.next()).done);
      return;
    }
    const str = (o, l) => h.toString("utf8", o, o + l).replace(/\0.*$/s, "");
    const type = str(156, 1) || "0";
    const size = type !== "x" && pax.size !== undefined ? Number(pax.size) : parseInt(str(124, 12).trim() || "0", 8);
    if (type === "x") {
      pax = paxRecords(await r.take(size));
      await r.take(padding(size));
      continue;
    }
    const name = pax.path ?? str(0, 100);
    const link = type === "2" ? (pax.linkpath ?? str(157, 100)) : undefined;
    pax = {};
    if (name.split("/").some((p) => p === "..") || name.startsWith("/")) throw new Error(`unsafe path in archive: ${name}`);
    const mode = parseInt(str(100, 8).trim() || "644", 8);
    r.owed = size;
    yield { name, mode, type, link, size, body: r.body() };
    for await (const _ of r.body());
    await r.take(padding(size));
  }
}

/** The records of a pax header, each "<length> <key>=<value>\n", read by their lengths. */
function paxRecords(data) {
  const out = {};
  for (let at = 0; at < data.length; ) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.toString("utf8", at, space));
    if (space < 0 || !(length > space - at + 1) || at + length > data.length) throw new Error("bad pax record");
    const record = data.toString("utf8", space + 1, at + length - 1);
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return out;
}

/** A whole archive in memory (the suite's tools): `tarStream` of entries with `data`. */
export async function tarPack(entries) {
  return Buffer.concat(await Array.fromAsync(tarStream(entries)));
}

/** A whole archive's entries in memory (the suite's tools): { name, link } or { name, mode, data }. */
export async function tarUnpack(buf) {
  const out = [];
  for await (const e of tarEntries([buf])) {
    if (e.type === "2") out.push({ name: e.name, link: e.link });
    else out.push({ name: e.name, mode: e.mode, data: e.type === "5" ? undefined : Buffer.concat(await Array.fromAsync(e.body)) });
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

/**
 * Everything in the state directory but this program's own entries and what the agent regenerates:
 * directories, files and symbolic links. Left out, and said so once in the log by `snapshot`: a
 * SQLite database's side files (its -wal, -shm and -journal, whose content the consistent copy
 * holds) and lock files (`*.lock`, which name a process of this host).
 */
async function walk(dir, root = dir, out = []) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    const rel = relative(root, path).split(sep).join("/");
    if (dir === root && (OWN.has(e.name) || excluded.has(e.name))) continue;
    if (e.isDirectory()) {
      out.push({ rel, path, kind: "dir" });
      await walk(path, root, out);
    } else if (e.isSymbolicLink()) out.push({ rel, path, kind: "link" });
    else if (e.isFile()) out.push({ rel, path, kind: "file" });
    else out.push({ rel, path, kind: "other" });
  }
  return out;
}

/** Why a file is not snapshotted as it is, or undefined. */
async function leftOut(f, all) {
  const side = /^(.*)-(wal|shm|journal)$/.exec(f.rel);
  if (side && all.has(side[1]) && (await isSqlite(join(dirname(f.path), basename(side[1]))).catch(() => false))) return "SQLite side file (its database's copy holds its content)";
  if (f.rel.endsWith(".lock")) return "lock file (names a process of this host)";
  if (f.kind === "other") return "not a file, directory or link (socket, device or pipe)";
  return undefined;
}

/** Size and mtime of every entry: unchanged state is not uploaded again. */
async function fingerprint(dir) {
  const h = createHash("sha256");
  for (const f of await walk(dir)) {
    if (f.kind === "dir") continue;
    const s = await lstat(f.path).catch(() => undefined);
    h.update(`${f.rel}\0${f.kind}\0${s?.size}\0${s?.mtimeMs}\n`);
  }
  return h.digest("hex");
}

/**
 * A file's content read whole while nothing rewrote it: its size and mtime the same before and
 * after (a file rewritten in place, such as a channel's credentials, was read torn otherwise).
 */
async function readSteady(path) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await stat(path);
    const data = await readFile(path);
    const after = await stat(path);
    if (before.size === after.size && before.mtimeMs === after.mtimeMs && data.length === after.size) return data;
    await sleep(200);
  }
  throw new Error(`${path} kept changing while it was read`);
}

/**
 * SQLite's work (VACUUM INTO, integrity_check) in a worker thread: it runs synchronously, for
 * seconds on a large database, and on the main thread it would starve the lease renewer.
 */
const SQLITE_WORKER = `
const { workerData: job, parentPort } = require("node:worker_threads");
process.removeAllListeners("warning");
let db;
try {
  const { DatabaseSync } = require("node:sqlite");
  db = new DatabaseSync(job.path, { timeout: 10000 });
  if (job.into) db.prepare("VACUUM INTO ?").run(job.into);
  const result = job.into ? "ok" : db.prepare("PRAGMA integrity_check").all().map((row) => Object.values(row)[0]).join("; ");
  parentPort.postMessage({ result });
} catch (e) {
  parentPort.postMessage({ error: e.message });
} finally {
  db?.close();
}`;
function sqliteJob(job) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(SQLITE_WORKER, { eval: true, workerData: job });
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the SQLite worker ended (exit ${code}) without an answer`)));
  });
}

/** undefined when the database passes `PRAGMA integrity_check`, else what is wrong. */
export async function integrityCheck(path) {
  const { result, error } = await sqliteJob({ path });
  if (error) return error;
  return result === "ok" ? undefined : result;
}

/** Copies a file while nothing rewrites it (size and mtime the same before and after); its size. */
async function copySteady(path, copy) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await stat(path);
    await copyFile(path, copy);
    const after = await stat(path);
    if (before.size === after.size && before.mtimeMs === after.mtimeMs && (await stat(copy)).size === after.size) return after.size;
    await sleep(200);
  }
  throw new Error(`${path} kept changing while it was read`);
}

/**
 * A snapshot of `dir` ready to pack: each SQLite database copied consistently into `scratch` and
 * checked, each file over READ_WHOLE_BYTES copied there unchanged, smaller files read whole when
 * packed. Throws when a database fails its check. `skipped` collects what was left out and why
 * (logged once by the caller). The entries stream through `tarStream`; `scratch` is the caller's
 * to remove once they have.
 */
export async function snapshot(dir, scratch, skipped = new Map()) {
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  const entries = [];
  let databases = 0;
  let copies = 0;
  const listed = await walk(dir);
  const all = new Set(listed.map((f) => f.rel));
  const unreadable = (f, e) => {
    if (e.code === "ENOENT") return true; // removed since listed
    if (e.code !== "EACCES") return false;
    skipped.set(f.rel, "unreadable by state-sync (permission denied)");
    return true;
  };
  for (const f of listed) {
    const s = await lstat(f.path).catch(() => undefined);
    if (!s) continue; // removed since listed
    if (f.kind === "dir") {
      entries.push({ name: f.rel, mode: s.mode });
      continue;
    }
    const why = await leftOut(f, all).catch(() => undefined);
    if (why) {
      skipped.set(f.rel, why);
      continue;
    }
    if (f.kind === "link") {
      entries.push({ name: f.rel, link: await readlink(f.path) });
      continue;
    }
    try {
      if (await isSqlite(f.path)) {
        // VACUUM INTO: one read transaction, so a consistent copy even while the agent writes
        // (the online backup API restarts whenever another connection writes, and can starve).
        const copy = join(scratch, `db-${databases++}.sqlite`);
        const { error } = await sqliteJob({ path: f.path, into: copy });
        if (error) throw new Error(`database ${f.rel} could not be copied (${error})`);
        const problem = await integrityCheck(copy);
        if (problem) throw new Error(`database ${f.rel} fails integrity_check (${problem}); snapshot refused, the previous one stays current`);
        entries.push({ name: f.rel, mode: s.mode, size: (await stat(copy)).size, read: () => createReadStream(copy) });
      } else if (s.size > READ_WHOLE_BYTES) {
        const copy = join(scratch, `file-${copies++}`);
        entries.push({ name: f.rel, mode: s.mode, size: await copySteady(f.path, copy), read: () => createReadStream(copy) });
      } else
        entries.push({
          name: f.rel,
          mode: s.mode,
          load: () =>
            readSteady(f.path).catch((e) => {
              if (unreadable(f, e)) return undefined;
              throw e;
            }),
        });
    } catch (e) {
      if (unreadable(f, e)) continue;
      throw e;
    }
  }
  return { entries, files: entries.filter((e) => e.load || e.read).length, databases };
}

/** `entries` packed as tar.gz, counted and hashed as they go out (`meter` has the totals at the end). */
function packed(entries, meter) {
  const gzip = createGzip();
  // Bytes, not objects: a stream of objects reads 16 entries ahead, a megabyte each at most.
  const tar = Readable.from(tarStream(entries), { objectMode: false });
  tar.once("error", (e) => gzip.destroy(e));
  tar.pipe(gzip);
  return (async function* () {
    try {
      for await (const chunk of gzip) {
        meter.hash.update(chunk);
        meter.bytes += chunk.length;
        yield chunk;
      }
    } finally {
      tar.destroy();
      gzip.destroy();
    }
  })();
}

/**
 * Unpacks the tar.gz file `file` into `staging`, streamed, and checks every database (any file with
 * SQLite's header, whatever its name); throws what is wrong. Symbolic links are made last, so that
 * no entry is written through one. The number of entries.
 */
export async function verifyInto(file, staging) {
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const links = [];
  const databases = [];
  let count = 0;
  const gunzip = createGunzip();
  const compressed = createReadStream(file);
  compressed.once("error", (e) => gunzip.destroy(e));
  compressed.pipe(gunzip);
  try {
    for await (const e of tarEntries(gunzip)) {
      count++;
      if (e.type === "2") {
        links.push(e);
        continue;
      }
      const path = join(staging, e.name);
      if (e.type === "5") {
        await mkdir(path, { recursive: true, mode: e.mode });
        continue;
      }
      await mkdir(dirname(path), { recursive: true });
      let head = Buffer.alloc(0);
      await pipeline(
        Readable.from(e.body),
        async function* (source) {
          for await (const chunk of source) {
            if (head.length < 16) head = Buffer.concat([head, chunk.subarray(0, 16 - head.length)]);
            yield chunk;
          }
        },
        createWriteStream(path, { mode: e.mode }),
      );
      if (head.equals(SQLITE_MAGIC)) databases.push(e.name);
    }
  } catch (e) {
    // A local failure (a full disk) says nothing of the archive.
    if (e.syscall) throw e;
    throw new Error(`not a readable archive (${e.message})`);
  } finally {
    compressed.destroy();
    gunzip.destroy();
  }
  for (const name of databases) {
    const path = join(staging, name);
    const problem = await integrityCheck(path);
    if (problem) throw new Error(`database ${name} fails integrity_check (${problem})`);
    // integrity_check may leave side files of the copy behind.
    await rm(path + "-wal", { force: true });
    await rm(path + "-shm", { force: true });
  }
  for (const e of links) {
    await mkdir(dirname(join(staging, e.name)), { recursive: true });
    await symlink(e.link, join(staging, e.name));
  }
  return count;
}

/**
 * Snapshot `name` from `store`, downloaded to `download` (streamed, then removed), its checksum
 * checked when `sha256` is given, unpacked into `into` and verified (verifyInto); throws what is
 * wrong (a StoreError when the store could not be read). The restore and the restore drill both
 * use it.
 */
async function fetchVerified(store, name, sha256, into, download) {
  try {
    const got = await store.download(name, download);
    if (!got) throw new Error("missing from the store");
    if (sha256 && got.sha256 !== sha256) throw new Error("checksum differs from the pointer's");
    return { ...got, entries: await verifyInto(download, into) };
  } finally {
    await rm(download, { force: true });
  }
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
  for (const f of await walk(dir)) await lchown(f.path, uid, gid).catch(() => {});
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

/**
 * This instance's lease id and lock holder, a UUID (Azure lease ids are GUIDs): a random salt kept
 * on the state's disk, with this host's name and boot. An engine restarted on the same host takes
 * its own lease back; a copy of the disk on another host (a cloned OS disk) is another instance.
 */
async function instanceId(dir) {
  let salt = (await readFile(join(dir, ID_FILE), "utf8").catch(() => "")).trim();
  if (!salt) await writeFile(join(dir, ID_FILE), (salt = randomUUID()));
  const boot = (await readFile("/proc/sys/kernel/random/boot_id", "utf8").catch(() => "")).trim();
  const h = createHash("sha256").update(`${salt}\0${hostname()}\0${boot}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** What this instance last made of the local state: the snapshot it matches, and one being written. */
async function readMark(dir) {
  const text = await readFile(join(dir, LOCAL_FILE), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { snapshot: text || undefined };
  }
}
async function writeMark(dir, mark) {
  await writeFile(join(dir, `${LOCAL_FILE}.new`), JSON.stringify(mark));
  await rename(join(dir, `${LOCAL_FILE}.new`), join(dir, LOCAL_FILE));
}

/**
 * The ready file: the time (epoch seconds) until which this instance has proven its lease. The
 * agent's watcher stops the agent once that time has passed, so an agent never outlives the lease
 * of the engine beside it, whether the engine lost it, exited or was paused.
 */
async function writeReady(dir, untilMs) {
  await writeFile(join(dir, `${READY_FILE}.new`), `${Math.floor(untilMs / 1000)}\n`);
  await rename(join(dir, `${READY_FILE}.new`), join(dir, READY_FILE));
}

/** Whether an agent may still run on the local state: its watcher touched AGENT_FILE lately. */
async function agentMayRun(dir) {
  const s = await stat(join(dir, AGENT_FILE)).catch(() => undefined);
  return s !== undefined && Date.now() - s.mtimeMs < 10_000;
}

/**
 * Hands a pairing request to the agent's watcher through the state directory and waits for its
 * answer: `{ok, exitCode, stdout, stderr}`, `{ok: false, error}` when none comes in time, or
 * undefined when `stop()` says to stop waiting (the request stays in the store for the next holder).
 */
async function pairBesideAgent(dir, asked, stop) {
  // The request first: the watcher never sees a request without a fresh answer slot.
  const clear = async () => {
    for (const n of PAIRING_FILES) await rm(join(dir, n), { force: true });
  };
  // Only regular files are read (the agent can write in this directory).
  const read = async (n, max) => ((await lstat(join(dir, n)).catch(() => undefined))?.isFile() ? (await readFile(join(dir, n), "utf8")).slice(-max) : "");
  await clear();
  await writeFile(join(dir, `${PAIRING_FILE}.new`), `${asked.id} ${asked.action} ${asked.channel} ${asked.code ?? "-"}\n`);
  await rename(join(dir, `${PAIRING_FILE}.new`), join(dir, PAIRING_FILE));
  try {
    for (const deadline = Date.now() + PAIRING_WAIT_MS; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      if (stop()) return undefined;
      const [id, status] = (await read(PAIRING_DONE, 256).catch(() => "")).split("\n");
      if (id !== asked.id) continue;
      return { ok: status === "0", exitCode: Number(status), stdout: await read(`${PAIRING_DONE}.stdout`, 16_384), stderr: await read(`${PAIRING_DONE}.stderr`, 16_384) };
    }
    return { ok: false, error: `the agent's watcher did not answer within ${PAIRING_WAIT_MS / 1000} s` };
  } finally {
    await clear();
  }
}

export async function run(env = process.env) {
  const dir = env.STATE_SYNC_DIR;
  if (!dir) throw new Error("STATE_SYNC_DIR is not set: the local state directory shared with the agent");
  const intervalMs = Number(env.STATE_SYNC_INTERVAL_SECONDS ?? 60) * 1000;
  const retryMs = Number(env.STATE_SYNC_RETRY_SECONDS ?? 5) * 1000;
  const retention = parseRetention(env.STATE_SYNC_RETENTION);
  const drillMs = Number(env.STATE_SYNC_DRILL_SECONDS ?? DEFAULT_DRILL_SECONDS) * 1000;
  if (!(drillMs > 0)) throw new Error(`STATE_SYNC_DRILL_SECONDS: ${JSON.stringify(env.STATE_SYNC_DRILL_SECONDS)} is not a number of seconds above 0 (default ${DEFAULT_DRILL_SECONDS})`);
  await mkdir(dir, { recursive: true });
  excluded = new Set((env.STATE_SYNC_EXCLUDE ?? "").split(/\s+/).filter(Boolean));
  if (excluded.size) log(`not in snapshots, the agent regenerates them: ${[...excluded].join(", ")}`);
  const instance = await instanceId(dir);
  const store = storeFrom(env, instance);
  const leaseMs = store.leaseSeconds * 1000;
  // Time kept between the lease proven and its expiry: for the watcher to stop the agent, and for
  // clocks that drift.
  const marginMs = Math.min(10_000, leaseMs / 4);
  await giveTo(env.STATE_SYNC_OWNER, dir);
  const scratch = env.STATE_SYNC_SCRATCH ?? join(tmpdir(), `botfleet-state-sync-${instance}`);
  // Where a snapshot is downloaded before it is checked and unpacked.
  const download = `${scratch}-download.tar.gz`;
  const status = { phase: "starting", since: new Date().toISOString() };
  const report = (patch) => {
    Object.assign(status, patch);
    try {
      writeFileSync(join(dir, `${STATUS_FILE}.new`), `${JSON.stringify(status)}\n`);
      renameSync(join(dir, `${STATUS_FILE}.new`), join(dir, STATUS_FILE));
    } catch (e) {
      log(`could not write ${STATUS_FILE}: ${e.message}`);
    }
  };
  const setPhase = (phase) => report({ phase, since: new Date().toISOString() });
  setPhase("starting");
  let stopping = false;
  // The same status over HTTP where the platform probes the sidecar: 503 once the lease is lost.
  const health = env.STATE_SYNC_PORT
    ? createServer((_, res) => {
        res.writeHead(status.phase === "lease-lost" ? 503 : 200, { "content-type": "application/json" });
        res.end(`${JSON.stringify(status)}\n`);
      }).listen(Number(env.STATE_SYNC_PORT), "0.0.0.0")
    : undefined;

  let wake;
  const woken = () => new Promise((resolve) => (wake = resolve));
  let signal = woken();
  ["SIGTERM", "SIGINT"].forEach((s) =>
    process.on(s, () => {
      log(`${s}: final snapshot, then releasing the lease`);
      stopping = true;
      wake();
    }),
  );
  // SIGUSR1: a snapshot now (the VM's updater asks before it stops or upgrades the agent); the
  // status file's `storeCurrentAt` then says from when the store holds the state.
  let requested = false;
  process.on("SIGUSR1", () => {
    requested = true;
    wake();
  });
  const pause = (ms) => Promise.race([sleep(ms), signal]);

  // 1. Lease, retried until held. Nothing is written before.
  setPhase("waiting-for-lease");
  // A lease runs from when the store granted it, which is after the request left and may be long
  // before its answer is read (a paused or loaded process): it is counted from the request.
  let askedAt;
  for (let waitingSince = Date.now(); ; ) {
    if (stopping) return health?.close(), 0;
    try {
      askedAt = Date.now();
      const why = await store.acquire();
      if (!why) break;
      log(`waiting for the lease on ${store.describe}: ${why}. Not restoring or writing anything until it is free (waiting ${Math.round((Date.now() - waitingSince) / 1000)} s).`);
    } catch (e) {
      log(`cannot take the lease on ${store.describe}: ${e.message}. Retrying in ${retryMs / 1000} s; nothing is restored or written meanwhile.`);
    }
    await pause(retryMs);
  }
  let renewedAt = askedAt;
  log(`holding the lease on ${store.describe}`);

  // Lost: renewal refused, or not proven before the lease could have passed to another instance.
  // The agent's ready file goes (its watcher stops it) and this instance exits to wait again.
  let lost;
  const loseLease = (why) => {
    if (lost) return;
    lost = why;
    rmSync(join(dir, READY_FILE), { force: true });
    report({ phase: "lease-lost", since: new Date().toISOString(), reason: why });
    log(`LEASE LOST: ${why}. The agent is stopped (its ready file is gone); this instance writes nothing more and exits to wait for the lease again.`);
    wake();
  };
  const ready = () => !lost && writeReady(dir, renewedAt + leaseMs - marginMs);
  let renewing = false;
  const renewer = setInterval(async () => {
    if (renewing || lost) return;
    renewing = true;
    try {
      for (;;) {
        try {
          const asked = Date.now();
          await store.renew();
          renewedAt = asked;
          if (status.phase === "running") await ready();
          return;
        } catch (e) {
          if (e.conflict) return loseLease(`the store refused its renewal (${e.message})`);
          if (Date.now() >= renewedAt + leaseMs - marginMs) return loseLease(`not renewed since ${new Date(renewedAt).toISOString()} (${e.message}), so another instance may hold it now`);
          log(`lease renewal failed (${e.message}); retrying until ${new Date(renewedAt + leaseMs - marginMs).toISOString()}`);
          await sleep(Math.min(2000, leaseMs / 10));
        }
      }
    } finally {
      renewing = false;
    }
  }, leaseMs / 3);
  // The lease proven now, renewed first when its last renewal is too old: a process that was
  // paused or starved wakes with a lease that may have run out, and the store refuses a write under
  // it. A lease that no one took since renews even after it ran out; one that someone took is
  // refused, which loses the lease and writes nothing.
  const leaseProven = async (what) => {
    while (renewing) await sleep(50);
    if (lost) return false;
    if (Date.now() < renewedAt + leaseMs - marginMs) return true;
    renewing = true;
    try {
      const asked = Date.now();
      await store.renew();
      renewedAt = asked;
      return true;
    } catch (e) {
      if (e.conflict) loseLease(`the store refused its renewal (${e.message})`);
      else log(`${what} waits: the lease could not be renewed (${e.message}); the last snapshot stays current`);
      return false;
    } finally {
      renewing = false;
    }
  };
  const quit = async (code) => {
    clearInterval(renewer);
    if (!lost) await store.release().then(() => log("lease released"), (e) => log(`lease release failed (it expires by itself): ${e.message}`));
    if (!lost) setPhase("stopped");
    health?.close();
    return lost ? 3 : code;
  };

  // 2. Restore. A write a paused former holder still has in flight is fenced off first (Cloud
  // Storage; Azure's blob lease fences by itself).
  setPhase("restoring");
  let pointer;
  let listed;
  let atStart;
  for (;;) {
    try {
      await store.fence?.();
      const read = await store.getPointer();
      pointer = read.pointer;
      atStart = restoreAtStart(await store.get(RESTORE_REQUEST), pointer, env.STATE_SYNC_RELEASE);
      // No snapshot named (a new bot, or a pointer deleted, emptied or garbled): what the store holds decides.
      if (!pointer.snapshot) listed = (await store.list("snapshots/")).reverse();
      if (listed?.length) log(`the pointer ${read.missing ? "is missing" : read.invalid ? "is not a valid pointer" : "names no snapshot"}; ${listed.length} snapshots are in the store: restoring the newest that passes verification`);
      break;
    } catch (e) {
      log(`cannot read the pointer: ${e.message}. Retrying in ${retryMs / 1000} s.`);
      if (stopping || lost) break;
      await pause(retryMs);
    }
  }
  if (!pointer || lost) return quit(0);
  const mark = await readMark(dir);
  const usual = pointer.snapshot ? [pointer.snapshot, ...(pointer.history ?? []).filter((h) => h !== pointer.snapshot)] : listed;
  // A restore asked for at this start goes first; refused, the usual candidates follow.
  const candidates = atStart ? [atStart.snapshot, ...(usual ?? []).filter((h) => h !== atStart.snapshot)] : usual;
  // With no pointer, the newest snapshot in the store may be the one this instance was writing when
  // it stopped, before its first pointer (a kill between the upload and the pointer write).
  let restored;
  const ours =
    !atStart &&
    mark &&
    (pointer.snapshot ? mark.snapshot === pointer.snapshot || mark.pending === pointer.snapshot : candidates.length === 0 || (mark.pending !== undefined && mark.pending === candidates[0]));
  if (ours) {
    // The local state is this instance's own: what the pointer names, or newer (a snapshot being
    // written when it stopped). Restoring would replace newer data under a running agent.
    log(`local state is this instance's own and at least as new as ${pointer.snapshot ?? candidates[0] ?? "the empty store"}: kept, not restored`);
  } else if (candidates.length) {
    // Never over an agent that may be running: its ready file goes first, then its watcher stops it.
    await rm(join(dir, READY_FILE), { force: true });
    for (let waited = 0; await agentMayRun(dir); waited += 1) {
      if (waited % 10 === 0) log("waiting for the agent to stop before restoring (its watcher touches " + AGENT_FILE + ")");
      await sleep(1000);
    }
    for (let i = 0; i < candidates.length; i++) {
      const name = candidates[i];
      try {
        const got = await fetchVerified(store, name, name === pointer.snapshot ? pointer.sha256 : undefined, join(dir, STAGING_DIR), download);
        await swapIn(dir, join(dir, STAGING_DIR));
        await giveTo(env.STATE_SYNC_OWNER, dir);
        log(`restored ${name} (${got.entries} entries, ${got.bytes} bytes)${name === candidates[0] || name === usual?.[0] ? "" : " — an older snapshot, the newer ones were refused"}`);
        restored = { name, sha256: got.sha256, bytes: got.bytes, entries: got.entries };
        report({ lastDrill: { time: new Date().toISOString(), snapshot: name, ok: true, entries: got.entries, bytes: got.bytes, how: "restored at start" } });
        break;
      } catch (e) {
        await rm(join(dir, STAGING_DIR), { recursive: true, force: true });
        // A store that cannot be read now says nothing of the snapshot: the same one again, never
        // an older one (that would throw away what the newer one holds).
        if (e instanceof StoreError && e.transient) {
          log(`cannot read ${name} now (${e.message}). Retrying in ${retryMs / 1000} s; an older snapshot is restored only when this one is missing or damaged.`);
          if (stopping || lost) return quit(0);
          signal = woken();
          await pause(retryMs);
          if (stopping || lost) return quit(0);
          i--;
          continue;
        }
        // A local failure (a full disk) says nothing of the snapshot: an older one is not restored
        // in its place; the operator must look.
        if (localFailure(e)) {
          await quit(1);
          throw new Error(`cannot put ${name} in place here (${e.message}); nothing restored, the agent is not started`);
        }
        log(`REFUSED snapshot ${name}: ${e.message}`);
      }
    }
    if (!restored) {
      // Never start empty over a store that has state: the operator must look.
      await quit(1);
      throw new Error(`no snapshot in ${store.describe} passed verification (${candidates.join(", ")}); refusing to start the agent on empty state. Restore one by hand: docs/secrets-and-operations.md#restore-a-bots-state-by-hand in botfleet.`);
    }
    if (atStart) {
      const time = new Date().toISOString();
      const before = pointer.snapshot;
      if (restored.name === atStart.snapshot) {
        const history = [atStart.snapshot, ...[before, ...(pointer.history ?? [])].filter((h) => h && h !== atStart.snapshot)];
        pointer = { snapshot: atStart.snapshot, sha256: restored.sha256, bytes: restored.bytes, time, history: [...new Set(history)].slice(0, HISTORY), restoreId: atStart.id };
        try {
          await store.putPointer(pointer);
        } catch (e) {
          if (e.conflict) loseLease(`the pointer was written by someone else while restoring (${e.message})`);
          else log(`could not move the pointer to ${atStart.snapshot} (${e.message}); the next snapshot does`);
        }
        log(`RESTORED ${atStart.snapshot} at start, as asked (${atStart.id}${atStart.by ? ` by ${atStart.by}` : ""}), before the agent started; the state before is ${before ?? "none"}, kept in the store`);
        report({ lastRestore: { id: atStart.id, snapshot: atStart.snapshot, before, time, ok: true, entries: restored.entries, bytes: restored.bytes, how: "at start" } });
      } else {
        log(`RESTORE REFUSED at start: ${atStart.snapshot} did not pass verification; ${restored.name} restored instead`);
        report({ lastRestore: { id: atStart.id, snapshot: atStart.snapshot, time, ok: false, error: "did not pass verification at start" } });
      }
      await store.delete(RESTORE_REQUEST).catch((e) => log(`could not delete ${PREFIX}${RESTORE_REQUEST} (${e.message})`));
    } else if (!pointer.snapshot) {
      // The pointer named nothing although snapshots exist: it names the restored one from now on.
      pointer = { snapshot: restored.name, sha256: restored.sha256, bytes: restored.bytes, time: new Date().toISOString(), history: [restored.name] };
      try {
        await store.putPointer(pointer);
        log(`the pointer now names ${restored.name} again`);
      } catch (e) {
        if (e.conflict) loseLease(`the pointer was written by someone else while restoring (${e.message})`);
        else log(`could not rewrite the pointer (${e.message}); the next snapshot writes it`);
      }
    }
  } else log(`no snapshot in ${store.describe} yet: starting with the local state as it is`);
  if (lost) return quit(0);
  await writeMark(dir, { snapshot: pointer.snapshot });
  // Taken before the agent may start: a write in the moment after would otherwise be counted as
  // the restored state and never uploaded until the next change. Local state kept or found (not
  // restored) may hold what the store does not: the first interval snapshots it, changed or not.
  let last = restored || !(await walk(dir)).length ? await fingerprint(dir) : undefined;
  setPhase("running");
  await ready();
  log("state ready: the agent may start");

  // 3. Snapshots, and the restore drill.
  let drillDue = Date.now() + (status.lastDrill ? drillMs : Math.min(drillMs, FIRST_DRILL_MS));
  const drill = async () => {
    drillDue = Date.now() + drillMs;
    const name = pointer.snapshot;
    if (!name) return;
    const started = Date.now();
    const side = `${scratch}-drill`;
    try {
      const { bytes, entries } = await fetchVerified(store, name, pointer.sha256, side, download);
      // Its disk given back before the drill is said done (the finally below is for the failures).
      await rm(side, { recursive: true, force: true });
      report({ lastDrill: { time: new Date().toISOString(), snapshot: name, ok: true, entries, bytes, ms: Date.now() - started } });
      log(`restore drill: ${name} restored off to the side and verified (${entries} entries, ${bytes} bytes, ${Date.now() - started} ms)`);
    } catch (e) {
      if ((e instanceof StoreError && e.transient) || localFailure(e)) {
        // The store or this disk, not the snapshot: drilled again at the next interval.
        log(`restore drill: cannot read ${name} now (${e.message}); again at the next interval`);
        drillDue = Date.now() + intervalMs / 2;
        return;
      }
      report({ lastDrill: { time: new Date().toISOString(), snapshot: name, ok: false, error: e.message } });
      log(`RESTORE DRILL FAILED: ${name}, the snapshot the pointer names, did not restore (${e.message}). The local state is untouched: a new snapshot of it is taken at the next interval, and drilled after.`);
      // Taken even if nothing changed, then drilled again.
      last = undefined;
      drillDue = Date.now() + intervalMs / 2;
    } finally {
      await rm(side, { recursive: true, force: true });
    }
  };
  let seq = 0;
  const skipped = new Map();
  const reported = new Set();
  const save = async (why) => {
    if (lost) return;
    const now = await fingerprint(dir);
    const checkedAt = new Date().toISOString();
    if (now === last && why !== "final") return report({ storeCurrentAt: checkedAt });
    if (now === last) return log("final: state unchanged since the last snapshot");
    if (!(await leaseProven(`the ${why} snapshot`))) return;
    const started = Date.now();
    let snap;
    const name = `snapshots/${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}-${seq++}.tar.gz`;
    const meter = { hash: createHash("sha256"), bytes: 0 };
    try {
      snap = await snapshot(dir, scratch, skipped);
      const news = [...skipped].filter(([name]) => !reported.has(name));
      if (news.length) log(`not in snapshots: ${news.map(([name, why]) => `${name} (${why})`).join(", ")}`);
      for (const [name] of news) reported.add(name);
      if (lost) return;
      // Marked before the upload starts and before the pointer moves: killed anywhere from here
      // on, a restarted instance still knows the local state is its own (the store holds either
      // its last snapshot or this one).
      await writeMark(dir, { snapshot: pointer.snapshot, pending: name });
      await store.putSnapshot(name, packed(snap.entries, meter));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
    const history = [name, ...(pointer.history ?? (pointer.snapshot ? [pointer.snapshot] : []))];
    const next = { snapshot: name, sha256: meter.hash.digest("hex"), bytes: meter.bytes, time: new Date().toISOString(), history: history.slice(0, HISTORY) };
    try {
      await store.putPointer(next);
    } catch (e) {
      // Someone else wrote the pointer (a restore by hand, or another instance that took over).
      if (e.conflict) {
        await store.delete(name).catch(() => {});
        loseLease(`the pointer was changed by someone else (${e.message}); restart the bot to restore what the pointer names`);
        return;
      }
      throw e;
    }
    await writeMark(dir, { snapshot: name });
    pointer = next;
    last = now;
    log(`${why} snapshot ${name}: ${snap.files} files, ${snap.databases} databases, ${next.bytes} bytes, ${Date.now() - started} ms`);
    report({ lastSnapshot: { name, time: next.time, bytes: next.bytes, ms: Date.now() - started }, storeCurrentAt: checkedAt });
    if (why !== "final" && Date.now() - prunedAt >= PRUNE_EVERY_MS) await prune().catch((e) => log(`pruning old snapshots failed (${e.message}); retrying in ${PRUNE_EVERY_MS / 60_000} min`));
  };
  // Old snapshots beyond the retention go, never the pointer's own nor its history, and only
  // while this instance proves its lease.
  let prunedAt = 0;
  const prune = async () => {
    prunedAt = Date.now();
    const names = await store.list("snapshots/");
    const keep = retained(names, Date.now(), retention);
    for (const name of [pointer.snapshot, ...(pointer.history ?? [])]) keep.add(name);
    const gone = names.filter((name) => !keep.has(name));
    for (const name of gone) {
      if (lost || Date.now() >= renewedAt + leaseMs - marginMs) return;
      await store.delete(name);
    }
    if (gone.length) log(`pruned ${gone.length} snapshots beyond the retention (${env.STATE_SYNC_RETENTION || DEFAULT_RETENTION}); ${keep.size} kept`);
  };
  // The status in the store, for `botfleet status`: after a snapshot, a drill or a restore, and at
  // least every PUBLISH_EVERY_MS (a bot whose state does not change still shows it is alive).
  let publishedAt = 0;
  const publish = async () => {
    // Only a proven holder writes it: a paused former holder never overwrites the new one's.
    if (lost || !(await leaseProven("publishing the status"))) return;
    publishedAt = Date.now();
    const doc = { ...status, interval: intervalMs / 1000, publishedAt: new Date().toISOString() };
    await store.putFile(STORE_STATUS, Buffer.from(JSON.stringify(doc))).catch((e) => log(`could not publish the status to the store (${e.message}); retrying later`));
  };
  // A request someone put in the store (a restore, a pairing): its JSON, null when it is not JSON,
  // undefined when there is none (or it cannot be read now: the next interval tries again).
  const readRequest = async (name) => {
    const body = await store.get(name).catch((e) => log(`could not read ${PREFIX}${name} (${e.message}); retrying next interval`));
    if (!body) return undefined;
    try {
      return JSON.parse(body.toString("utf8"));
    } catch {
      return null;
    }
  };
  // A restore someone asked for: verified off to the side first, then the agent is stopped, the
  // state swapped, the pointer moved (the state from before stays in its history) and the agent
  // started again. Refused, the state stays as it was.
  const restoreIfAsked = async (asked) => {
    if (asked === undefined) return;
    const time = new Date().toISOString();
    if (!isRestoreRequest(asked)) {
      log(`RESTORE REFUSED: ${PREFIX}${RESTORE_REQUEST} is not a restore request ({"id", "snapshot": "snapshots/<name>.tar.gz"}); deleted, the state stays as it was`);
      report({ lastRestore: { time, ok: false, error: "not a restore request" } });
    } else if (pointer.restoreId === asked.id) {
      // Applied already; this instance stopped before it could delete the request.
    } else if (asked.when === "next-start") {
      return; // for the next instance, before its agent starts (restoreAtStart)
    } else {
      if (!(await leaseProven("the restore"))) return;
      log(`restore asked for (${asked.id}${asked.by ? ` by ${asked.by}` : ""}): ${asked.snapshot}. A snapshot of the current state first.`);
      const staging = join(dir, STAGING_DIR);
      let fetched;
      try {
        try {
          await save("before-restore");
        } catch (e) {
          throw new Error(`the current state could not be snapshotted first (${e.message})`);
        }
        if (lost) return;
        fetched = await fetchVerified(store, asked.snapshot, asked.sha256, staging, download);
      } catch (e) {
        await rm(staging, { recursive: true, force: true });
        if (e instanceof StoreError && e.transient) return log(`restore ${asked.id}: cannot read ${asked.snapshot} now (${e.message}); tried again at the next interval`);
        log(`RESTORE REFUSED: ${asked.snapshot}: ${e.message}. The state stays as it was (${pointer.snapshot ?? "no snapshot yet"}).`);
        report({ lastRestore: { id: asked.id, snapshot: asked.snapshot, time, ok: false, error: e.message } });
      }
      const before = pointer.snapshot;
      if (fetched) {
        setPhase("restoring");
        await rm(join(dir, READY_FILE), { force: true });
        for (let waited = 0; await agentMayRun(dir); waited += 1) {
          if (waited % 10 === 0) log("waiting for the agent to stop before the restore (its watcher touches " + AGENT_FILE + ")");
          await sleep(1000);
        }
        await swapIn(dir, staging);
        await giveTo(env.STATE_SYNC_OWNER, dir);
        const { sha256, bytes } = fetched;
        const history = [asked.snapshot, ...[before, ...(pointer.history ?? [])].filter((h) => h && h !== asked.snapshot)];
        const next = { snapshot: asked.snapshot, sha256, bytes, time, history: [...new Set(history)].slice(0, HISTORY), restoreId: asked.id };
        // The local state is the restored one from here: killed before the pointer moves, a new
        // instance still knows it as its own (pending).
        await writeMark(dir, { snapshot: before, pending: asked.snapshot });
        try {
          await store.putPointer(next);
          await writeMark(dir, { snapshot: asked.snapshot });
          pointer = next;
          last = await fingerprint(dir);
        } catch (e) {
          if (e.conflict) return loseLease(`the pointer was changed by someone else during a restore (${e.message})`);
          // The next snapshot uploads the restored state and moves the pointer.
          log(`could not move the pointer to ${asked.snapshot} (${e.message}); the next snapshot does`);
        }
        log(`RESTORED ${asked.snapshot} (${fetched.entries} entries, ${bytes} bytes); the state before is ${before ?? "none"}, kept in the store`);
        report({ lastRestore: { id: asked.id, snapshot: asked.snapshot, before, time, ok: true, entries: fetched.entries, bytes } });
        setPhase("running");
        await ready();
      }
    }
    await store.delete(RESTORE_REQUEST).catch((e) => log(`could not delete ${PREFIX}${RESTORE_REQUEST} (${e.message})`));
    await publish();
  };
  // A DM pairing someone asked for: handed to the agent's watcher, its answer put in the store.
  const pairIfAsked = async (asked) => {
    if (asked === undefined) return;
    const valid =
      typeof asked?.id === "string" &&
      /^[A-Za-z0-9_-]{1,64}$/.test(asked.id) &&
      /^[a-z][a-z0-9_-]{0,63}$/.test(asked.channel ?? "") &&
      (asked.action === "list" || (asked.action === "approve" && /^[A-Za-z0-9-]{1,32}$/.test(asked.code ?? "")));
    let answer;
    if (!valid) answer = { ok: false, error: 'not a pairing request ({"id", "action": "list" or "approve", "channel", "code"})' };
    else if (!(await agentMayRun(dir))) {
      // It runs beside the agent: while the agent (re)starts the request waits, an hour at most.
      const askedAt = Date.parse(asked.requestedAt ?? "");
      if (Date.now() - askedAt <= PAIRING_KEEP_MS) return log(`pairing ${asked.id} waits for the agent to run (it runs beside it)`);
      answer = { ok: false, error: "asked over an hour ago (or at no time given), and the agent has not run since: botfleet status shows why; ask again once it runs" };
    } else {
      if (!(await leaseProven("the pairing"))) return;
      log(`pairing asked for (${asked.id}${asked.by ? ` by ${asked.by}` : ""}): ${asked.action} on ${asked.channel}`);
      answer = await pairBesideAgent(dir, asked, () => stopping || lost);
      // Stopping: the request stays for the next holder; the final snapshot goes first.
      if (!answer) return log(`pairing ${asked.id}: left for the next instance (stopping)`);
      log(`pairing ${asked.id}: ${answer.ok ? "done" : `failed: ${answer.error ?? `exit ${answer.exitCode}`}`}`);
    }
    // Only a holder writes to the store.
    if (lost) return;
    const result = { id: asked?.id ?? null, action: asked?.action, channel: asked?.channel, code: asked?.code, time: new Date().toISOString(), ...answer };
    await store.putFile(PAIRING_RESULT, Buffer.from(JSON.stringify(result))).catch((e) => log(`could not write ${PREFIX}${PAIRING_RESULT} (${e.message})`));
    // Deleted only if it is still this request: one asked meanwhile waits for the next interval.
    const still = await readRequest(PAIRING_REQUEST);
    if (still === null || still?.id === asked?.id) await store.delete(PAIRING_REQUEST).catch((e) => log(`could not delete ${PREFIX}${PAIRING_REQUEST} (${e.message})`));
  };
  await publish();
  while (!stopping && !lost) {
    if (!requested) await pause(intervalMs);
    if (stopping || lost) break;
    const why = requested ? "requested" : "periodic";
    requested = false;
    const snapshotBefore = status.lastSnapshot;
    try {
      await save(why);
    } catch (e) {
      log(`snapshot failed: ${e.message}. The previous snapshot stays current; retrying next interval.`);
      report({ lastFailure: { time: new Date().toISOString(), message: e.message } });
    }
    // Both requests read at once: a store far away is slow per request.
    const [restore, pairing] = stopping || lost ? [] : await Promise.all([readRequest(RESTORE_REQUEST), readRequest(PAIRING_REQUEST)]);
    if (!stopping && !lost) await restoreIfAsked(restore);
    if (!stopping && !lost) await pairIfAsked(pairing);
    const drilling = !stopping && !lost && Date.now() >= drillDue;
    if (drilling) await drill();
    if (!stopping && !lost && (drilling || status.lastSnapshot !== snapshotBefore || Date.now() - publishedAt >= PUBLISH_EVERY_MS)) await publish();
    signal = woken();
  }

  // 4. Graceful stop: a final snapshot while the lease is proven (renewed first if need be).
  if (await leaseProven("the final snapshot")) {
    try {
      await save("final");
    } catch (e) {
      log(`final snapshot failed: ${e.message}`);
    }
    setPhase("stopping");
    await publish();
  }
  return quit(0);
}

if (import.meta.url === `file://${process.argv[1]}` || process.env.STATE_SYNC_MAIN === "1") {
  run().then(
    (code) => process.exit(code ?? 0),
    (e) => {
      log(`FATAL: ${e.message}`);
      process.exit(1);
    },
  );
}
