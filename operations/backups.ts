import { EXIT, OperationError } from "./errors";
import { requestFrom } from "./requests";
import type { BotStore } from "./types";

/** state-sync's folder in a bot's store, and the files the operations read and write there (state-sync/state-sync.mjs). */
export const STATE_PREFIX = "botfleet-state/";
export const RESTORE_REQUEST = `${STATE_PREFIX}restore.json`;
export const STATE_STATUS = `${STATE_PREFIX}status.json`;
const POINTER = `${STATE_PREFIX}pointer.json`;

export interface Snapshot {
  /** As the pointer names it: `snapshots/<time>-<pid>-<seq>.tar.gz`. */
  readonly name: string;
  readonly time: Date;
  readonly bytes: number;
  /** The one the pointer names: the bot's state as of its last snapshot. */
  readonly current: boolean;
}

/** The time in a snapshot's name, as state-sync writes it (its `snapshotTime`), or undefined. */
export function snapshotTime(name: string): Date | undefined {
  const m = /snapshots\/(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z-/.exec(name);
  return m ? new Date(`${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z`) : undefined;
}

/** state-sync's pointer and published status, or undefined for each that is not there (yet). */
export async function readStateFiles(store: BotStore): Promise<{ pointer?: { snapshot?: string; history?: string[] }; status?: StateStatus }> {
  const [pointer, status] = await Promise.all([store.read(POINTER), store.read(STATE_STATUS)]);
  const parse = (b: Buffer | undefined) => {
    try {
      return b && b.length ? JSON.parse(b.toString("utf8")) : undefined;
    } catch {
      return undefined;
    }
  };
  return { pointer: parse(pointer), status: parse(status) };
}

/** What state-sync publishes in the store (`status.json`). */
export interface StateStatus {
  readonly phase?: string;
  /** Why, for `lease-lost`. */
  readonly reason?: string;
  readonly since?: string;
  readonly publishedAt?: string;
  readonly interval?: number;
  readonly storeCurrentAt?: string;
  readonly lastSnapshot?: { readonly name: string; readonly time: string; readonly bytes: number };
  readonly lastDrill?: { readonly time: string; readonly snapshot: string; readonly ok: boolean; readonly error?: string };
  readonly lastRestore?: { readonly id?: string; readonly time: string; readonly snapshot?: string; readonly before?: string; readonly ok: boolean; readonly error?: string };
  readonly lastFailure?: { readonly time: string; readonly message: string };
}

/** The bot's snapshots, oldest first. */
export async function listSnapshots(store: BotStore): Promise<Snapshot[]> {
  const [files, { pointer }] = await Promise.all([store.list(`${STATE_PREFIX}snapshots/`), readStateFiles(store)]);
  return files.flatMap((f) => {
    const name = f.path.slice(STATE_PREFIX.length);
    const time = snapshotTime(name);
    return time ? [{ name, time, bytes: f.bytes, current: pointer?.snapshot === name }] : [];
  });
}

/**
 * The snapshot a restore `--at` a time takes: the newest taken at or before it. Throws, saying
 * what there is, when none is.
 */
export function snapshotAt(snapshots: readonly Snapshot[], at: Date, bot: string): Snapshot {
  const before = snapshots.filter((s) => s.time <= at);
  if (before.length) return before[before.length - 1];
  if (!snapshots.length) throw new OperationError(`${bot} has no snapshot in its store yet: nothing to restore`, EXIT.notFound);
  throw new OperationError(
    `${bot} has no snapshot taken at or before ${at.toISOString()}: the oldest kept is from ${snapshots[0].time.toISOString()} (botfleet backups list ${bot} shows them all)`,
    EXIT.notFound,
  );
}

/**
 * A time as `--at` takes it: an ISO 8601 time (`2026-12-05T18:00:00Z`; without a zone, UTC) or a
 * duration back from now (`90m`, `6h`, `2d`).
 */
export function parseTime(text: string, now: Date, option = "--at"): Date {
  const ago = /^(\d+)([mhd])$/.exec(text.trim());
  if (ago) return new Date(now.getTime() - Number(ago[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as "m" | "h" | "d"]);
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text.trim());
  const time = iso ? new Date(iso[4] || !iso[1] ? text.trim() : `${text.trim()}Z`) : undefined;
  if (!time || Number.isNaN(time.getTime()))
    throw new OperationError(
      `${option} "${text}" is not a time: give an ISO 8601 time such as 2026-12-05T18:00:00Z (UTC unless it names a zone) or a time back from now such as 90m, 6h or 2d`,
      EXIT.usage,
    );
  return time;
}

export interface RestoreRequest {
  readonly id: string;
  readonly snapshot: string;
  readonly requestedAt: string;
  readonly by: string;
  /** "next-start": applied by the next state-sync to start, before its agent starts (state-sync.mjs restoreAtStart). */
  readonly when?: "next-start";
  /** With "next-start": only a state-sync beside this release (its STATE_SYNC_RELEASE) applies it. */
  readonly release?: string;
}

/**
 * Asks the bot's state-sync to restore `snapshot`: a request in the store, written only if none is
 * pending, which the lease holder applies at its next interval (a snapshot of the current state
 * first; state-sync/state-sync.mjs `restoreIfAsked`).
 */
export async function askRestore(store: BotStore, snapshot: string, bot: string, now = new Date(), atNextStart?: { release?: string }): Promise<RestoreRequest> {
  const request: RestoreRequest = { ...requestFrom(now), snapshot, ...(atNextStart && { when: "next-start", ...(atNextStart.release && { release: atNextStart.release }) }) };
  if (await store.create(RESTORE_REQUEST, Buffer.from(JSON.stringify(request)))) return request;
  const pending = (await store.read(RESTORE_REQUEST))?.toString("utf8") ?? "";
  throw new OperationError(
    `${bot} has a restore pending already (${pending.slice(0, 300)}): its state-sync applies it at its next interval, or at its next start if it is not running. Wait for it (botfleet status ${bot} shows the last restore), then ask again.`,
    EXIT.failed,
  );
}
