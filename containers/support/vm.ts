import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RELEASE } from "../../bootstrap/azure-vm";
import { azureBotNames, azureSharedNames } from "../../config/names";
import type { Bot, Fleet } from "../../config/load";
import { synthFleet, type StackJson } from "../../__tests__/support/fleet";
import { RUNTIME_DESCRIPTIONS } from "../../runtimes";
import { CloudStandIn, WIRE_SERVER_IP } from "./cloud";
import { terraformValue } from "./platform";
import { createNetwork, docker, dockerAsync, removeCgroups, RUN_LABEL, takeTurn, transferImages, until, type Result, type TestNetwork } from "./docker";
import { CONTAINER_CACHE, imageRef, imageSpec } from "./images";

const imageTags = (name: string) => imageSpec(name).tags;

/** The bot's custom data exactly as its synthesized scale set carries it (base64 of gzip). */

/**
 * How a VM container runs: Docker-in-Docker without --privileged (CAP_SYS_RESOURCE is outside this
 * machine's bounding set), and systemd as PID 1 with writable cgroups (v1 here), /run in memory.
 */
const VM_CONTAINER_FLAGS = [
  "--cap-add",
  "ALL",
  "--cap-drop",
  "SYS_RESOURCE",
  "--security-opt",
  "seccomp=unconfined",
  "--security-opt",
  "apparmor=unconfined",
  "--cgroupns",
  "host",
  "--volume",
  "/sys/fs/cgroup:/sys/fs/cgroup:rw",
  "--tmpfs",
  "/run",
];
/** The desired release the bot stack writes to the bot's state container (its azurerm_storage_blob), as Terraform evaluates it. */
export function desiredReleaseOf(stack: StackJson): string {
  const blobs = Object.values(stack.resource?.azurerm_storage_blob ?? {}) as StackJson[];
  if (blobs.length !== 1) throw new Error(`expected one desired release blob, found ${blobs.length}`);
  return terraformValue(blobs[0].source_content, () => undefined);
}

export function customDataOf(stack: StackJson): string {
  const sets = Object.values(stack.resource?.azurerm_orchestrated_virtual_machine_scale_set ?? {}) as StackJson[];
  if (sets.length !== 1) throw new Error(`expected one scale set, found ${sets.length}`);
  return sets[0].os_profile.custom_data;
}

/**
 * Docker volumes that play the VM's disk where nested engines keep their images: the VM's own
 * /var/lib/docker and the tool sandbox daemon's /var/lib/botfleet/sandbox-docker (an overlay
 * filesystem cannot sit on the container's own overlay root). They are kept between tests and
 * runs, as a registry cache would be: what is in them is what the registries would serve.
 */
export interface VmDisks {
  readonly docker: string;
  readonly sandboxDocker: string;
}

export interface VmOptions {
  readonly fleet: Fleet;
  readonly bot: Bot;
  /** The bot stack's synthesized Terraform JSON. */
  readonly stack: StackJson;
  readonly net: TestNetwork;
  readonly disks: VmDisks;
  /** The VM's address on the test network. @default .4, Azure's first usable address */
  readonly hostNumber?: number;
  /** Files laid on the VM's disk before its first boot, by absolute path. @default none */
  readonly files?: Record<string, string>;
}

/**
 * A stand-in for the bot's scale-set VM: the test VM image with systemd as PID 1, booted by the
 * real cloud-init from the bot's synthesized custom data (NoCloud), on a network with no route
 * out, its cloud reached through the stand-ins (cloud.ts) by the real host names.
 */
export class TestVm {
  private constructor(
    readonly name: string,
    readonly id: string,
    readonly address: string,
    private readonly seed: string,
  ) {}

  static async boot(opts: VmOptions): Promise<TestVm> {
    const { fleet, bot, net } = opts;
    const names = azureBotNames(fleet.name, bot.name, fleet.azure.uniqueSuffix);
    const shared = azureSharedNames(fleet.name, bot.region, fleet.azure.uniqueSuffix);
    const name = `botfleet-test-vm-${bot.name}-${Date.now().toString(36)}`;
    // Two engines on one disk would corrupt it: one VM at a time. Its caller holds the VM suites'
    // turn (vmFixture), so a container still on a disk is a killed run's: it goes.
    for (const volume of [opts.disks.docker, opts.disks.sandboxDocker]) {
      const users = docker(["ps", "-aq", "--filter", `volume=${volume}`])
        .stdout.split(/\s+/)
        .filter(Boolean);
      if (users.length) docker(["rm", "-f", "-v", ...users]);
    }
    const address = net.address(opts.hostNumber ?? 4);
    // NoCloud's seed: the custom data as Azure hands it to cloud-init (base64 decoded: gzip).
    const seed = mkdtempSync(join(tmpdir(), "botfleet-vm-seed-"));
    writeFileSync(join(seed, "user-data"), Buffer.from(customDataOf(opts.stack), "base64"));
    writeFileSync(join(seed, "meta-data"), `instance-id: ${name}\nlocal-hostname: ${bot.name}000000\n`);
    // Azure's resolver is the WireServer; Docker hands it on to the VM's containers.
    writeFileSync(join(seed, "resolv.conf"), `nameserver ${WIRE_SERVER_IP}\n`);
    const created = docker([
      "create",
      "--name",
      name,
      "--label",
      RUN_LABEL,
      "--hostname",
      `${bot.name}000000`,
      "--network",
      net.name,
      "--ip",
      address,
      ...VM_CONTAINER_FLAGS,
      "--tmpfs",
      "/run/lock",
      "--tmpfs",
      "/tmp",
      "--volume",
      `${opts.disks.docker}:/var/lib/docker`,
      "--volume",
      `${opts.disks.sandboxDocker}:/var/lib/botfleet/sandbox-docker`,
      "--volume",
      `${seed}:/botfleet-seed:ro`,
      "--volume",
      `${join(seed, "resolv.conf")}:/etc/resolv.conf:ro`,
      // The cloud's names resolve to the stand-ins (cloud.ts) on the host's address.
      "--add-host",
      `${shared.keyVault}.vault.azure.net:${net.gateway}`,
      "--add-host",
      `${names.storageAccount}.blob.core.windows.net:${net.gateway}`,
      imageRef("vm"),
    ]).stdout.trim();
    // Nested engines keep their containers' cgroups under the VM's own (cgroupfs driver, cgroup v1).
    const daemon = JSON.parse(docker(["run", "--rm", "--network", "none", "--entrypoint", "cat", imageRef("vm"), "/etc/docker/daemon.json"]).stdout);
    const files = { "etc/docker/daemon.json": JSON.stringify({ ...daemon, "cgroup-parent": `/docker/${created}/docker` }) + "\n", ...opts.files };
    docker(["cp", "-", `${name}:/`], { input: tarOf(Object.fromEntries(Object.entries(files).map(([path, content]) => [path.replace(/^\//, ""), content]))) });
    docker(["start", name]);
    return new TestVm(name, created, address, seed);
  }

  /**
   * Runs `script` with bash in the VM, as root. Never synchronously: the VM's scripts may call the
   * cloud stand-ins, which answer from this process's event loop.
   */
  exec(script: string, opts: { allowFail?: boolean; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Result> {
    const env = Object.entries(opts.env ?? {}).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
    return dockerAsync(["exec", ...env, this.name, "bash", "-c", script], opts);
  }

  /** Waits for cloud-init to finish the boot (runcmd ran boot.sh) and returns boot.sh's log. */
  async waitForBoot(timeoutMs = 600_000): Promise<{ status: "done" | "error"; log: string }> {
    // `cloud-init status --wait` returns at the first stage that fails; boot-finished is written last.
    const r = await this.exec("until [ -e /var/lib/cloud/instance/boot-finished ]; do sleep 1; done; cloud-init status | sed -n 's/^status: //p'", { allowFail: true, timeoutMs });
    const status = r.stdout.trim();
    if (status !== "done" && status !== "error") throw new Error(`cloud-init did not finish: ${status} ${r.stderr}`);
    return { status, log: await this.bootLog() };
  }

  /** What boot.sh and its steps wrote (cloud-init keeps runcmd's output in this file). */
  async bootLog(): Promise<string> {
    return (await this.exec("cat /var/log/cloud-init-output.log", { allowFail: true })).stdout;
  }

  async journal(unit: string, lines = 200): Promise<string> {
    return (await this.exec(`journalctl --no-pager -o cat -n ${lines} -u ${unit}`, { allowFail: true })).stdout;
  }

  /** curl from inside the VM: status code and body. */
  async curl(url: string, extra = ""): Promise<{ code: number; body: string }> {
    const r = await this.exec(`curl -sS --max-time 10 -o /tmp/botfleet-curl-body -w '%{http_code}' ${extra} '${url}'; echo; cat /tmp/botfleet-curl-body 2>/dev/null`, { allowFail: true });
    const [code, ...body] = r.stdout.split("\n");
    return { code: Number(code) || 0, body: body.join("\n") };
  }

  /** A reboot: systemd shuts down (units stop in reverse order), then boots with the same disk. */
  async reboot(): Promise<void> {
    await dockerAsync(["restart", "--time", "420", this.name], { timeoutMs: 600_000 });
  }

  /** Everything a test leaves for the reader when it fails: boot log, units, containers. */
  async diagnostics(): Promise<string> {
    return (
      await this.exec(
        "echo '--- systemctl --failed'; systemctl --failed --no-pager --plain; for u in botfleet-agent botfleet-sandbox botfleet-state-sync caddy; do echo \"--- journal $u\"; journalctl --no-pager -o short-iso -n 80 -u $u | grep -v 'tls.obtain\\|level=info'; done; echo '--- docker ps'; docker ps -a",
        { allowFail: true },
      )
    ).stdout;
  }

  destroy(): void {
    docker(["rm", "-f", this.name], { allowFail: true });
    removeCgroups(`docker/${this.id}`);
    rmSync(this.seed, { recursive: true, force: true });
  }
}

/** A tar stream of `files` (path relative to where it is extracted -> content), for `docker cp -`. */
function tarOf(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100);
    header.write("0000644\0", 100);
    header.write("0000000\0", 108);
    header.write("0000000\0", 116);
    header.write(data.length.toString(8).padStart(11, "0") + "\0", 124);
    header.write(
      Math.floor(Date.now() / 1000)
        .toString(8)
        .padStart(11, "0") + "\0",
      136,
    );
    header.fill(" ", 148, 156);
    header.write("0", 156);
    header.write("ustar\0" + "00", 257);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    parts.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

/** An empty disk for this run only (removed with the run's other resources). */
export function emptyDisk(purpose: string): string {
  return docker(["volume", "create", "--label", RUN_LABEL, `botfleet-test-${purpose}-${Date.now().toString(36)}`]).stdout.trim();
}

/** What the VM's engine and its sandbox daemon hold before a first boot: what registries would serve them. */
export const VM_IMAGES = { docker: ["openclaw", "dind", "node", "nanobot"], sandboxDocker: ["openclaw", "sandbox"] } as const;

/** The kept disks for the current images (their names carry the images' keys). */
export function vmDisks(): VmDisks {
  const key = (names: readonly string[]) => createHash("sha256").update(names.map(imageRef).join(" ")).digest("hex").slice(0, 12);
  return { docker: `botfleet-test-vm-docker-${key(VM_IMAGES.docker)}`, sandboxDocker: `botfleet-test-vm-sandbox-docker-${key(VM_IMAGES.sandboxDocker)}` };
}

const SEEDED = ".botfleet-test-seeded";

/** Both kept disks exist and were filled to the end (a marker written last). */
export function vmDisksPresent(disks = vmDisks()): boolean {
  const marked = (v: string) =>
    docker(["run", "--rm", "--network", "none", "--volume", `${v}:/disk:ro`, "--entrypoint", "test", imageRef("vm"), "-f", `/disk/${SEEDED}`], { allowFail: true }).status === 0;
  return [disks.docker, disks.sandboxDocker].every((v) => docker(["volume", "inspect", v], { allowFail: true }).status === 0 && marked(v));
}

/**
 * Fills the kept disks once (npm run setup:containers): the VM image runs only dockerd on them,
 * the images are loaded into it, and into a sandbox daemon (the dind stand-in under the
 * sysbox-runc stand-in) on the sandbox disk. Loaded under their rendered references.
 */
export async function seedVmDisks(disks = vmDisks()): Promise<void> {
  if (vmDisksPresent(disks)) return;
  docker(["volume", "rm", "-f", disks.docker, disks.sandboxDocker], { allowFail: true });
  const seeder = `botfleet-test-seed-${process.pid}`;
  docker(["rm", "-f", seeder], { allowFail: true });
  const id = docker([
    "run",
    "-d",
    "--name",
    seeder,
    "--network",
    "none",
    ...VM_CONTAINER_FLAGS,
    "--volume",
    `${disks.docker}:/var/lib/docker`,
    "--volume",
    `${disks.sandboxDocker}:/var/lib/botfleet/sandbox-docker`,
    "--entrypoint",
    "dockerd",
    imageRef("vm"),
    "--cgroup-parent",
    "/botfleet-test-seed",
  ]).stdout.trim();
  try {
    await until("the seeding engine", () => docker(["exec", seeder, "docker", "info"], { allowFail: true }).status === 0, 60_000);
    const tagged = (names: readonly string[]) => names.flatMap((n) => [imageRef(n), ...imageTags(n)]);
    // The dind image first (it runs the sandbox daemon), then both engines' images side by side.
    await transferImages(tagged(["dind"]), ["exec", "-i", seeder, "docker", "load"]);
    const sock = "unix:///run/seed-sandbox/engine.sock";
    docker([
      "exec",
      seeder,
      "docker",
      "run",
      "-d",
      "--name",
      "sandbox-seeder",
      "--runtime",
      "sysbox-runc",
      "--volume",
      "/run/seed-sandbox:/run/seed-sandbox",
      "--volume",
      "/var/lib/botfleet/sandbox-docker:/var/lib/docker",
      imageTags("dind")[0],
      "dockerd",
      "--host",
      sock,
    ]);
    await until("the seeding sandbox daemon", () => docker(["exec", seeder, "docker", "--host", sock, "info"], { allowFail: true }).status === 0, 60_000);
    await Promise.all([
      transferImages(tagged(VM_IMAGES.docker.filter((n) => n !== "dind")), ["exec", "-i", seeder, "docker", "load"]),
      transferImages(tagged(VM_IMAGES.sandboxDocker), ["exec", "-i", seeder, "docker", "--host", sock, "load"]),
    ]);
    docker(["exec", seeder, "docker", "stop", "--time", "30", "sandbox-seeder"]);
    docker(["exec", seeder, "docker", "rm", "-f", "sandbox-seeder"]);
    docker(["exec", seeder, "touch", `/var/lib/docker/${SEEDED}`, `/var/lib/botfleet/sandbox-docker/${SEEDED}`]);
    docker(["stop", "--time", "30", seeder]);
  } catch (e) {
    docker(["rm", "-f", seeder], { allowFail: true });
    docker(["volume", "rm", "-f", disks.docker, disks.sandboxDocker], { allowFail: true });
    throw e;
  } finally {
    docker(["rm", "-f", seeder], { allowFail: true });
    removeCgroups("botfleet-test-seed");
    removeCgroups(`docker/${id}`);
  }
}

/** A VM of one bot of a fleet, its network and its cloud, ready to boot; `teardown` removes them. */
export interface VmFixture {
  readonly fleet: Fleet;
  readonly bot: Bot;
  readonly stacks: Record<string, StackJson>;
  readonly names: ReturnType<typeof azureBotNames>;
  readonly net: TestNetwork;
  readonly cloud: CloudStandIn;
  vm?: TestVm;
  boot(): Promise<TestVm>;
  teardown(): Promise<void>;
}

/**
 * The bot's network, cloud stand-ins (its storage account in Azurite, its Key Vault secrets set
 * to test values, but those named in `unset`) and VM options; the VM boots with `boot()`.
 */
export async function vmFixture(
  fleet: Fleet,
  botName: string,
  opts: { unset?: readonly string[]; secrets?: Record<string, string>; disks?: Partial<VmDisks>; files?: Record<string, string> } = {},
): Promise<VmFixture> {
  const bot = fleet.bots.find((b) => b.name === botName);
  if (!bot) throw new Error(`no bot ${botName}`);
  const giveTurnBack = await takeVmTurn();
  try {
    const { stacks } = synthFleet(fleet);
    const names = azureBotNames(fleet.name, bot.name, fleet.azure.uniqueSuffix);
    const net = createNetwork(bot.name);
    const cloud = new CloudStandIn(net, [{ account: names.storageAccount, container: names.stateContainer }]);
    await cloud.start();
    // The same apply that creates the scale set writes its desired release (DesiredReleaseBlob).
    await cloud.putBlob(names.storageAccount, names.stateContainer, RELEASE.desiredBlob, desiredReleaseOf(stacks[bot.name]));
    const runtime = RUNTIME_DESCRIPTIONS[bot.runtime];
    for (const s of runtime.secrets(bot)) {
      if (opts.unset?.includes(s.key)) continue;
      cloud.setSecret(names.secret(s.key), opts.secrets?.[s.key] ?? testSecretValue(s.key));
    }
    const fixture: VmFixture = {
      fleet,
      bot,
      stacks,
      names,
      net,
      cloud,
      async boot() {
        fixture.vm = await TestVm.boot({ fleet, bot, stack: stacks[bot.name], net, disks: { ...vmDisks(), ...opts.disks }, files: opts.files });
        return fixture.vm;
      },
      async teardown() {
        try {
          fixture.vm?.destroy();
          await cloud.stop();
          docker(["network", "rm", net.name], { allowFail: true });
        } finally {
          giveTurnBack();
        }
      },
    };
    return fixture;
  } catch (e) {
    giveTurnBack();
    throw e;
  }
}

/**
 * One VM suite at a time, across runs and clones: the kept disks take one engine each, and the host
 * holds IMDS's and the WireServer's addresses for one network.
 */
const VM_TURN = join(CONTAINER_CACHE, "vm-turn.lock");
const takeVmTurn = () => takeTurn(VM_TURN, "the VM suites' turn");

/** Values shaped like the real ones (a Telegram token's format), never real. */
export function testSecretValue(key: string): string {
  if (key === "telegram-bot-token") return `123456789:AAE${"botfleet-test".repeat(3)}`.slice(0, 46);
  if (key === "gateway-token") return "test-gateway-token-0123456789abcdef";
  return `test-value-of-${key}`;
}
