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
 * Prints a bot's log lines, oldest first; with `follow`, reads on by when the log service took each
 * line in (never by when it was written: lines arrive late, out of order), each printed once.
 * Returns how many it printed (a follow returns only when stopped or failed).
 */
export async function printLogs(ops: TargetOperations, ref: BotRef, env: NodeJS.ProcessEnv, options: LogsOptions, out: (text: string) => void): Promise<number> {
  const { since, all, limit, json } = options;
  const show = (line: LogLine) =>
    out(json ? `${JSON.stringify({ time: line.time, source: line.source, text: line.text })}\n` : `${line.time.toISOString()}  ${all ? `${line.source}  ` : ""}${line.text}\n`);
  const first = await ops.logs(ref, env, { since, all, limit });
  first.forEach(show);
  if (!options.follow) return first.length;

  const key = (line: LogLine) => `${line.time.toISOString()}\u0000${line.source}\u0000${line.text}`;
  const seen = new Map(first.map((line) => [key(line), line.received.getTime()]));
  let cursor = Math.max(Date.now() - LATE_MS, ...first.map((line) => line.received.getTime()));
  for (;;) {
    await new Promise((r) => setTimeout(r, options.everyS * 1000));
    const lines = await ops.logs(ref, env, { since: new Date(Math.max(since.getTime(), cursor - LATE_MS)), receivedFrom: new Date(cursor), all, limit: 1000 });
    for (const line of lines) {
      if (seen.has(key(line))) continue;
      seen.set(key(line), line.received.getTime());
      show(line);
    }
    cursor = Math.max(cursor, ...lines.map((line) => line.received.getTime()));
    // Lines taken in before the cursor are never read again: forget them.
    for (const [k, received] of seen) if (received < cursor) seen.delete(k);
  }
}
