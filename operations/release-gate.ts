import { EXIT, OperationError } from "./errors";
import type { BotRef, LogLine, TargetOperations } from "./types";

/**
 * The launcher's verdict on a release of a Container Apps or Cloud Run bot, from its log lines
 * (templates/container/launch.sh: `release <r> HEALTHY`, `RELEASE FAILED: <r>: ...`, `RELEASE
 * FAILED here before: <r>: ...`, `ROLLED BACK to release <g>: release <r> failed: ...`), oldest
 * first; undefined while the gate has not decided.
 */
export interface GateVerdict {
  readonly healthy: boolean;
  readonly line: LogLine;
  /** The launcher's rollback to the last good release's config, when it said one. */
  readonly rolledBack?: LogLine;
}

export function gateVerdict(lines: readonly LogLine[], release: string): GateVerdict | undefined {
  const failed = [`botfleet: RELEASE FAILED: ${release}:`, `botfleet: RELEASE FAILED here before: ${release}:`];
  for (const line of lines) {
    if (line.text.includes(`botfleet: release ${release} HEALTHY`)) return { healthy: true, line };
    if (failed.some((f) => line.text.includes(f)))
      return { healthy: false, line, rolledBack: lines.find((l) => l.text.includes("botfleet: ROLLED BACK to release ") && l.text.includes(`: release ${release} failed`)) };
  }
  return undefined;
}

export interface GateWait {
  /** The deploy's start: lines before it are of earlier releases. */
  readonly since: Date;
  readonly timeoutMs: number;
  /** Between two reads of the log service. @default 10 s */
  readonly everyMs?: number;
}

/**
 * Waits for the launcher's gate on the release the bot's latest revision carries (its
 * BOTFLEET_RELEASE, as `botfleet status` reads it): resolves with the verdict, throws with
 * EXIT.timedOut when the gate has not decided in time.
 */
export async function waitForGate(ref: BotRef, ops: TargetOperations, env: NodeJS.ProcessEnv, wait: GateWait): Promise<GateVerdict & { release: string }> {
  const { desired: release } = await ops.status(ref, ops.store(ref, env), env);
  if (!release) throw new OperationError(`${ref.bot.name}'s latest revision carries no release (BOTFLEET_RELEASE): is it deployed by this botfleet?`, EXIT.notFound);
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    const verdict = gateVerdict(await ops.logs(ref, env, { since: wait.since, all: false, limit: 1000 }), release);
    if (verdict) return { ...verdict, release };
    if (Date.now() >= deadline)
      throw new OperationError(
        `${ref.bot.name}: release ${release} has not passed or failed its health gate within ${Math.round(wait.timeoutMs / 1000)} s of ${wait.since.toISOString()} (no "release ${release} HEALTHY" or "RELEASE FAILED" line in its log). Is its revision running? botfleet status ${ref.bot.name}; botfleet logs ${ref.bot.name}`,
        EXIT.timedOut,
      );
    await new Promise((r) => setTimeout(r, Math.min(wait.everyMs ?? 10_000, Math.max(0, deadline - Date.now()))));
  }
}
