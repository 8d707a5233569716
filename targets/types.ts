import type { z } from "zod";
import type { Cloud, Tier } from "../contracts";
import type { RuleId } from "../contracts/policy-rules";
import type { CheckedResource, Json, StackView } from "../tfjson/terraform-json";

/**
 * What botfleet knows about one target (where a bot runs), in one place: `targets/<id>/index.ts`,
 * listed in the registry (targets/index.ts). config, constructs/fleet.ts, policy and review loop
 * over the registry and never name a target.
 */
export interface TargetDescriptor<Id extends string = string, Settings extends object = object, Size = unknown> {
  readonly id: Id;
  /** The cloud it runs in: one shared stack per cloud and region in use. */
  readonly cloud: Cloud;
  /** Regions the fleet file may name for its bots; anything else is reported as a likely typo. */
  readonly regions: readonly string[];
  /** How one of them is named in messages: `is not <regionNoun> for target ...`. */
  readonly regionNoun: string;
  /**
   * Bot settings only this target takes (a bot of another target that sets one is refused), as
   * zod schemas: `inheritable` ones may also be set in `defaults`, `botOnly` ones on a bot only. A
   * setting several targets take is one shared schema object (targets/public-access.ts).
   */
  readonly settings: { readonly botOnly?: z.ZodRawShape; readonly inheritable?: z.ZodRawShape };
  /** The target's settings of a validated bot, `own` winning over `defaults`. */
  resolve(own: Readonly<Record<string, unknown>>, defaults: Readonly<Record<string, unknown>>, fleet: RawFleet): Settings;
  /** Problems of one bot of this target, found before synth. */
  check?(bot: TargetCheck): void;
  /** Problems of the whole fleet that bots of this target cause, reported once. */
  checkFleet?(fleet: RawFleet, bots: readonly RawBot[], report: Report): void;
  /** The compute each tier gets. */
  readonly sizes: Readonly<Record<Tier, Size>>;
  /** The stack of the cloud's shared resources in one region; loaded on first use (main loads stack classes lazily for speed). */
  readonly sharedStack: () => unknown;
  /** The stack that deploys one bot, loaded on first use. */
  readonly botStack: () => unknown;
  /** Parts of the shared stack only this target's bots need. */
  readonly sharedNeeds?: readonly SharedNeed[];
  /**
   * Resource types that run the bot itself (a bot stack holds one, BF-ONE-1), each with, for every
   * policy rule about workloads, how the rule examines it or why it does not apply. A rule the
   * entry says nothing about fails synth (policy/coverage.ts).
   */
  readonly compute: Readonly<Record<string, RuleCoverage>>;
  /** The agent config botfleet rendered for one of its compute resources, as it reaches the agent. */
  readonly agentConfig: (resource: CheckedResource, stack: StackView) => Json | undefined;
  /**
   * The Docker engine the target gives a runtime's tool sandbox (as the review words it), or why it
   * has none: a bot there may only have its sandbox off.
   */
  readonly toolSandbox: { readonly engine: string } | { readonly none: string };
  /** Resource types that hold the bot's secrets; policy/rules.ts BF-SEC-1 examines each (or policy/resource-types.ts says why not). */
  readonly secretTypes: readonly string[];
  readonly review: TargetReview;
}

/** For each policy rule about workloads: its check of one compute type, or why it does not apply. */
export type RuleCoverage = { readonly [R in RuleId]?: ResourceCheck | NotApplicable };
export type ResourceCheck = (resource: CheckedResource, stack: StackView) => string[];
export interface NotApplicable {
  /** Why the rule does not apply to this type; shown nowhere but here, so make it convincing. */
  readonly notApplicable: string;
}

export type SharedNeed = "container-apps-environment" | "vm-syslog-rule";

/** The fleet file as target checks see it: its name and the clouds' fleet-wide settings. */
export interface RawFleet {
  readonly name: string;
  readonly azure: { readonly uniqueSuffix?: string; readonly containerAppsSubnet?: string };
  readonly gcp?: { readonly project: string };
}

/** A bot as written in the fleet file, validated field by field, defaults not applied. */
export interface RawBot {
  readonly name: string;
  readonly [setting: string]: unknown;
}

/** Reports a problem at a path of the fleet file. */
export type Report = (path: readonly PropertyKey[], message: string) => void;

export interface TargetCheck {
  readonly fleet: RawFleet;
  /** The bot as written. */
  readonly bot: RawBot;
  /** Its settings with `defaults` applied. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Where the bot is in the file: `["bots", i]`. */
  readonly path: readonly PropertyKey[];
  readonly report: Report;
}

/** What the review shows of this target's bot stacks. */
export interface TargetReview {
  /** Everything reachable from outside, one line each. */
  endpoints?(view: StackView): string[];
  /** Where the bot's log lines go and how long they stay. */
  readonly logs: string;
  /** What the review says of a bot stack without alerts: how to get them, or why there are none. */
  readonly noAlerts: string;
  /** Mermaid lines from the callers to the agent and its vault and state; undefined when the stack holds no compute of this target. */
  diagram?(host: DiagramHost): string[] | undefined;
  /** What each of its resource types costs a month; undefined when its settings are not in the price table. */
  readonly pricers?: Readonly<Record<string, Pricer>>;
}

export interface DiagramHost {
  readonly view: StackView;
  readonly json: Json;
  readonly runtime: { readonly id: string; readonly port: number };
  /** The vault's label: `4 secrets`. */
  readonly vault: string;
  readonly endpoints: readonly string[];
  /** A quoted Mermaid label. */
  label(text: string): string;
}

/** A fixed monthly charge of one resource. */
export interface CostLine {
  readonly address: string;
  readonly item: string;
  readonly monthly: number;
}

export type Pricer = (body: Json, address: string) => CostLine[] | undefined;

/** Keeps a descriptor's literal id and its settings' type, so that a resolved bot is typed by its target. */
export function defineTarget<const Id extends string, Settings extends object, Size>(target: TargetDescriptor<Id, Settings, Size>): TargetDescriptor<Id, Settings, Size> {
  return target;
}
