import type { Bot } from "../config/load";
import { MODEL_PROVIDERS, type SandboxMode } from "../config/schema";

/** Value a vault holds for an operator-set secret until the operator sets it; means "not set". */
export const UNSET_SECRET = "BOTFLEET_UNSET";

/** A secret the agent reads from its environment; the value lives only in the cloud's vault. */
export interface SecretSpec {
  /** Short key; the vault secret is named `<bot>--<key>`. */
  readonly key: string;
  /** Environment variable the agent reads it from. */
  readonly env: string;
  /** A missing required secret stops the bot from starting; a missing optional one does not. */
  readonly required: boolean;
  /** Terraform generates the value (the gateway token) instead of the operator setting it. */
  readonly generated?: boolean;
  readonly description: string;
}

/** Where and how the gateway can be reached, as the agent config needs it. */
export interface GatewayContext {
  /** Public origin of the bot (`https://alpha.example.com`), if it has a domain. */
  readonly publicOrigin?: string;
  /** Addresses of the reverse proxies in front of the gateway, as the gateway sees them. */
  readonly trustedProxies: readonly string[];
  /**
   * The tool sandbox the target backs with a Docker engine of its own (VM: the Sysbox daemon), or
   * undefined when it has none: the config then turns the runtime's sandbox off.
   */
  readonly sandbox?: SandboxSettings;
}

/** A bot's tool sandbox, as the fleet file sets it (mode resolved to the runtime's default). */
export interface SandboxSettings {
  readonly mode: SandboxMode;
  /** Sandbox containers may reach the network (only through the VM's firewall). */
  readonly network: boolean;
  /**
   * Each sandbox container's share, set by the target so one runaway tool cannot starve the
   * gateway beside it on the same daemon.
   * @default none (the runtime's own defaults)
   */
  readonly limits?: { readonly cpus: string; readonly memory: string; readonly pids: number };
}

/** A runtime's own tool sandbox: tools run in containers it creates through a Docker API. */
export interface ToolSandbox {
  /** The mode a bot gets when the fleet file names none: the runtime's recommended one. */
  readonly recommendedMode: Exclude<SandboxMode, "off">;
  /** The image sandbox containers run; the runtime publishes none, so the target builds it. */
  readonly image: string;
  /** How to build `image` (a Dockerfile read from stdin: no build context). */
  readonly dockerfile: string;
  /** Environment variable through which the gateway finds the Docker API. */
  readonly dockerHostEnv: string;
  /** One line for the review: the sandbox a rendered config runs, or exactly "off". */
  describe(config: unknown): string;
}

/**
 * Everything a target needs to know to run an agent runtime: image, port, health, state and
 * config, environment and secrets. Targets read this; they never branch on the runtime's name.
 */
export interface AgentRuntime {
  readonly id: string;
  /** Pinned image; a bot's `image` overrides it. */
  readonly image: string;
  /** Port the gateway listens on inside the container. */
  readonly port: number;
  /** Unauthenticated liveness endpoint of the gateway. */
  readonly healthPath: string;
  /** State directory inside the container; persistent storage is mounted here. */
  readonly stateDir: string;
  /** uid:gid the container runs as and that must own the state. */
  readonly uid: number;
  readonly gid: number;
  /** Config file name inside the state directory. */
  readonly configFile: string;
  /** The gateway's full command line; its first word replaces the image's entrypoint. */
  readonly command: readonly string[];
  /** Secrets the bot needs. */
  secrets(bot: Bot): SecretSpec[];
  /**
   * Non-secret environment of the container. `memoryMiB`, the memory its target gives the agent's
   * container, lets the runtime size its heap from it (explicitly: whether a platform's container
   * sees its own memory limit is not the runtime's to know).
   */
  environment(bot: Bot, memoryMiB?: number): Record<string, string>;
  /** The agent's config file contents; secrets appear only as `${VAR}` references. */
  config(bot: Bot, gateway: GatewayContext): object;
  /**
   * Why a rendered config of this runtime would let someone use the gateway without its token,
   * or undefined when it would not (policy rule BF-AUTH-1).
   */
  gatewayAuthProblem(config: unknown): string | undefined;
  /** What the agent's log lines contain when these happen; log alerts count them. */
  readonly logSignals: LogSignals;
  /**
   * A command, using only what the image has, that answers 200 on every path of port
   * `$BOTFLEET_PORT` with the text of `$BOTFLEET_WAITING`. Managed containers run it instead of the
   * agent while a required secret is unset: the platform's probes pass (no failed revision, no
   * restart loop) and the state is visible in the log and at the health path.
   */
  readonly waitingServer: readonly string[];
  /**
   * A command, using only what the image has, that exits 0 when a GET of the URL appended to it
   * answers 2xx within a few seconds: the managed launcher's health gate runs it against the
   * agent's own health path (templates/container/launch.sh).
   */
  readonly httpCheck: readonly string[];
  /**
   * A command (using only what the image has, run as the agent's user once the state is restored)
   * that releases what the runtime keeps in its state to stop a second process on the same host:
   * botfleet's own lease (state-sync) already lets one instance at a time hold the state, and a
   * guard left by the previous instance, which ran on another host, would block this one's start.
   * Run before every start on managed platforms, where each replica has a new host name.
   * @default none
   */
  readonly releaseStaleOwner?: readonly string[];
  /**
   * A command run in the image, as the agent's user, on the restored state with the new config
   * merged in, that exits non-zero when the runtime would refuse that config: the VM's updater
   * runs it before a new release takes traffic, and rolls back when it fails.
   * @default none (the health gate alone decides)
   */
  readonly configCheck?: readonly string[];
  /**
   * The runtime's DM pairing command, run beside the agent (its environment, its state) for
   * `botfleet pairing`: `<command> list --json <channel>` prints `{"requests": [{code, id, meta,
   * createdAt}]}`, `<command> approve <channel> <code>` approves one (exit 0) or says why not.
   * @default none (`botfleet pairing` says the runtime has none)
   */
  readonly pairingCommand?: readonly string[];
  /**
   * The environment variable that moves the runtime's state directory: the managed launcher runs
   * `configCheck` on a scratch directory holding the new config, before the state is restored.
   * @default none (no check on Container Apps and Cloud Run)
   */
  readonly stateDirEnv?: string;
  /**
   * Entries of the state directory (top level) that the runtime regenerates by itself: state-sync
   * leaves them out of its snapshots, says so in its log, and keeps them on restore.
   * @default none
   */
  readonly regeneratedState?: readonly string[];
  /**
   * Config keys (as paths) of layouts the runtime migrates away. The VM's merge drops them from
   * the stored config before laying the managed one over it, so a state written by an older
   * release cannot carry the old form next to the new one.
   */
  readonly retiredConfigPaths: readonly (readonly string[])[];
  /**
   * External plugins the bot needs, installed into the state before the gateway starts: each
   * with the command (run in the image) that installs it at its pinned version and the one that
   * prints its install record as JSON, whose `.install.integrity` must equal the pin.
   */
  plugins(bot: Bot): readonly RuntimePlugin[];
  /** Seconds the gateway may take to drain and exit after SIGTERM before it is killed. */
  readonly stopTimeoutSeconds: number;
  /**
   * The image's own `node` (22.13 or later: state-sync needs `node:sqlite`), by which the managed
   * launcher runs state-sync inside the agent's container where that is cheaper than a sidecar
   * (Cloud Run: targets/gcp-cloud-run/bot-service.ts, cloudRunStatePlacement).
   * @default none (state-sync always runs in a sidecar of its own)
   */
  readonly stateSyncNode?: string;
  /** The runtime's Docker tool sandbox; undefined when its tools always run in its own container. */
  readonly toolSandbox?: ToolSandbox;
}

/**
 * The sandbox a bot asks for, with the runtime's recommended mode filled in; undefined when the
 * runtime has no Docker sandbox or the bot turns it off.
 */
export function requestedSandbox(bot: Bot, runtime: AgentRuntime): SandboxSettings | undefined {
  if (!runtime.toolSandbox) return undefined;
  const mode = bot.sandbox.mode ?? runtime.toolSandbox.recommendedMode;
  return mode === "off" ? undefined : { mode, network: bot.sandbox.network };
}

export interface RuntimePlugin {
  readonly id: string;
  readonly spec: string;
  readonly integrity: string;
  readonly install: readonly string[];
  readonly inspect: readonly string[];
}

/** The waiting server's text, answered at every path while a required secret is unset. */
export const WAITING_FOR_SECRETS = "botfleet: WAITING FOR SECRETS";

/**
 * Substrings of agent log lines, matched case-sensitively (KQL `contains_cs`). They follow the
 * agent's log format: when it changes, change them here (the README shows the lines they match).
 */
export interface LogSignals {
  readonly authFailure: readonly string[];
  readonly channelDisconnect: readonly string[];
  /** Lines a chat channel writes while it works: their rate stands in for message volume. */
  readonly channelActivity: readonly string[];
}

/**
 * Minutes in which a chat channel's failure lines (`LogSignals.channelDisconnect`) make a bot
 * degraded: the VM's updater counts them in its journal, `botfleet status` in the log service.
 */
export const CHANNEL_FAILURE_WINDOW_MINUTES = 10;

/**
 * A bot not ready (waiting, degraded, its state not restored) for this long is said in its log
 * (`botfleet: NOT READY for <m> min: ...`), again every as long while it lasts: the `not-ready`
 * alert reads it (bootstrap/alarms.ts). Longer than an update's health gate and a restore.
 */
export const NOT_READY_MINUTES = 15;

/** Secrets every runtime shares: the LLM key and one token per enabled chat channel. */
export function commonSecrets(bot: Bot): SecretSpec[] {
  const secrets: SecretSpec[] = [{ key: "llm-api-key", env: MODEL_PROVIDERS[bot.modelProvider], required: true, description: `API key for ${bot.modelProvider}` }];
  if (bot.channels.telegram) secrets.push({ key: "telegram-bot-token", env: "TELEGRAM_BOT_TOKEN", required: true, description: "Telegram bot token from @BotFather" });
  if (bot.channels.discord) secrets.push({ key: "discord-bot-token", env: "DISCORD_BOT_TOKEN", required: true, description: "Discord bot token" });
  return secrets;
}
