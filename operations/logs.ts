import type { BotRef, LogLine, TargetOperations } from "./types";

export interface LogsOptions {
  readonly since: Date;
  readonly all: boolean;
  readonly limit: number;
  /** Keep reading new lines, every `everyS` seconds, until stopped. */
  readonly follow: boolean;
  readonly everyS: number;
  readonly json: boolean;
}

/** How far back a follow's read reaches for late lines: the log services take lines in minutes after they are written. */
const LATE_MS = 60 * 60_000;
/**
 * How far before the newest ingestion time seen a follow reads again: a row becomes readable some
 * time after the time it is stamped with, not in order. Lines read twice are printed once.
 */
const OVERLAP_MS = 5 * 60_000;
/** A follow's page: a fuller one is read on at once. */
const FOLLOW_PAGE = 1000;

/**
 * Prints a bot's log lines, oldest first; with `follow`, reads on by when the log service took each
 * line in (never by when it was written: lines arrive late, out of order), each printed once, and
 * rides out a failing read (said on stderr, tried again). Returns how many it printed (a follow
 * returns only when stopped).
 */
export async function printLogs(
  ops: TargetOperations,
  ref: BotRef,
  env: NodeJS.ProcessEnv,
  options: LogsOptions,
  out: (text: string) => void,
  warn: (text: string) => void = (t) => process.stderr.write(t),
): Promise<number> {
  const { since, all, limit, json } = options;
  const show = (line: LogLine) =>
    out(json ? `${JSON.stringify({ time: line.time, source: line.source, text: line.text })}\n` : `${line.time.toISOString()}  ${all ? `${line.source}  ` : ""}${line.text}\n`);
  const first = await ops.logs(ref, env, { since, all, limit });
  first.forEach(show);
  if (!options.follow) return first.length;

  const key = (line: LogLine) => `${line.time.toISOString()}\u0000${line.source}\u0000${line.text}`;
  const seen = new Map(first.map((line) => [key(line), line.received.getTime()]));
  let cursor = Math.max(Date.now() - LATE_MS, ...first.map((line) => line.received.getTime()));
  let waitS = options.everyS;
  for (let full = false; ;) {
    if (!full) await new Promise((r) => setTimeout(r, waitS * 1000));
    const from = cursor - OVERLAP_MS;
    let lines: LogLine[];
    try {
      lines = await ops.logs(ref, env, { since: new Date(Math.max(since.getTime(), from - LATE_MS)), receivedFrom: new Date(from), all, limit: FOLLOW_PAGE });
      waitS = options.everyS;
    } catch (e) {
      waitS = Math.min(waitS * 2, 120);
      warn(`botfleet: logs: ${(e as Error).message.split("\n")[0]}; trying again in ${waitS} s\n`);
      full = false;
      continue;
    }
    for (const line of lines) {
      if (seen.has(key(line))) continue;
      seen.set(key(line), line.received.getTime());
      show(line);
    }
    const newest = Math.max(cursor, ...lines.map((line) => line.received.getTime()));
    // A full page whose lines were all taken in before the cursor moved would be read again and
    // again: read on only when the cursor moves.
    full = lines.length >= FOLLOW_PAGE && newest > cursor;
    cursor = newest;
    // Lines taken in before the overlap are never read again: forget them.
    for (const [k, received] of seen) if (received < cursor - OVERLAP_MS) seen.delete(k);
  }
}
