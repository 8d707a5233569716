import { createHash } from "node:crypto";
import { posix } from "node:path";

/**
 * A VM bot's release: every file its cloud-init writes, with a version derived from their content.
 * Terraform writes it to the bot's blob container as the desired release, and the VM's updater
 * (templates/vm/update.sh) brings the running instance to it: a changed custom data never reaches
 * a running instance (docs/day-2.md).
 */

/** What a change of one file needs on the running VM, in the order the updater applies them. */
export type VmChangeAction = "restart-agent" | "firewall" | "state-sync" | "sandbox" | "caddy" | "timer" | "none";

/** What each action does to the bot, as the review and the updater's log say it. */
export const VM_CHANGE_EFFECT: Record<VmChangeAction, string> = {
  "restart-agent": "restarts the agent (snapshot first; about 30 to 60 s offline)",
  firewall: "reloads the container firewall and restarts the agent",
  "state-sync": "restarts state-sync and the agent (final snapshot, lease taken again)",
  sandbox: "restarts the tool sandbox daemon and the agent",
  caddy: "reloads Caddy (no downtime)",
  timer: "reloads the updater (no downtime)",
  none: "nothing until the next boot",
};

/** The action a change of the file at `path` needs. */
export function changeActionOf(path: string): VmChangeAction {
  const name = posix.basename(path);
  if (name === "Caddyfile") return "caddy";
  if (name === "agent-firewall.rules" || name === "botfleet-firewall.service") return "firewall";
  if (name === "state-sync.sh" || name === "botfleet-state-sync.service") return "state-sync";
  if (name === "sandbox-daemon.sh" || name === "botfleet-sandbox.service" || name === "sandbox-image.Dockerfile") return "sandbox";
  if (name.startsWith("botfleet-update.")) return "timer";
  // The updater runs the new copy from its next run on; the release file is what it compares.
  if (name === "update.sh" || name === "release.json" || name.startsWith("botfleet-sandbox-retry.")) return "none";
  return "restart-agent";
}

export interface ReleaseFile {
  readonly path: string;
  readonly permissions: string;
  readonly content: string;
}

/** The release as the blob holds it: no secret is in any file (policy BF-SECRET checks the custom data). */
export interface VmRelease {
  readonly version: string;
  /** The `release.json` the VM keeps: version, image, and the paths of the release. */
  readonly manifest: ReleaseFile;
  /** The desired-release document: the files, each with what a change of it needs. */
  readonly bundle: string;
}

/** Version of a set of files: the first 12 hex digits of SHA-256 over their paths, modes and contents. */
export function releaseVersion(files: readonly ReleaseFile[]): string {
  const hash = createHash("sha256");
  for (const f of files) hash.update(`${f.path}\0${f.permissions}\0${f.content}\0`);
  return hash.digest("hex").slice(0, 12);
}

/** The release of `files`, whose manifest is written to `manifestPath` beside them. */
export function vmRelease(bot: string, image: string, manifestPath: string, files: readonly ReleaseFile[]): VmRelease {
  const version = releaseVersion(files);
  const manifest: ReleaseFile = {
    path: manifestPath,
    permissions: "0644",
    content: JSON.stringify({ bot, version, image, files: [...files.map((f) => f.path), manifestPath] }, null, 2) + "\n",
  };
  const all = [...files, manifest];
  const bundle = JSON.stringify({ bot, version, image, files: all.map((f) => ({ ...f, onChange: changeActionOf(f.path) })) });
  return { version, manifest, bundle };
}

/**
 * What moving a running VM from release document `before` to `after` does, as the review says it:
 * each changed file's effect, the strongest first; undefined when either is not a release.
 */
export function releaseChangeSummary(before: string, after: string): string | undefined {
  const parse = (s: string) => {
    try {
      const r = JSON.parse(s);
      return typeof r?.version === "string" && Array.isArray(r.files) ? (r as { version: string; image: string; files: (ReleaseFile & { onChange: VmChangeAction })[] }) : undefined;
    } catch {
      return undefined;
    }
  };
  const [a, b] = [parse(before), parse(after)];
  if (!a || !b) return undefined;
  const old = new Map(a.files.map((f) => [f.path, f]));
  const changed = b.files.filter((f) => f.onChange !== "none" && (old.get(f.path)?.content !== f.content || old.get(f.path)?.permissions !== f.permissions));
  const removed = a.files.filter((f) => !b.files.some((g) => g.path === f.path));
  const order: VmChangeAction[] = ["restart-agent", "state-sync", "sandbox", "firewall", "caddy", "timer"];
  const parts = order
    .map((action) => ({ action, files: changed.filter((f) => f.onChange === action).map((f) => posix.basename(f.path)) }))
    .filter((p) => p.files.length)
    .map((p) => `${p.files.join(", ")}: ${VM_CHANGE_EFFECT[p.action]}`);
  if (removed.length) parts.push(`${removed.map((f) => posix.basename(f.path)).join(", ")} removed: ${VM_CHANGE_EFFECT["restart-agent"]}`);
  const image = a.image !== b.image ? `; agent ${a.image} -> ${b.image}: an upgrade, rolled back with the state from before it if it is not healthy` : "";
  return `release ${a.version} -> ${b.version}, applied on the running VM within a minute: ${parts.join("; ") || "no file the VM runs"}${image}`;
}
