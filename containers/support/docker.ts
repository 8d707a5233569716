import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * Every container, network and volume a run of the suite makes carries this label. Its value names
 * the process that made it (boot, PID, start time), so a later run tells a dead run's leftovers (a
 * killed run never tears down) from a live run's.
 */
export const RUN_ID = randomBytes(4).toString("hex");
export const LABEL = "botfleet-test-run";
export const RUN_LABEL = `${LABEL}=${RUN_ID}.${processKey(process.pid)}`;

/** This boot's id, a PID and the process's start time (in clock ticks since boot): unique across reboots. */
function processKey(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22 (starttime), counted after the command name, which may hold spaces and parentheses.
    const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().replace(/-/g, "").slice(0, 12);
    return `${boot}.${pid}.${start}`;
  } catch {
    return undefined;
  }
}

/** Whether the process that made a resource labelled `value` still runs. */
export function runAlive(value: string): boolean {
  const [, boot, pid, start] = value.split(".");
  return pid !== undefined && processKey(Number(pid)) === `${boot}.${pid}.${start}`;
}

/**
 * Removes what runs no longer running left behind (a killed run's containers hold the kept VM
 * disks and a gigabyte volume each): containers first, then their networks and volumes. `ownToo`:
 * this process's as well (jest runs a lone suite in its own process).
 */
export function removeDeadRunsResources(opts: { ownToo?: boolean } = {}): number {
  const own = `.${processKey(process.pid)}`;
  const dead = (kind: string[], format: string) =>
    docker([...kind, "--filter", `label=${LABEL}`, "--format", `${format} {{.Label "${LABEL}"}}`], { allowFail: true })
      .stdout.split("\n")
      .map((line) => line.trim().split(" "))
      .filter(([id, value = ""]) => id && (!runAlive(value) || (opts.ownToo && value.endsWith(own))))
      .map(([id]) => id);
  const containers = dead(["ps", "-a"], "{{.ID}}");
  if (containers.length) docker(["rm", "-f", "-v", ...containers], { allowFail: true });
  const networks = dead(["network", "ls"], "{{.ID}}");
  if (networks.length) docker(["network", "rm", ...networks], { allowFail: true });
  const volumes = dead(["volume", "ls"], "{{.Name}}");
  if (volumes.length) docker(["volume", "rm", "-f", ...volumes], { allowFail: true });
  return containers.length + networks.length + volumes.length;
}

export interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the docker CLI to completion; throws with its output unless `allowFail`. */
export function docker(args: string[], opts: { input?: string | Buffer; allowFail?: boolean; timeoutMs?: number } = {}): Result {
  const r = spawnSync("docker", args, { input: opts.input, encoding: "utf8", timeout: opts.timeoutMs ?? 600_000, maxBuffer: 256 * 1024 * 1024 });
  const result = { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  if (!opts.allowFail && r.status !== 0) throw new Error(`docker ${args.join(" ").slice(0, 300)}: exit ${r.status}\n${result.stderr}${result.stdout}`.slice(0, 4000));
  return result;
}

/** The same, without blocking the test's event loop (the stand-ins answer from it meanwhile). */
export function dockerAsync(args: string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      const result = { status, stdout, stderr };
      if (!opts.allowFail && status !== 0) reject(new Error(`docker ${args.join(" ").slice(0, 300)}: exit ${status}\n${stderr}${stdout}`.slice(0, 4000)));
      else resolve(result);
    });
  });
}

/** Pipes `docker save IMAGES` into `docker <loadArgs>` (a daemon elsewhere, e.g. through exec). */
export function transferImages(images: string[], loadArgs: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const save = spawn("docker", ["save", ...images], { stdio: ["ignore", "pipe", "pipe"] });
    const load = spawn("docker", loadArgs, { stdio: ["pipe", "pipe", "pipe"] });
    let log = "";
    save.stderr.on("data", (d) => (log += d));
    load.stderr.on("data", (d) => (log += d));
    load.stdout.on("data", (d) => (log += d));
    save.stdout.pipe(load.stdin);
    load.on("close", (status) => (status === 0 && save.exitCode === 0 ? resolve() : reject(new Error(`loading ${images.join(", ")}: ${log}`))));
  });
}

export function dockerAvailable(): void {
  if (spawnSync("docker", ["info"], { stdio: "ignore" }).status !== 0)
    throw new Error("no Docker engine answers: .ci/run starts dockerd (on a workstation, start it yourself), then npm run setup:containers");
}

export interface TestNetwork {
  readonly name: string;
  /** The /24 it spans, e.g. 10.213.7.0/24. */
  readonly subnet: string;
  /** The host's own address on it, where the cloud stand-ins listen. */
  readonly gateway: string;
  /** The host's bridge interface for it. */
  readonly bridge: string;
  /** The nth address of the subnet (an Azure subnet's first usable is .4). */
  address(n: number): string;
}

/**
 * A network with no route out (`--internal`): its containers reach each other and the host's
 * address on it (where the stand-ins listen), nothing beyond this machine.
 */
export function createNetwork(purpose: string): TestNetwork {
  for (let attempt = 0; attempt < 20; attempt++) {
    const third = 1 + (parseInt(randomBytes(1).toString("hex"), 16) % 250);
    const prefix = `10.213.${third}`;
    const name = `botfleet-test-${purpose}-${RUN_ID}`;
    const r = docker(["network", "create", "--internal", "--label", RUN_LABEL, "--subnet", `${prefix}.0/24`, "--gateway", `${prefix}.1`, name], { allowFail: true });
    if (r.status !== 0) {
      if (/overlap/i.test(r.stderr)) continue;
      throw new Error(`docker network create: ${r.stderr}`);
    }
    const id = r.stdout.trim();
    return { name, subnet: `${prefix}.0/24`, gateway: `${prefix}.1`, bridge: `br-${id.slice(0, 12)}`, address: (n) => `${prefix}.${n}` };
  }
  throw new Error("no free 10.213.x.0/24 for a test network");
}

/**
 * Waits for an exclusive turn named by `lockFile`, across processes: a kernel lock (flock(1)) held
 * by a child process, which the kernel drops when its holder dies, so a killed run never leaves a
 * turn taken (a lock file holding a PID did, and two runs breaking it at once both took it).
 * Resolves with the function that gives the turn back.
 */
export async function takeTurn(lockFile: string, what = lockFile): Promise<() => void> {
  mkdirSync(dirname(lockFile), { recursive: true });
  const holder = spawn("flock", ["--exclusive", lockFile, "sh", "-c", "echo taken; exec cat >/dev/null"], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    holder.stdout.once("data", () => resolve());
    holder.once("error", reject);
    holder.once("exit", (status) => reject(new Error(`flock ${lockFile} ended (exit ${status}) before taking ${what}`)));
  });
  return () => holder.stdin.end();
}

/** Empty cgroup directories a nested engine left under `path` in every v1 hierarchy, deepest first. */
export function removeCgroups(path: string): void {
  const root = "/sys/fs/cgroup";
  if (!existsSync(root)) return;
  const prune = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) prune(join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      // still in use, or not ours
    }
  };
  for (const hierarchy of readdirSync(root)) prune(join(root, hierarchy, path));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value (not undefined/false) or `timeoutMs` passes. */
export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 120_000, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(everyMs);
  }
}
