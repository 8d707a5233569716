import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { SANDBOX } from "../../bootstrap/azure-vm";
import { STATE_SYNC_IMAGE } from "../../bootstrap/state-sync";
import { nanobot } from "../../runtimes/nanobot";
import { openclaw } from "../../runtimes/openclaw";
import { liveInstallDir } from "../../runtimes/openclaw-pins";

/**
 * The images the container suite runs, built on this machine (no container registry is reachable):
 * each is tagged `botfleet-test/<name>:<key>`, the key a hash of everything it is built from, so
 * `npm run setup:containers` builds only what changed, and then tagged with the exact references
 * botfleet renders (the agent's image, Sysbox's dind image, state-sync's Node image).
 */
export interface ImageSpec {
  readonly name: string;
  /** Debian suite laid down by debootstrap, or a Dockerfile under containers/images/<name>. */
  readonly from: { readonly debootstrap: string; readonly script?: string } | { readonly base: string };
  /** The references botfleet renders that this image stands in for. */
  readonly tags: readonly string[];
  /** Extra build-context files: path in the context -> file or directory on this machine. */
  readonly context?: () => Record<string, string>;
  /** What else the image is built from (versions, a rendered Dockerfile), as text for its key. */
  readonly inputs?: () => string;
  /** A Dockerfile rendered by botfleet itself, instead of containers/images/<name>/Dockerfile. */
  readonly dockerfile?: () => string;
}

const ROOT = join(__dirname, "..", "..");
export const IMAGES_DIR = join(ROOT, "containers", "images");

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.BOTFLEET_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "botfleet");
}
/** The suite's own cache: the test CA and debootstrap's scratch. */
export const CONTAINER_CACHE = join(cacheRoot(), "containers");
export const TEST_CA = { cert: join(CONTAINER_CACHE, "ca", "ca.pem"), key: join(CONTAINER_CACHE, "ca", "ca.key") };
export const SERVER_CERT = { cert: join(CONTAINER_CACHE, "ca", "server.pem"), key: join(CONTAINER_CACHE, "ca", "server.key") };
/** Host names the cloud stand-in answers for with SERVER_CERT (real services' names). */
export const STAND_IN_NAMES = ["*.vault.azure.net", "*.blob.core.windows.net", "storage.googleapis.com", "api.telegram.org", "downloads.nestybox.com"];

/** Debian's mirror, as this machine's apt sources name it. */
export const DEBIAN_MIRROR = process.env.BOTFLEET_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
const NODE_VERSION = readFileSync(join(ROOT, "state-sync", "node-version"), "utf8").trim();
export const NODE24_DIR = join(cacheRoot(), `node-${NODE_VERSION}`);

const ca = { "ca.pem": TEST_CA.cert };

export const IMAGES: readonly ImageSpec[] = [
  { name: "debian-bookworm", from: { debootstrap: "bookworm" }, tags: ["debian:12.12-slim"] },
  // Debian's next release has docker.io 28.5 (with containerd 2.1 and runc 1.3), close to the
  // sandbox daemon's docker:28.5.1-dind. Its systemd needs cgroup v2, so the VM stays on bookworm.
  { name: "debian-forky", from: { debootstrap: "forky", script: "sid" }, tags: [] },
  { name: "node", from: { base: "debian-bookworm" }, tags: [STATE_SYNC_IMAGE], context: () => ({ ...ca, node_modules: join(NODE24_DIR, "node_modules") }), inputs: () => NODE_VERSION },
  { name: "vm", from: { base: "debian-bookworm" }, tags: [], context: () => ca },
  { name: "dind", from: { base: "debian-forky" }, tags: [SANDBOX.image] },
  {
    name: "openclaw",
    from: { base: "debian-bookworm" },
    tags: [openclaw.image],
    context: () => ({ ...ca, node_modules: join(liveInstallDir(), "node_modules") }),
    // The install directory's name is a hash of the versions it holds.
    inputs: () => liveInstallDir(),
  },
  { name: "nanobot", from: { base: "debian-bookworm" }, tags: [nanobot.image] },
  // The tool sandbox's image, from the Dockerfile botfleet renders onto the VM; its FROM is the
  // bookworm image above (tagged debian:12.12-slim). Built here because the VM reaches no mirror.
  { name: "sandbox", from: { base: "debian-bookworm" }, tags: [openclaw.toolSandbox!.image], dockerfile: () => openclaw.toolSandbox!.dockerfile },
];

export function imageSpec(name: string): ImageSpec {
  const spec = IMAGES.find((i) => i.name === name);
  if (!spec) throw new Error(`no test image ${name}`);
  return spec;
}

/** Every file under `dir`, sorted, with its contents, for a key. */
function treeText(dir: string): string {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}\0${readFileSync(join(d, e.name), "latin1")}`);
    }
  };
  walk(dir, "");
  return out.join("\0\0");
}

const keys = new Map<string, string>();
/** The image's key: its definition, its base's key, its inputs and the test CA it trusts. */
export function imageKey(name: string): string {
  const kept = keys.get(name);
  if (kept) return kept;
  const spec = imageSpec(name);
  const h = createHash("sha256").update(`${name}\0${JSON.stringify(spec.from)}\0${DEBIAN_MIRROR}\0`);
  if ("base" in spec.from) h.update(imageKey(spec.from.base));
  if (spec.dockerfile) h.update(spec.dockerfile());
  else if ("base" in spec.from) h.update(treeText(join(IMAGES_DIR, name)));
  h.update(spec.inputs?.() ?? "");
  if (spec.context && "ca.pem" in spec.context()) h.update(readFileSync(TEST_CA.cert));
  const key = h.digest("hex").slice(0, 12);
  keys.set(name, key);
  return key;
}

/** The image's own tag. */
export function imageRef(name: string): string {
  return `botfleet-test/${name}:${imageKey(name)}`;
}
