import { MANAGED_BOTFLEET_ALARMS } from "../bootstrap/alarms";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import { CHANNEL_FAILURE_WINDOW_MINUTES } from "../runtimes/runtime";
import type { StateStatus } from "./backups";
import type { BotRef, LogLine, TargetOperations, TargetStatus } from "./types";

export type Condition = NonNullable<TargetStatus["condition"]>;

/** Two and a half of state-sync's report periods. */
const STATE_REPORT_LATE_MS = 25 * 60_000;

/**
 * A bot's condition from what state-sync published in the store and the agent's log lines of the
 * last CHANNEL_FAILURE_WINDOW_MINUTES, by the rules of the VM's updater (templates/vm/update.sh.hbs,
 * bot_condition), for targets with no updater on the bot to tell it (Container Apps, Cloud Run):
 * degraded while a chat channel failed within the window, snapshots fail since the store last held
 * the state, the last restore drill failed, or state-sync is neither starting nor running, or has
 * not reported for STATE_REPORT_LATE_MS (it publishes on change and every 10 minutes:
 * state-sync.mjs PUBLISH_EVERY_MS); and while a new release failed the launcher's health gate within
 * the window (its lines: templates/container/launch.sh).
 */
export function conditionFrom(state: StateStatus | undefined, channelFailures: readonly LogLine[], now = new Date(), releaseFailures: readonly LogLine[] = []): Condition {
  const reasons: string[] = [];
  if (releaseFailures.length) reasons.push(`a release failed its health gate within ${CHANNEL_FAILURE_WINDOW_MINUTES} min: ${releaseFailures[releaseFailures.length - 1].text.slice(0, 300)}`);
  if (channelFailures.length)
    reasons.push(`a chat channel failed ${channelFailures.length} times in ${CHANNEL_FAILURE_WINDOW_MINUTES} min, last: ${channelFailures[channelFailures.length - 1].text.slice(0, 200)}`);
  if (state?.lastFailure && state.lastFailure.time > (state.storeCurrentAt ?? "")) reasons.push(`state snapshots failing since ${state.lastFailure.time}: ${state.lastFailure.message.slice(0, 200)}`);
  if (state?.lastDrill && !state.lastDrill.ok) reasons.push(`restore drill failed at ${state.lastDrill.time}: ${`${state.lastDrill.snapshot}: ${state.lastDrill.error ?? ""}`.slice(0, 200)}`);
  const phase = state?.phase ?? "running";
  // A stopped instance's last report (`stopping`, `stopped`) stands until another one takes over.
  if (phase !== "running" && phase !== "starting") reasons.push(`state-sync: ${phase}${state?.reason ? `: ${state.reason.slice(0, 200)}` : ""}${state?.since ? ` since ${state.since}` : ""}`);
  if (state?.publishedAt && now.getTime() - Date.parse(state.publishedAt) > STATE_REPORT_LATE_MS)
    reasons.push(`state-sync has not reported since ${state.publishedAt} (it does every 10 min while it runs): is the bot running?`);
  return reasons.length ? { state: "degraded", reasons } : { state: "ready", reasons: [] };
}

/** The launcher's lines that say a release failed its health gate (the `update-failed` alarm's). */
const RELEASE_FAILURE_SIGNALS = MANAGED_BOTFLEET_ALARMS.find((a) => a.id === "update-failed")!.patterns;

/**
 * The agent's lines of the window that tell its condition: a chat channel failed (its runtime's
 * logSignals.channelDisconnect), a release failed the launcher's health gate.
 */
export async function conditionLines(ref: BotRef, ops: TargetOperations, env: NodeJS.ProcessEnv, now = new Date()): Promise<{ channelFailures: LogLine[]; releaseFailures: LogLine[] }> {
  const lines = await ops.logs(ref, env, { since: new Date(now.getTime() - CHANNEL_FAILURE_WINDOW_MINUTES * 60_000), all: false, limit: 1000 });
  return {
    channelFailures: channelFailureLines(ref.bot.runtime, lines),
    releaseFailures: lines.filter((l) => RELEASE_FAILURE_SIGNALS.some((s) => l.text.includes(s))),
  };
}

/** The lines that say one of the runtime's chat channels failed (its logSignals.channelDisconnect). */
export function channelFailureLines(runtime: BotRef["bot"]["runtime"], lines: readonly LogLine[]): LogLine[] {
  const signals = RUNTIME_DESCRIPTIONS[runtime].logSignals.channelDisconnect;
  return lines.filter((l) => signals.some((s) => l.text.includes(s)));
}

/** The platform's condition (a revision that failed) and the derived one, as one. */
export function mergedCondition(platform: Condition | undefined, derived: Condition): Condition {
  const reasons = [...(platform?.reasons ?? []), ...derived.reasons];
  if (!reasons.length) return platform ?? derived;
  return { state: platform?.state === "waiting" ? "waiting" : "degraded", reasons };
}
