/**
 * Builds the images the container suite runs (`npm run test:containers`), on this machine's Docker
 * engine: Debian bases from debootstrap, then stand-ins of the images botfleet renders (see
 * containers/support/images.ts). Each is built once and kept by a key of what it is built from;
 * an image whose key is present is not built again. Also makes the suite's test CA. Needs root
 * (debootstrap), a running dockerd, and what scripts/setup-live.sh and setup-node24.sh install
 * (it runs both). Prints how long each build took.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { seedVmDisks, vmDisks, vmDisksPresent } from "./support/vm";
import { CONTAINER_CACHE, DEBIAN_MIRROR, IMAGES, IMAGES_DIR, SERVER_CERT, STAND_IN_NAMES, TEST_CA, imageRef, type ImageSpec } from "./support/images";

const ROOT = join(__dirname, "..");

function fail(message: string): never {
  console.error(`setup:containers: ${message}`);
  process.exit(1);
}

function sh(script: string, what: string): void {
  const r = spawnSync("bash", ["-o", "pipefail", "-c", script], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) fail(`${what} failed (exit ${r.status})`);
}

/** The same without blocking: builds of independent images run side by side. */
function shAsync(script: string, what: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-o", "pipefail", "-c", script], { stdio: ["ignore", "inherit", "inherit"] });
    child.on("close", (status) => (status === 0 ? resolve() : fail(`${what} failed (exit ${status})`)));
  });
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function present(ref: string): boolean {
  return spawnSync("docker", ["image", "inspect", ref], { stdio: "ignore" }).status === 0;
}

/** A CA the stand-in images trust, and one certificate for every real name a stand-in answers as. */
function testCertificates(): void {
  if (existsSync(SERVER_CERT.cert)) return;
  const dir = dirname(TEST_CA.cert);
  mkdirSync(dir, { recursive: true });
  const san = STAND_IN_NAMES.map((n) => `DNS:${n}`).join(",");
  sh(
    [
      `cd ${quote(dir)}`,
      "openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj '/CN=botfleet test CA' -keyout ca.key -out ca.pem 2>/dev/null",
      "openssl req -newkey rsa:2048 -nodes -subj '/CN=botfleet cloud stand-in' -keyout server.key -out server.csr 2>/dev/null",
      `printf 'subjectAltName=${san}\\nextendedKeyUsage=serverAuth\\n' > server.ext`,
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 -extfile server.ext -out server.pem 2>/dev/null",
      "rm -f server.csr server.ext ca.srl",
    ].join(" && "),
    "making the test CA",
  );
}

async function build(spec: ImageSpec): Promise<void> {
  const ref = imageRef(spec.name);
  if ("debootstrap" in spec.from) {
    const scratch = join(CONTAINER_CACHE, `debootstrap-${spec.name}`);
    rmSync(scratch, { recursive: true, force: true });
    const script = spec.from.script ? ` /usr/share/debootstrap/scripts/${spec.from.script}` : "";
    await shAsync(
      `debootstrap --variant=minbase ${spec.from.debootstrap} ${quote(scratch)} ${quote(DEBIAN_MIRROR)}${script} >${quote(scratch)}.log 2>&1 || { tail -20 ${quote(scratch)}.log; exit 1; }`,
      `debootstrap ${spec.from.debootstrap}`,
    );
    await shAsync(`tar -C ${quote(scratch)} -c . | docker import --change 'CMD ["bash"]' - ${ref} >/dev/null`, `importing ${spec.name}`);
    rmSync(scratch, { recursive: true, force: true });
    return;
  }
  // The build context as a tar stream: the image's folder (or a rendered Dockerfile) and its files.
  const parts: string[] = [];
  let rendered: string | undefined;
  if (spec.dockerfile) {
    rendered = mkdtempSync(join(CONTAINER_CACHE, "dockerfile-"));
    writeFileSync(join(rendered, "Dockerfile"), spec.dockerfile());
    parts.push(`-C ${quote(rendered)} Dockerfile`);
  } else parts.push(`-C ${quote(join(IMAGES_DIR, spec.name))} .`);
  for (const [name, path] of Object.entries(spec.context?.() ?? {})) {
    if (basename(path) !== name) throw new Error(`context entry ${name} must be named as its file ${path}`);
    if (!existsSync(path)) fail(`${path} is missing (run npm run setup:live and npm run setup:node24)`);
    parts.push(`-C ${quote(dirname(path))} ${quote(name)}`);
  }
  const base = "base" in spec.from && !spec.dockerfile ? `--build-arg BASE=${imageRef(spec.from.base)}` : "";
  try {
    const log = join(CONTAINER_CACHE, `build-${spec.name}.log`);
    await shAsync(`tar -c ${parts.join(" ")} | docker build --tag ${ref} ${base} - >${quote(log)} 2>&1 || { tail -30 ${quote(log)}; exit 1; }`, `building ${spec.name}`);
  } finally {
    if (rendered) rmSync(rendered, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (spawnSync("docker", ["info"], { stdio: "ignore" }).status !== 0) fail("no Docker engine answers (.ci/run starts dockerd; on a workstation start it yourself)");
  for (const tool of ["debootstrap", "openssl"]) if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) fail(`${tool} is missing: apt-get install -y ${tool}`);
  // Node 24 and the pinned OpenClaw, from npm, in the shared cache (both idempotent), beside the
  // Debian bases, which need neither: only the images built from them (node, openclaw) wait. A cold
  // run spent 3.5 minutes here before its first debootstrap.
  const installs = shAsync(`bash ${quote(join(ROOT, "scripts/setup-node24.sh"))} >/dev/null && bash ${quote(join(ROOT, "scripts/setup-live.sh"))} >/dev/null`, "installing Node 24 and OpenClaw");
  mkdirSync(CONTAINER_CACHE, { recursive: true });
  testCertificates();
  // Each image as soon as its base is there, independent ones side by side.
  const done = new Map<string, Promise<void>>();
  const ready = (spec: ImageSpec): Promise<void> => {
    const kept = done.get(spec.name);
    if (kept) return kept;
    const promise = (async () => {
      if ("base" in spec.from) await ready(IMAGES.find((i) => i.name === (spec.from as { base: string }).base)!);
      const ref = imageRef(spec.name);
      const built = !present(ref);
      // The images whose key names an install (`inputs`) are built from it.
      if (built && spec.inputs) await installs;
      const started = Date.now();
      if (built) await build(spec);
      for (const tag of spec.tags) execFileSync("docker", ["tag", ref, tag]);
      console.log(`${spec.name.padEnd(16)} ${ref}${built ? `  built in ${((Date.now() - started) / 1000).toFixed(1)} s` : "  (kept)"}${spec.tags.length ? `  = ${spec.tags.join(", ")}` : ""}`);
    })();
    done.set(spec.name, promise);
    return promise;
  };
  // The sandbox image builds FROM debian:12.12-slim, a tag of the bookworm base.
  await Promise.all([installs, ...IMAGES.map(ready)]);
  const started = Date.now();
  const disks = vmDisks();
  const seeded = !vmDisksPresent(disks);
  await seedVmDisks(disks);
  console.log(`${"vm disks".padEnd(16)} ${disks.docker}, ${disks.sandboxDocker}${seeded ? `  filled in ${((Date.now() - started) / 1000).toFixed(1)} s` : "  (kept)"}`);
}

main().catch((e) => fail(e.stack ?? String(e)));
