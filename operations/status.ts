import { existsSync } from "node:fs";
import { join } from "node:path";
import { estimateCost } from "../review/cost";
import { readSynthOutput } from "../review/synth-output";
import { readStateFiles, type StateStatus } from "./backups";
import { conditionFrom, conditionLines, mergedCondition } from "./condition";
import { EXIT, OperationError } from "./errors";
import { operationsOf } from "./registry";
import type { BotRef, TargetStatus } from "./types";

/** One bot's status, as `botfleet status --json` prints it. */
export interface BotStatus {
  readonly bot: string;
  readonly target: string;
  readonly region: string;
  readonly retired: boolean;
  /** The tool sandbox the fleet file asks for (undefined: the runtime's recommended mode). */
  readonly sandbox: string;
  /** What the platform says (release, condition, restarts), or why it cannot say. */
  readonly platform: TargetStatus;
  /** What state-sync published in the store, or undefined when it has not (yet). */
  readonly state?: StateStatus;
  /** The monthly cost of its stack as synthesized in `cdktf.out`, when there is one. */
  readonly monthlyCost?: number;
  /** Why part of the status could not be read (the rest is still shown). */
  readonly errors: readonly string[];
}

/** Each bot's status, read from its store and its platform, bots in parallel. */
export async function fleetStatus(refs: readonly BotRef[], env: NodeJS.ProcessEnv, synthDir: string): Promise<BotStatus[]> {
  const costs = monthlyCosts(synthDir);
  return Promise.all(refs.map((ref) => botStatus(ref, env, costs.get(ref.bot.name))));
}

async function botStatus(ref: BotRef, env: NodeJS.ProcessEnv, monthlyCost: number | undefined): Promise<BotStatus> {
  const { bot } = ref;
  const errors: string[] = [];
  const ops = operationsOf(bot.target);
  const store = ops.store(ref, env);
  const keep = <T>(p: Promise<T>, fallback: T) =>
    p.catch((e) => {
      // Not signed in or not allowed is the same for every bot: said once, by the caller.
      if (e instanceof OperationError && (e.exitCode === EXIT.notSignedIn || e.exitCode === EXIT.forbidden)) throw e;
      errors.push((e as Error).message);
      return fallback;
    });
  const [state, reported, lines] = await Promise.all([
    keep(readStateFiles(store), {}),
    keep(ops.status(ref, store, env), {} as TargetStatus),
    // The log service is read for the condition only: no right to read it is said for that bot,
    // the rest of the status still shown.
    ops.conditionReported || bot.retired
      ? undefined
      : conditionLines(ref, ops, env).catch((e: Error) => {
          errors.push(`its log (chat channels' failures, releases that failed) could not be read: ${e.message}`);
          return undefined;
        }),
  ]);
  // Where no updater on the bot tells its condition, it is derived. Logs that could not be read
  // (said in the errors) never make it "ready".
  const derived = ops.conditionReported || bot.retired ? undefined : conditionFrom(state.status, lines?.channelFailures ?? [], undefined, lines?.releaseFailures);
  const platform = derived && (lines !== undefined || derived.state !== "ready") ? { ...reported, condition: mergedCondition(reported.condition, derived) } : reported;
  return { bot: bot.name, target: bot.target, region: bot.region, retired: bot.retired, sandbox: bot.sandbox.mode ?? "runtime default", platform, state: state.status, monthlyCost, errors };
}

/** Each bot stack's monthly cost in the synthesized output, as the review prices it; none without one. */
function monthlyCosts(dir: string): Map<string, number> {
  if (!existsSync(join(dir, "manifest.json"))) return new Map();
  return new Map(readSynthOutput(dir).flatMap((s) => (s.facts?.bot ? [[s.facts.bot.name, estimateCost(s.json).monthly] as const] : [])));
}

/** `3 min`, `5 h`, `2 d` since `iso`, from `now`. */
export function age(iso: string | undefined, now: Date): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
