/** File beside each stack's cdk.tf.json that tells `npm run review` what the stack deploys. */
export const STACK_FACTS_FILE = "botfleet.json";

/** Contents of STACK_FACTS_FILE; `Bot` is config/load.ts's resolved bot. */
export interface StackFacts<Bot = unknown> {
  readonly stack: string;
  readonly fleet: string;
  /** The bot the stack deploys, with its defaults applied; absent for shared stacks. */
  readonly bot?: Bot;
}

/**
 * The bot as STACK_FACTS_FILE has always written it, so that the review reads the output of older
 * and newer botfleet alike (it compares a branch's output with its base's): these keys in this
 * order, settings the bot's target does not take at the defaults they had when every bot carried
 * them. What the review reads of a bot is among them.
 */
export function botFacts(bot: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(FACTS).map(([key, missing]) => [key, key in bot ? (bot as Record<string, unknown>)[key] : missing]));
}

const FACTS: Readonly<Record<string, unknown>> = {
  name: undefined,
  target: undefined,
  runtime: undefined,
  region: undefined,
  tier: undefined,
  model: undefined,
  modelProvider: undefined,
  persona: undefined,
  channels: undefined,
  sandbox: undefined,
  domain: undefined,
  image: undefined,
  publicAccess: false,
  deletionProtection: true,
  allowedIpRanges: [],
  deniedIpRanges: [],
  internalOnly: false,
  suppressions: [],
  retired: false,
};
