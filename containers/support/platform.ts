import { request } from "node:http";
import type { StackJson } from "../../__tests__/support/fleet";
import { docker, dockerAsync, RUN_LABEL, sleep, type TestNetwork } from "./docker";
import { imageRef } from "./images";

/**
 * Container Apps and Cloud Run as far as a bot's revision goes, on this machine's Docker engine:
 * the containers of the synthesized spec (image, command, args, environment, secrets from the
 * vault, limits as cgroup limits, the shared volume), one network namespace per replica, the
 * platform's probes with their timings, and its stop: SIGTERM to every container, SIGKILL after
 * the grace period. The control planes themselves (revisions, traffic, scheduling) are not here:
 * a test starts and stops revisions in the order the platform would.
 */
export interface Probe {
  readonly kind: "http" | "tcp";
  readonly port: number;
  readonly path?: string;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly failureThreshold: number;
  readonly initialDelaySeconds: number;
}

export interface ContainerSpec {
  readonly name: string;
  readonly image: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  /** Plain values, Terraform's escapes and references resolved. */
  readonly env: Record<string, string>;
  /** Environment variable -> the secret it comes from (a key of the values the test supplies). */
  readonly secretEnv: Record<string, string>;
  readonly mounts: Record<string, string>;
  readonly cpus: number;
  readonly memoryBytes: number;
  readonly startup?: Probe;
  readonly liveness?: Probe;
  readonly readiness?: Probe;
  /** Cloud Run: containers this one starts after (once their startup probes pass). */
  readonly dependsOn: readonly string[];
}

export interface RevisionSpec {
  readonly platform: "container-apps" | "cloud-run";
  readonly containers: readonly ContainerSpec[];
  /** Volume name -> in memory (size in bytes, Cloud Run's medium MEMORY) or on disk (EmptyDir). */
  readonly volumes: Record<string, { memoryBytes?: number }>;
  readonly terminationGraceSeconds: number;
}

const UNITS: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 };
export function bytesOf(quantity: string | number): number {
  if (typeof quantity === "number") return quantity;
  const m = /^([\d.]+)\s*([KMG]i?)?$/.exec(quantity);
  if (!m) throw new Error(`not a quantity: ${quantity}`);
  return Math.round(Number(m[1]) * (m[2] ? UNITS[m[2]] : 1));
}

/**
 * A string as Terraform passes it to the provider: `$${` and `%%{` unescaped, every `${ref}`
 * replaced from `refs` (a reference the test did not provide is an error, never passed on).
 */
export type Refs = (ref: string) => string | undefined;

export function terraformValue(value: string, refs: Refs): string {
  const escaped = "\u0000botfleet-escaped\u0000";
  return value
    .replace(/\$\$\{/g, escaped)
    .replace(/%%\{/g, "%{")
    .replace(/\$\{([^}]+)\}/g, (_, ref: string) => {
      const resolved = refs(ref);
      if (resolved === undefined) throw new Error(`the spec refers to \${${ref}}, which the test does not resolve`);
      return resolved;
    })
    .split(escaped)
    .join("${");
}

function httpProbe(path: string, timeoutSeconds: number): Omit<Probe, "periodSeconds" | "failureThreshold" | "initialDelaySeconds" | "port"> {
  return { kind: "http", path, timeoutSeconds };
}

/** The revision an `azurerm_container_app` of a synthesized bot stack describes. */
export function containerAppRevision(stack: StackJson, refs: Refs): RevisionSpec {
  const apps = Object.values(stack.resource.azurerm_container_app) as StackJson[];
  if (apps.length !== 1) throw new Error(`expected one container app, found ${apps.length}`);
  const app = apps[0];
  const secretOf = Object.fromEntries((app.secret ?? []).map((s: StackJson) => [s.name, terraformValue(s.key_vault_secret_id, refs).replace(/^.*\/secrets\//, "")]));
  const probe = (p: StackJson | undefined, threshold = "failure_count_threshold"): Probe | undefined =>
    p && {
      ...httpProbe(p.path, p.timeout),
      port: p.port,
      periodSeconds: p.interval_seconds,
      failureThreshold: p[threshold],
      initialDelaySeconds: p.initial_delay ?? 0,
    };
  return {
    platform: "container-apps",
    terminationGraceSeconds: app.template.termination_grace_period_seconds,
    volumes: Object.fromEntries(app.template.volume.map((v: StackJson) => [v.name, v.storage_type === "EmptyDir" ? {} : fail(`volume ${v.name}: ${v.storage_type}`)])),
    containers: app.template.container.map((c: StackJson) => ({
      name: c.name,
      image: c.image,
      command: c.command?.map((a: string) => terraformValue(a, refs)),
      args: c.args?.map((a: string) => terraformValue(a, refs)),
      env: Object.fromEntries((c.env ?? []).filter((e: StackJson) => !e.secret_name).map((e: StackJson) => [e.name, terraformValue(e.value, refs)])),
      secretEnv: Object.fromEntries((c.env ?? []).filter((e: StackJson) => e.secret_name).map((e: StackJson) => [e.name, secretOf[e.secret_name]])),
      mounts: Object.fromEntries((c.volume_mounts ?? []).map((m: StackJson) => [m.name, m.path])),
      cpus: c.cpu,
      memoryBytes: bytesOf(c.memory),
      startup: probe(c.startup_probe?.[0]),
      liveness: probe(c.liveness_probe?.[0]),
      readiness: probe(c.readiness_probe?.[0]),
      dependsOn: [],
    })),
  };
}

/** The revision a `google_cloud_run_v2_service` of a synthesized bot stack describes. */
export function cloudRunRevision(stack: StackJson, refs: Refs): RevisionSpec {
  const services = Object.values(stack.resource.google_cloud_run_v2_service) as StackJson[];
  if (services.length !== 1) throw new Error(`expected one service, found ${services.length}`);
  const t = services[0].template;
  const probe = (p: StackJson | undefined): Probe | undefined =>
    p && {
      kind: p.http_get ? "http" : "tcp",
      path: p.http_get?.path,
      port: p.http_get?.port ?? p.tcp_socket?.port,
      periodSeconds: p.period_seconds ?? 10,
      timeoutSeconds: p.timeout_seconds ?? 1,
      failureThreshold: p.failure_threshold ?? 3,
      initialDelaySeconds: p.initial_delay_seconds ?? 0,
    };
  return {
    platform: "cloud-run",
    // Cloud Run gives a stopping instance 10 s between SIGTERM and SIGKILL (container runtime contract).
    terminationGraceSeconds: 10,
    volumes: Object.fromEntries(t.volumes.map((v: StackJson) => [v.name, v.empty_dir?.medium === "MEMORY" ? { memoryBytes: bytesOf(v.empty_dir.size_limit) } : {}])),
    containers: t.containers.map((c: StackJson) => ({
      name: c.name,
      image: c.image,
      command: c.command?.map((a: string) => terraformValue(a, refs)),
      args: c.args?.map((a: string) => terraformValue(a, refs)),
      env: Object.fromEntries((c.env ?? []).filter((e: StackJson) => e.value !== undefined).map((e: StackJson) => [e.name, terraformValue(e.value, refs)])),
      secretEnv: Object.fromEntries((c.env ?? []).filter((e: StackJson) => e.value_source).map((e: StackJson) => [e.name, terraformValue(e.value_source.secret_key_ref.secret, refs)])),
      mounts: Object.fromEntries((c.volume_mounts ?? []).map((m: StackJson) => [m.name, m.mount_path])),
      cpus: Number(c.resources.limits.cpu),
      memoryBytes: bytesOf(c.resources.limits.memory),
      startup: probe(c.startup_probe),
      liveness: probe(c.liveness_probe),
      readiness: undefined,
      dependsOn: c.depends_on ?? [],
    })),
  };
}

function fail(message: string): never {
  throw new Error(message);
}

export interface PlatformContext {
  readonly net: TestNetwork;
  /** Host names of the cloud the containers reach (resolved to the stand-ins). */
  readonly hosts: readonly string[];
  /** Secret values by the names the spec refers to; a missing one is injected as the platform would not start it. */
  readonly secrets: () => Record<string, string>;
  /** Environment the platform adds to every container (identity endpoint, ...). */
  readonly platformEnv: Record<string, string>;
}

/**
 * One replica of a revision: an infrastructure container holds the network namespace (the
 * replica's address on the test network); each container of the spec joins it, as containers of
 * one Container Apps replica or one Cloud Run instance share localhost.
 */
export class Replica {
  readonly name: string;
  readonly address: string;
  readonly restarts: Record<string, number> = {};
  readonly events: string[] = [];
  private probing = true;
  private readonly volumes: Record<string, string> = {};
  private ready = false;
  private readonly log = (e: string) => this.events.push(`${new Date().toISOString()} ${this.name} ${e}`);

  constructor(
    private readonly spec: RevisionSpec,
    private readonly ctx: PlatformContext,
    label: string,
    hostNumber: number,
  ) {
    this.name = `botfleet-test-${label}-${Date.now().toString(36)}`;
    this.address = ctx.net.address(hostNumber);
  }

  container(name: string): string {
    return `${this.name}-${name}`;
  }

  isReady(): boolean {
    return this.ready;
  }

  async start(): Promise<void> {
    docker([
      "run",
      "-d",
      "--name",
      this.container("infra"),
      "--label",
      RUN_LABEL,
      "--network",
      this.ctx.net.name,
      "--ip",
      this.address,
      ...this.ctx.hosts.flatMap((h) => ["--add-host", `${h}:${this.ctx.net.gateway}`]),
      "--entrypoint",
      "sleep",
      imageRef("node"),
      "infinity",
    ]);
    for (const [name, v] of Object.entries(this.spec.volumes)) {
      // An in-memory volume as a Kubernetes emptyDir of medium Memory: a tmpfs of mode 0777, the
      // image's content at the mount path not copied in (`nocopy` below). Cloud Run's docs do not
      // say its mode: that it is writable by the image's user is a belief (docs/targets/gcp-cloud-run.md).
      const opts = v.memoryBytes ? ["--driver", "local", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", `o=size=${v.memoryBytes},mode=0777`] : [];
      this.volumes[name] = docker(["volume", "create", "--label", RUN_LABEL, ...opts, `${this.name}-${name}`]).stdout.trim();
    }
    const order = [...this.spec.containers].sort((a, b) => a.dependsOn.length - b.dependsOn.length);
    for (const c of order) {
      for (const dep of c.dependsOn)
        await this.waitProbe(
          this.spec.containers.find((d) => d.name === dep)!,
          "startup",
        );
      this.run(c);
      this.log(`started ${c.name}`);
    }
    void this.probeLoop();
  }

  private run(c: ContainerSpec): void {
    const secrets = this.ctx.secrets();
    const env = { ...this.ctx.platformEnv, ...c.env };
    for (const [variable, secret] of Object.entries(c.secretEnv)) {
      if (!(secret in secrets)) throw new Error(`secret ${secret} has no value: the platform would not start ${c.name}`);
      env[variable] = secrets[secret];
    }
    const args = [
      "run",
      "-d",
      "--name",
      this.container(c.name),
      "--label",
      RUN_LABEL,
      "--network",
      `container:${this.container("infra")}`,
      "--cpus",
      String(c.cpus),
      "--memory",
      String(c.memoryBytes),
      ...Object.entries(c.mounts).flatMap(([volume, path]) => ["--volume", `${this.volumes[volume]}:${path}:nocopy`]),
      ...Object.keys(env).flatMap((k) => ["--env", k]),
      ...(c.command ? ["--entrypoint", c.command[0]] : []),
      c.image,
      ...(c.command ? c.command.slice(1) : []),
      ...(c.args ?? []),
    ];
    const r = spawnDocker(args, env);
    if (r.status !== 0) throw new Error(`starting ${c.name}: ${r.stderr}`);
  }

  /** Sends `probe` once from outside the replica, as the platform does. */
  async check(probe: Probe): Promise<boolean> {
    if (probe.kind === "tcp") {
      const { connect } = await import("node:net");
      return new Promise((resolve) => {
        const s = connect({ host: this.address, port: probe.port, timeout: probe.timeoutSeconds * 1000 });
        s.on("connect", () => (s.destroy(), resolve(true)));
        s.on("error", () => resolve(false));
        s.on("timeout", () => (s.destroy(), resolve(false)));
      });
    }
    return new Promise((resolve) => {
      const req = request({ host: this.address, port: probe.port, path: probe.path, timeout: probe.timeoutSeconds * 1000, agent: false }, (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
      });
      req.on("error", () => resolve(false));
      req.on("timeout", () => (req.destroy(), resolve(false)));
      req.end();
    });
  }

  /** Waits for a container's probe to pass as the platform would: initial delay, period, threshold. */
  private async waitProbe(c: ContainerSpec, which: "startup"): Promise<void> {
    const p = c[which];
    if (!p) return;
    await sleep(p.initialDelaySeconds * 1000);
    for (let failures = 0; ;) {
      if (await this.check(p)) return;
      if (++failures >= p.failureThreshold) throw new Error(`${c.name}: ${which} probe failed ${failures} times: the platform gives up on the revision`);
      await sleep(p.periodSeconds * 1000);
    }
  }

  /** Startup, then liveness (restart after its threshold) and readiness (in or out of traffic). */
  private async probeLoop(): Promise<void> {
    const agent = this.spec.containers.find((c) => c.startup && c.dependsOn.length > 0) ?? this.spec.containers.find((c) => c.startup);
    if (!agent) return;
    try {
      await this.waitProbe(agent, "startup");
    } catch (e) {
      this.log(`FAILED: ${(e as Error).message}`);
      return;
    }
    this.ready = true;
    this.log(`${agent.name} started (startup probe passed)`);
    let livenessFailures = 0;
    let readinessFailures = 0;
    let lastLiveness = 0;
    let lastReadiness = 0;
    while (this.probing) {
      const now = Date.now();
      if (agent.liveness && now - lastLiveness >= agent.liveness.periodSeconds * 1000) {
        lastLiveness = now;
        livenessFailures = (await this.check(agent.liveness)) ? 0 : livenessFailures + 1;
        if (livenessFailures >= agent.liveness.failureThreshold && this.probing) {
          this.log(`${agent.name}: liveness failed ${livenessFailures} times: restarting it`);
          this.restarts[agent.name] = (this.restarts[agent.name] ?? 0) + 1;
          await dockerAsync(["restart", "--time", String(this.spec.terminationGraceSeconds), this.container(agent.name)], { allowFail: true });
          livenessFailures = 0;
        }
      }
      if (agent.readiness && now - lastReadiness >= agent.readiness.periodSeconds * 1000) {
        lastReadiness = now;
        readinessFailures = (await this.check(agent.readiness)) ? 0 : readinessFailures + 1;
        this.ready = readinessFailures < agent.readiness.failureThreshold;
      }
      await sleep(500);
    }
  }

  /**
   * Restarts one container as the platforms' restart commands do: stopped with the grace period,
   * then started afresh with the vault's current secret values.
   */
  async restart(name: string): Promise<void> {
    await dockerAsync(["stop", "--time", String(this.spec.terminationGraceSeconds), this.container(name)], { allowFail: true });
    await dockerAsync(["rm", "-f", this.container(name)], { allowFail: true });
    this.run(this.spec.containers.find((c) => c.name === name)!);
    this.log(`restarted ${name}`);
  }

  /**
   * The platform's stop: SIGTERM to every container at once, SIGKILL to what still runs after the
   * grace period. Returns when all have exited, with how long each took.
   */
  async stop(): Promise<Record<string, number>> {
    this.probing = false;
    this.ready = false;
    const started = Date.now();
    const took: Record<string, number> = {};
    await Promise.all(
      this.spec.containers.map(async (c) => {
        await dockerAsync(["stop", "--time", String(this.spec.terminationGraceSeconds), this.container(c.name)], { allowFail: true });
        took[c.name] = (Date.now() - started) / 1000;
      }),
    );
    this.log(`stopped (${JSON.stringify(took)})`);
    return took;
  }

  logs(name: string): string {
    const r = docker(["logs", this.container(name)], { allowFail: true });
    return `${r.stdout}${r.stderr}`;
  }

  remove(): void {
    this.probing = false;
    const names = [...this.spec.containers.map((c) => this.container(c.name)), this.container("infra")];
    docker(["rm", "-f", "-v", ...names], { allowFail: true });
    for (const v of Object.values(this.volumes)) docker(["volume", "rm", "-f", v], { allowFail: true });
  }
}

/** `docker` with an environment of its own (values passed by `--env NAME`, never on the command line). */
function spawnDocker(args: string[], env: Record<string, string>) {
  const { spawnSync } = require("node:child_process") as typeof import("node:child_process");
  const r = spawnSync("docker", args, { env: { ...process.env, ...env }, encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}
