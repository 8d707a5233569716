import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import { EXIT, OperationError } from "./errors";
import { requestFrom } from "./requests";
import type { BotRef, BotStore } from "./types";

/** Where the request and the answer live in the bot's store (state-sync.mjs PAIRING_REQUEST, PAIRING_RESULT). */
export const PAIRING_REQUEST = "botfleet-state/pairing.json";
export const PAIRING_RESULT = "botfleet-state/pairing-result.json";

export interface PairingRequest {
  readonly id: string;
  readonly action: "list" | "approve";
  readonly channel: string;
  readonly code?: string;
  readonly requestedAt: string;
  readonly by: string;
}

/** The answer state-sync puts in the store: the runtime's pairing command's, or why none came. */
export interface PairingResult {
  readonly id: string | null;
  readonly ok: boolean;
  readonly exitCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly error?: string;
}

/** A sender waiting for approval, as OpenClaw's `pairing list --json` shows one. */
export interface PairingWaiting {
  readonly code: string;
  readonly id: string;
  readonly createdAt?: string;
  readonly meta?: Record<string, unknown>;
}

/**
 * The channel a pairing is for: the one given, or the bot's only channel whose DM policy is
 * pairing. Throws, saying what to do, when the runtime has no pairing command or no channel pairs.
 */
export function pairingChannel({ bot }: BotRef, given?: string): string {
  if (!RUNTIME_DESCRIPTIONS[bot.runtime].pairingCommand)
    throw new OperationError(
      `${bot.name} runs ${bot.runtime}, whose pairing botfleet cannot reach from outside: approve from a chat the bot already allows, with /pairing approve <code> (nanobot docs/configuration.md, "Pairing")`,
      EXIT.usage,
    );
  const on = Object.entries(bot.channels).filter(([, c]) => c !== undefined);
  const channels = on.filter(([, c]) => c!.dmPolicy === "pairing");
  if (given) {
    if (!on.some(([name]) => name === given)) throw new OperationError(`${bot.name} has no channel ${given} (its channels: ${on.map(([name]) => name).join(", ") || "none"})`, EXIT.usage);
    return given;
  }
  if (channels.length === 1) return channels[0][0];
  const policies = on.map(([name, c]) => `${name}: ${c!.dmPolicy}`);
  if (!channels.length)
    throw new OperationError(
      `${bot.name} has no channel whose DMs wait for pairing (${policies.join(", ") || "no channels"}): set channels.<channel>.dmPolicy: pairing in the fleet file, or give --channel`,
      EXIT.usage,
    );
  throw new OperationError(`${bot.name} pairs on ${channels.map(([n]) => n).join(" and ")}: say which with --channel`, EXIT.usage);
}

/**
 * Asks the bot's state-sync to run the runtime's pairing command beside the agent: the request in
 * the store (over any earlier one: listing twice or approving one code twice does no harm), which
 * the lease holder hands over at its next interval (state-sync.mjs pairIfAsked).
 */
export async function askPairing(store: BotStore, action: PairingRequest["action"], channel: string, code?: string): Promise<PairingRequest> {
  const request: PairingRequest = { ...requestFrom(), action, channel, ...(code && { code }) };
  await store.put(PAIRING_REQUEST, Buffer.from(JSON.stringify(request)));
  return request;
}

/** The answer to `request`, once state-sync has put it in the store. */
export async function pairingAnswer(store: BotStore, request: PairingRequest): Promise<PairingResult | undefined> {
  const body = await store.read(PAIRING_RESULT);
  const result = body ? (JSON.parse(body.toString("utf8")) as PairingResult) : undefined;
  return result?.id === request.id ? result : undefined;
}

/** The senders waiting, from `pairing list --json`'s output (`{channel, requests}`). */
export function waitingSenders(stdout: string): PairingWaiting[] {
  const start = stdout.indexOf("{");
  try {
    const parsed = JSON.parse(stdout.slice(start)) as { requests?: PairingWaiting[] };
    if (start >= 0 && Array.isArray(parsed.requests)) return parsed.requests;
  } catch {
    // said below
  }
  throw new OperationError(`the pairing list did not come back as JSON: ${stdout.slice(0, 300)}`, EXIT.failed);
}

/** Why the runtime's pairing command failed, in its own words (OpenClaw: `[openclaw] Reason: …`). */
export function pairingFailure(result: PairingResult): string {
  if (result.error) return result.error;
  const lines = (result.stderr ?? "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const reason = lines.find((l) => /Reason: /.test(l))?.replace(/^.*?Reason: /, "");
  return reason ?? lines.at(-1) ?? `its pairing command exited ${result.exitCode}`;
}
