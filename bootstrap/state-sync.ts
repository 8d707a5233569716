import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { gzipSync } from "node:zlib";
import type { AgentRuntime } from "../runtimes/runtime";

/**
 * The state-sync engine (state-sync/state-sync.mjs): one program, run beside the agent on every
 * target, that keeps the live state on local disk and its durable copy in the cloud's object store.
 */
export const STATE_SYNC_SOURCE = readFileSync(join(__dirname, "..", "state-sync", "state-sync.mjs"), "utf8");

/**
 * `source` with its whole-line comments blanked, each an empty line so that a stack trace's line
 * numbers are the file's: they are a third of the engine, which travels in every VM's custom data
 * (64 KiB at most). Code lines stay as they are; a multi-line template literal is left whole.
 */
export function withoutCommentLines(source: string): string {
  let inLiteral = false;
  let inComment = false;
  return source
    .split("\n")
    .map((line) => {
      const text = line.trim();
      if (inComment) {
        // Code after the comment's end stays, where it was.
        const end = line.indexOf("*/");
        if (end < 0) return "";
        inComment = false;
        line = " ".repeat(end + 2) + line.slice(end + 2);
        if (!line.trim()) return "";
      } else if (!inLiteral && text.startsWith("//")) return "";
      else if (!inLiteral && text.startsWith("/*")) {
        const end = text.indexOf("*/");
        if (end < 0) {
          inComment = true;
          return "";
        }
        if (end === text.length - 2) return "";
      }
      // An odd count of unescaped backticks opens or closes a template literal across lines.
      if ((line.match(/(?<!\\)`/g) ?? []).length % 2) inLiteral = !inLiteral;
      return line;
    })
    .join("\n");
}

/**
 * How a stock `node` runs it without an image of our own: the source (comment lines blanked)
 * travels gzipped and base64 encoded as the command's last argument (about a quarter of its size,
 * well inside the platforms' limits on a container's command), and a one-line loader imports it as
 * an ES module.
 */
export const STATE_SYNC_LOADER =
  'import("data:text/javascript;base64," + require("node:zlib").gunzipSync(Buffer.from(process.argv[1], "base64")).toString("base64")).catch((e) => { console.error(e); process.exit(1); });';
/** The engine as the loader takes it: gzipped, base64 encoded. */
export const STATE_SYNC_ENGINE = gzipSync(withoutCommentLines(STATE_SYNC_SOURCE), { level: 9 }).toString("base64");
export const STATE_SYNC_COMMAND: readonly string[] = ["node", "-e", STATE_SYNC_LOADER, STATE_SYNC_ENGINE];

/**
 * Public Node 24 image the engine runs on (it needs `node:sqlite`, nothing else). Pinned by its
 * exact version tag: no registry that reports the digest is reachable from where this was written,
 * so the digest is not pinned; pin `node@sha256:...` once you can resolve it
 * (`docker buildx imagetools inspect node:24.21.0-bookworm-slim`).
 */
export const STATE_SYNC_IMAGE = "node:24.21.0-bookworm-slim";

/** Where the sidecar mounts the shared local state volume. */
export const STATE_SYNC_MOUNT = "/botfleet/state";
/** Port of the sidecar's health answer (Cloud Run's startup probe of the sidecar; not routed from outside). */
export const STATE_SYNC_PORT = 8479;
/**
 * Written by the engine once the state is restored, and rewritten at every lease renewal: the time
 * (epoch seconds) until which its lease is proven. The agent's launcher starts the agent only while
 * that time is ahead, and stops it once it is not. Never snapshotted.
 */
export const STATE_READY_FILE = ".botfleet-state-ready";
/** Touched every second or two by the agent's watcher while the agent may run: no restore runs under it. */
export const STATE_AGENT_FILE = ".botfleet-agent-running";
/** A `botfleet pairing` request handed to the agent's watcher, and its answer (state-sync.mjs PAIRING_FILE, PAIRING_DONE). */
export const STATE_PAIRING_FILE = ".botfleet-pairing-request";
export const STATE_PAIRING_DONE = ".botfleet-pairing-result";
/** The engine's status in the state directory (state-sync.mjs STATUS_FILE): phase, last snapshot, storeCurrentAt. */
export const STATE_STATUS_FILE = ".botfleet-state-status.json";
/** Snapshot interval: the loss window on a crash is this plus one snapshot's upload. */
export const STATE_SYNC_INTERVAL_SECONDS = 60;
/** Lease period: a crashed holder's lease frees itself after at most this long. */
export const STATE_SYNC_LEASE_SECONDS = 60;

export interface StateSyncProps {
  /** `azure:https://<account>.blob.core.windows.net/<container>` or `gcs:<bucket>`. */
  readonly store: string;
  /** Where the engine sees the state directory. @default STATE_SYNC_MOUNT */
  readonly dir?: string;
  /** Health port on loopback, when the platform probes the sidecar. @default none */
  readonly port?: number;
  /** The release it runs beside (the launcher's BOTFLEET_RELEASE): a restore asked for at the start of that release only waits for it. @default none */
  readonly release?: string;
}

/**
 * How a container runs the engine: `node` with the engine's source, and its literal environment.
 * On Azure the stack adds STATE_SYNC_CLIENT_ID, the client ID of the bot's identity (a reference).
 */
export function stateSyncContainer(runtime: AgentRuntime, props: StateSyncProps): { command: string[]; environment: Record<string, string> } {
  return {
    command: [...STATE_SYNC_COMMAND],
    environment: {
      STATE_SYNC_MAIN: "1",
      STATE_SYNC_DIR: props.dir ?? STATE_SYNC_MOUNT,
      STATE_SYNC_STORE: props.store,
      STATE_SYNC_INTERVAL_SECONDS: String(STATE_SYNC_INTERVAL_SECONDS),
      STATE_SYNC_LEASE_SECONDS: String(STATE_SYNC_LEASE_SECONDS),
      // The image runs as root; the agent as the runtime's user, who must own the state.
      STATE_SYNC_OWNER: `${runtime.uid}:${runtime.gid}`,
      ...(runtime.regeneratedState && { STATE_SYNC_EXCLUDE: runtime.regeneratedState.join(" ") }),
      ...(props.port !== undefined && { STATE_SYNC_PORT: String(props.port) }),
      ...(props.release !== undefined && { STATE_SYNC_RELEASE: props.release }),
    },
  };
}

/** The ready file as the agent's container sees it. */
export function stateReadyPath(runtime: AgentRuntime): string {
  return posix.join(runtime.stateDir, STATE_READY_FILE);
}
