import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";

export interface BotOutputsProps {
  /**
   * Where users reach the bot's gateway.
   * @default no `url` output (a VM without a domain: its instance's public IP is known only after apply)
   */
  readonly url?: string;
  /** The identity the bot runs as: a managed identity's resource ID, or a service account's email. */
  readonly identity: string;
  /** Where the durable copy of its state lives (a blob container's URL, or a gs:// bucket). */
  readonly stateStore: string;
  /**
   * The bot is retired: nothing runs it, its identity, secrets and state are kept. An output
   * `retired` says so to the deploy workflow, which destroys such a stack once it leaves the fleet.
   * @default false
   */
  readonly retired?: boolean;
}

/**
 * The outputs every bot stack has, under the same names whatever its target, so `cdktf output
 * <bot>` and scripts read one shape: url, identity, state-store.
 */
export function botOutputs(scope: Construct, props: BotOutputsProps): void {
  const output = (name: string, value: string, description: string) =>
    // The construct ID apart from the resources' (the stack's identity is "identity" too).
    new TerraformOutput(scope, `output-${name}`, { value, description }).overrideLogicalId(name);
  if (props.url !== undefined) output("url", props.url, "Where users reach the bot's gateway");
  output("identity", props.identity, "The identity the bot runs as");
  output("state-store", props.stateStore, "Where the durable copy of the bot's state lives");
  if (props.retired) output("retired", "true", "Nothing runs the bot; its identity, secrets and state are kept (docs/day-2.md#removing-a-bot)");
}
