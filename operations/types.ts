import type { Bot, Fleet } from "../config/load";
import type { SecretSpec } from "../runtimes/runtime";

/** One file in a bot's store (its state container or bucket). */
export interface StoredFile {
  /** Its path in the store, e.g. `botfleet-state/snapshots/<time>-….tar.gz`. */
  readonly path: string;
  readonly bytes: number;
  readonly modified: Date;
}

/**
 * The store holding a bot's durable state, where state-sync keeps snapshots, the pointer and its
 * published status (docs/secrets-and-operations.md#where-state-lives), as the operations read it.
 */
export interface BotStore {
  /** Where it is, for messages: `Azure blob container …`, `gs://…`. */
  readonly describe: string;
  /** What the identity needs on it to read and write (for the error when it may not). */
  readonly role: string;
  list(prefix: string): Promise<StoredFile[]>;
  /** The file's content, or undefined when there is none. */
  read(path: string): Promise<Buffer | undefined>;
  /** Writes `path` only if nothing is there; false when something is. */
  create(path: string, body: Buffer): Promise<boolean>;
  /** Writes `path`, over what is there. */
  put(path: string, body: Buffer): Promise<void>;
}

/** One of a bot's secrets, as `secrets list` shows it: never its value. */
export interface SecretState extends SecretSpec {
  /** Its name in the vault or secret manager. */
  readonly name: string;
  /** How many values it has had (enabled versions); 0: not there. */
  readonly versions: number;
  /** When its current value was set. */
  readonly lastSet?: Date;
}

/** Where a bot's secrets live (Key Vault, Secret Manager). */
export interface BotSecrets {
  readonly describe: string;
  list(specs: readonly SecretSpec[]): Promise<SecretState[]>;
  /** Writes a new value (a new version); the old one stays until the bot restarts. */
  set(spec: SecretSpec, value: string): Promise<{ version: string }>;
}

/** A restart done, or asked for and applied by the bot itself. */
export interface RestartAsked {
  /** What was done or asked, for the user. */
  readonly said: string;
  /** When the bot applies it: resolves with whether it is healthy after it, or undefined while not yet applied. */
  readonly applied?: () => Promise<{ ok: boolean; why?: string } | undefined>;
}

/** A bot of the fleet file, and the fleet it belongs to. */
export interface BotRef {
  readonly fleet: Fleet;
  readonly bot: Bot;
}

/** What the target's own platform adds to a bot's status. */
export interface TargetStatus {
  /** The release the bot runs, and the one deployed, when the target can tell. */
  readonly running?: string;
  readonly desired?: string;
  /** `ready`, `waiting` or `degraded`, and why. */
  readonly condition?: { readonly state: string; readonly reasons: readonly string[] };
  readonly phase?: string;
  readonly detail?: string;
  readonly memoryRestarts?: number;
  /** What the status cannot show on this target, and why (said in the table, never guessed). */
  readonly unknown?: string;
}

/** One line of a bot's logs, as its cloud's log service keeps it. */
export interface LogLine {
  /** When it was written. */
  readonly time: Date;
  /** When the log service took it in: a follow reads on from the newest of these (lines arrive late). */
  readonly received: Date;
  /**
   * What wrote it: the container (`agent`, `state-sync`; state-sync's lines come from `agent` where
   * it runs in the agent's container), or on a VM the syslog tag (`run-agent.sh`, `update.sh`).
   */
  readonly source: string;
  readonly text: string;
}

/** Which of a bot's log lines to read. */
export interface LogQuery {
  /** Lines written from then on. */
  readonly since: Date;
  /** Only lines the log service took in from then on (a follow's next read). */
  readonly receivedFrom?: Date;
  /** Every line of the bot (botfleet's own containers or units, the platform's) rather than the agent's only. */
  readonly all: boolean;
  /** At most this many: the newest. */
  readonly limit: number;
}

/**
 * A target's operations, in its folder beside its descriptor (targets/<id>/operations.ts), so a
 * new target brings its operations with it. Each takes the environment the command runs in: the
 * SDKs read their credentials and endpoints from it.
 */
export interface TargetOperations {
  /**
   * Whether the platform's status carries the bot's whole condition (a VM's updater tells it);
   * otherwise `botfleet status` derives it from the store and the log service (operations/condition.ts).
   * @default false
   */
  readonly conditionReported?: boolean;
  /** The bot's store. */
  store(ref: BotRef, env: NodeJS.ProcessEnv): BotStore;
  /** What the platform says of the running bot. */
  status(ref: BotRef, store: BotStore, env: NodeJS.ProcessEnv): Promise<TargetStatus>;
  /** Where the bot's secrets live. */
  secrets(ref: BotRef, env: NodeJS.ProcessEnv): BotSecrets;
  /**
   * Restarts the bot's agent, which reads every secret again: done when the promise resolves, or
   * asked (the bot applies it; `wait` says how to wait for it). Throws when the target cannot.
   */
  restart(ref: BotRef, env: NodeJS.ProcessEnv, store: BotStore): Promise<RestartAsked>;
  /** The bot's log lines the query asks for, from its cloud's log service, oldest first. */
  logs(ref: BotRef, env: NodeJS.ProcessEnv, query: LogQuery): Promise<LogLine[]>;
}
