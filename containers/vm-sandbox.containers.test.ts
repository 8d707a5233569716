import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AGENT_LIMITS, RELEASE, SANDBOX, VM_STATE_DIR } from "../bootstrap/azure-vm";
import { vmRelease, type ReleaseFile } from "../bootstrap/vm-release";
import { STATE_SYNC_IMAGE } from "../bootstrap/state-sync";
import { openclaw } from "../runtimes/openclaw";
import { exampleFleet, fleetFrom, ROOT, synthFleet } from "../__tests__/support/fleet";
import { IMDS_IP } from "./support/cloud";
import { dockerAsync, sleep, until } from "./support/docker";
import { ModelStandIn } from "./support/model";
import { desiredReleaseOf, testSecretValue, vmFixture, type TestVm, type VmFixture } from "./support/vm";

/**
 * bot-alpha (OpenClaw, standard tier, a domain, Telegram) on its VM with the tool sandbox on: the
 * real cloud-init runs the synthesized custom data; boot.sh's Docker steps run for real on the
 * VM's engine (Debian's docker.io), the sandbox daemon (the docker:28.5.1-dind stand-in, Docker
 * 28.5) under the sysbox-runc stand-in, the gateway (the pinned openclaw from npm) on that daemon,
 * Caddy (Debian's) in front. Stand-ins: IMDS, Key Vault, registries and apt (no network), and
 * Sysbox itself (see containers/images/vm/sysbox-runc: no user namespace here).
 */
const SANDBOX_DOCKER = `docker --host unix://${SANDBOX.socketDir}/${SANDBOX.socketName}`;
const GROUP_SESSION = "agent:main:telegram:group:-1001234567890";
/** What the sandboxed tool runs: the interfaces, the user, where it is and what it can see. */
const PROBE =
  "echo IFACES=$(ls /sys/class/net | tr '\\n' ' '); echo USER=$(id -un):$(id -u); echo PWD=$(pwd); ls -d /home/node/.openclaw /var/lib/botfleet /run/botfleet-sandbox /var/run/docker.sock /run/docker.sock 2>&1 | sed 's/^/SEE=/'";

let f: VmFixture;
let vm: TestVm;
let boot: { status: string; log: string; seconds: number };
const model = new ModelStandIn(PROBE);
const figures: Record<string, string> = {};

beforeAll(async () => {
  f = await vmFixture(exampleFleet(), "bot-alpha", {
    files: {
      // Day 2 below: the updater runs every 20 s instead of every minute (an empty OnUnitInactiveSec= resets every trigger, OnBootSec too: systemd.timer(5)).
      "/etc/systemd/system/botfleet-update.timer.d/botfleet-test.conf": "[Timer]\nOnUnitInactiveSec=\nOnBootSec=1min\nOnUnitInactiveSec=20s\n",
      // A channel's failures count for 1 minute here (10 in a release): the status is ready again soon after.
      "/etc/systemd/system/botfleet-update.service.d/botfleet-test.conf": "[Service]\nEnvironment=CHANNEL_WINDOW_MINUTES=1\n",
    },
  });
  await model.start(f.net.gateway);
  const started = Date.now();
  vm = await f.boot();
  const r = await vm.waitForBoot();
  boot = { ...r, seconds: (Date.now() - started) / 1000 };
  figures["container start to READY"] = `${boot.seconds.toFixed(1)} s`;
});

afterAll(async () => {
  if (vm)
    process.stdout.write(
      `\n--- bot-alpha VM (sandbox on): figures ${JSON.stringify(figures)}\n--- boot log\n${boot?.log
        .split("\n")
        .filter((l) => l.includes("botfleet"))
        .join("\n")}\n--- updater\n${await vm.journal("botfleet-update", 300)}\n${await vm.diagnostics()}\n`,
    );
  await model.stop();
  await f?.teardown();
});

const gatewayInspect = async () => JSON.parse((await vm.exec(`${SANDBOX_DOCKER} inspect botfleet-agent`)).stdout)[0];
const out = async (script: string) => (await vm.exec(script)).stdout;

test("the first boot ends READY with the tool sandbox on, every step done", () => {
  expect(boot.status).toBe("done");
  expect(boot.log).toContain("sandbox: ready: tool sandbox non-main, network none, daemon under sysbox-runc");
  expect(boot.log).toMatch(/READY: bot bot-alpha \(openclaw\) is serving/);
  expect(boot.log).not.toMatch(/DEGRADED|FAILED|READY WITHOUT TOOL SANDBOX/);
});

test("Caddy answers /health on port 80 with the gateway's own health, from the network too", async () => {
  expect(await vm.curl("http://127.0.0.1/health")).toEqual({ code: 200, body: expect.stringContaining('"ok":true') });
  // From another host on the network, as the Application Health extension and the load balancer reach the VM.
  const remote = await dockerAsync([
    "run",
    "--rm",
    "--network",
    f.net.name,
    "--entrypoint",
    "node",
    STATE_SYNC_IMAGE,
    "-e",
    `fetch("http://${vm.address}/health").then(async (r) => console.log(r.status, await r.text()))`,
  ]);
  expect(remote.stdout).toMatch(/^200 .*"ok":true/);
});

test("the gateway is published on the VM's 127.0.0.1 only: not on its network address, nor on Docker's bridge", async () => {
  expect((await vm.curl(`http://127.0.0.1:${openclaw.port}${openclaw.healthPath}`)).code).toBe(200);
  expect((await vm.curl(`http://${vm.address}:${openclaw.port}${openclaw.healthPath}`)).code).toBe(0);
  expect((await vm.curl(`http://172.17.0.1:${openclaw.port}${openclaw.healthPath}`)).code).toBe(0);
  const listeners = await out("ss -Hltn");
  expect(listeners).toContain(`127.0.0.1:${openclaw.port} `);
  expect(listeners).not.toMatch(new RegExp(`(0\\.0\\.0\\.0|\\*|\\[::\\]):${openclaw.port} `));
});

test("the gateway runs on the sandbox daemon with run-agent.sh's hardening, the tier's limits in force", async () => {
  expect((await out("docker ps --format '{{.Names}}'")).split("\n").filter(Boolean).sort()).toEqual(["botfleet-sandbox", "botfleet-state-sync"]);
  const g = await gatewayInspect();
  const limits = AGENT_LIMITS[f.bot.tier];
  expect(g.Config.Image).toBe(openclaw.image);
  expect(g.Config.User).toBe("1000:1000");
  expect(g.HostConfig).toMatchObject({ ReadonlyRootfs: true, CapDrop: ["ALL"], SecurityOpt: ["no-new-privileges"], Init: true, PidsLimit: limits.pids, NanoCpus: Number(limits.cpus) * 1e9 });
  expect(g.HostConfig.Memory).toBe(3 * 1024 ** 3);
  // The limit the kernel enforces, read inside the running gateway.
  expect((await out(`${SANDBOX_DOCKER} exec botfleet-agent cat /sys/fs/cgroup/memory/memory.limit_in_bytes`)).trim()).toBe(String(3 * 1024 ** 3));
  const mounts = g.Mounts.map((m: any) => `${m.Source}:${m.Destination}:${m.RW ? "rw" : "ro"}`).sort();
  expect(mounts).toEqual([`${SANDBOX.cli}:/usr/local/bin/docker:ro`, `${SANDBOX.socketDir}:${SANDBOX.gatewaySocketDir}:ro`, `${VM_STATE_DIR}:${openclaw.stateDir}:rw`].sort());
});

test("the VM's Docker socket is mounted into nothing: not the sandbox daemon, not the gateway, not state-sync", async () => {
  const all = [...JSON.parse(await out("docker inspect $(docker ps -q)")), ...JSON.parse(await out(`${SANDBOX_DOCKER} inspect $(${SANDBOX_DOCKER} ps -q)`))];
  expect(all.length).toBeGreaterThanOrEqual(3);
  for (const c of all) for (const m of c.Mounts) expect(`${c.Name} ${m.Source}`).not.toMatch(/docker\.sock|\/run\/docker$|\/var\/run$/);
});

test("containers cannot reach the instance metadata service; the VM's own scripts can", async () => {
  const probe = `fetch("http://${IMDS_IP}/metadata/instance/compute/subscriptionId",{headers:{Metadata:"true"},signal:AbortSignal.timeout(5000)}).then((r)=>console.log("reached",r.status),(e)=>console.log("blocked",e.cause?.code??e.name))`;
  expect((await out(`${SANDBOX_DOCKER} exec botfleet-agent node -e '${probe}'`)).trim()).toMatch(/^blocked/);
  expect((await vm.curl(`http://${IMDS_IP}/metadata/instance/compute/subscriptionId`, "-H Metadata:true")).code).toBe(200);
});

test("a proxied request reaches the gateway from an address it trusts: none logged as unattributable", async () => {
  const logged = async () => (await out(`${SANDBOX_DOCKER} logs botfleet-agent 2>&1`)).match(/unattributable proxy-shaped traffic/g)?.length ?? 0;
  // What Caddy sends, straight to the published port: the peer the gateway sees is whatever Docker
  // (the VM's proxy, then the sandbox daemon's NAT) connects from.
  const headers = "-H 'X-Forwarded-For: 203.0.113.9' -H 'X-Forwarded-Proto: https' -H 'X-Forwarded-Host: alpha.bots.example.com'";
  expect((await vm.curl(`http://127.0.0.1:${openclaw.port}/`, headers)).code).toBeGreaterThan(0);
  await sleep(2000);
  expect(await logged()).toBe(0);
  // The control: the same request from a peer the gateway does not trust (a container on the VM's
  // bridge, straight to the daemon's container) is logged.
  const daemon = (await out("docker inspect -f '{{.NetworkSettings.IPAddress}}' botfleet-sandbox")).trim();
  await vm.exec(
    `docker run --rm --network bridge --entrypoint node ${STATE_SYNC_IMAGE} -e 'fetch("http://${daemon}:${openclaw.port}/",{headers:{"x-forwarded-for":"203.0.113.9","x-forwarded-proto":"https"}}).then((r)=>console.log(r.status),(e)=>console.log(e.message))'`,
  );
  await until("the gateway's log of the untrusted proxy", async () => (await logged()) > 0, 30_000);
});

test("one Telegram poller: the VM's gateway, and no 409 Conflict", async () => {
  const token = testSecretValue("telegram-bot-token");
  await until("the gateway's first getUpdates", () => f.cloud.telegram.polls.some((p) => p.token === token), 120_000);
  expect(f.cloud.telegram.pollers(token)).toEqual([vm.address]);
  expect(f.cloud.telegram.conflicts(token)).toBe(0);
});

// Issue 36: liveness (Caddy's /health, which the repair reads) apart from what the bot can do.
test("a channel that cannot connect (another poller on its token) makes the bot degraded, saying why, while its liveness stays up", async () => {
  const token = testSecretValue("telegram-bot-token");
  const conflicts = f.cloud.telegram.conflicts(token);
  const competing = f.cloud.telegram.secondPoller(token, 45_000);
  const probes: number[] = [];
  let asked = conflicts;
  const condition = await until(
    "the status to say degraded",
    async () => {
      probes.push((await vm.curl("http://127.0.0.1/health")).code);
      // The updater tells the condition at every run (each minute); each time the channel has
      // failed again, a run now rather than at its next minute.
      if (f.cloud.telegram.conflicts(token) > asked) {
        asked = f.cloud.telegram.conflicts(token);
        await vm.exec("systemctl start --no-block botfleet-update.service");
      }
      // No status before the updater's first run (a minute after boot): keep asking.
      const condition = JSON.parse((await vm.curl("http://127.0.0.1/botfleet/status")).body || "{}").condition;
      return condition?.state === "degraded" && condition;
    },
    120_000,
    3000,
  );
  await competing;
  expect(f.cloud.telegram.conflicts(token)).toBeGreaterThan(conflicts);
  expect(condition.reasons).toEqual([expect.stringMatching(/^a chat channel failed \d+ times in 1 min, last: .*getUpdates conflict/)]);
  expect(probes.every((code) => code === 200)).toBe(true);
});

test("a gateway killed without a clean stop comes back by itself: its owner lease is taken back at once", async () => {
  const killed = Date.now();
  await vm.exec(`${SANDBOX_DOCKER} kill botfleet-agent`);
  await until("the gateway killed", async () => (await vm.curl("http://127.0.0.1/health")).code !== 200, 60_000, 500);
  await gatewayReady(killed);
  figures["kill to gateway ready (RestartSec 30 s)"] = `${((Date.now() - killed) / 1000).toFixed(1)} s`;
  expect(await vm.journal("botfleet-agent", 400)).not.toContain("Another Gateway owner lease is still active");
  // What the VM's syslog alarms read (bootstrap/alarms.ts, the region's rule takes facility
  // daemon, 3): systemd's own restart line, and the gateway's lines through run-agent.sh.
  const facilityOf = async (select: string) =>
    (await vm.exec(`journalctl -u botfleet-agent -o json --no-pager | jq -r 'select(${select}) | "\\(.SYSLOG_FACILITY) \\(.MESSAGE)"' | tail -1`)).stdout.trim();
  expect(await facilityOf('(.MESSAGE | tostring | test("Scheduled restart job"))')).toMatch(/^3 botfleet-agent\.service: Scheduled restart job, restart counter is at \d+\.$/);
  expect(await facilityOf('.SYSLOG_IDENTIFIER == "run-agent.sh"')).toMatch(/^3 /);
});

test("state-sync holds the lease and keeps the state in the bot's own blob container", async () => {
  expect(await vm.journal("botfleet-state-sync")).toMatch(/holding the lease on Azure blob container https:\/\/stbotalpha[0-9a-f]+\.blob\.core\.windows\.net\/state/);
  const blobs = await until(
    "a snapshot in the bot's container",
    async () => {
      const names = await f.cloud.listBlobs(f.names.storageAccount, f.names.stateContainer);
      return names.some((n) => n.startsWith("botfleet-state/snapshots/")) && names;
    },
    180_000,
    2000,
  );
  expect(blobs).toContain("botfleet-state/pointer.json");
});

// Issue 39, `botfleet pairing` on a VM (its command side: __tests__/live/operations.live.test.ts):
// state-sync hands the request from the store to run-agent.sh's watcher, which runs OpenClaw's own
// pairing CLI in the gateway's container on the sandbox daemon; the answer goes back to the store.
test("botfleet pairing: the request through the store, OpenClaw's pairing CLI run in the gateway's container, its answer back", async () => {
  const id = "vm-pair-1";
  const answer = "botfleet-state/pairing-result.json";
  await f.cloud.putBlob(
    f.names.storageAccount,
    f.names.stateContainer,
    "botfleet-state/pairing.json",
    JSON.stringify({ id, action: "list", channel: "telegram", requestedAt: new Date().toISOString(), by: "test" }),
  );
  // A tick now, as at the next snapshot interval (SIGUSR1: a snapshot now, then the requests).
  await vm.exec("docker kill --signal USR1 botfleet-state-sync");
  const asked = Date.now();
  const result = await until(
    "the pairing answer in the store",
    async () => {
      const body = await f.cloud.getBlob(f.names.storageAccount, f.names.stateContainer, answer);
      const parsed = body && JSON.parse(body.toString("utf8"));
      return parsed?.id === id && parsed;
    },
    180_000,
    1000,
  );
  figures["pairing list round trip"] = `${((Date.now() - asked) / 1000).toFixed(1)} s`;
  expect(result).toMatchObject({ ok: true, exitCode: 0 });
  expect(JSON.parse(result.stdout.slice(result.stdout.indexOf("{")))).toEqual({ channel: "telegram", requests: [] });
  // The request goes after its answer is written (state-sync.mjs pairIfAsked): a moment later
  // (CI, 2026-12-07: read between the two).
  await until("the handled request deleted", async () => !(await f.cloud.listBlobs(f.names.storageAccount, f.names.stateContainer)).includes("botfleet-state/pairing.json"), 30_000, 500);
});

test("a reboot brings every unit back in order: the gateway on the sandbox daemon again, Caddy healthy, an operator's own settings kept", async () => {
  // As an operator would at run time: a model of their own for the main agent (here the loopback
  // stand-in, for the tool call below); botfleet's merge keeps the keys it does not manage (boot.sh
  // step config). The reboot's restart is the one that takes it up.
  const standIn = ModelStandIn.provider(`http://${f.net.gateway}:${model.port}/v1`);
  await vm.exec(
    `jq --argjson p '${JSON.stringify(standIn.providers)}' '.models = {mode: "merge", providers: $p} | .agents.entries.main.model = "${standIn.ref}"' ${VM_STATE_DIR}/openclaw.json > /tmp/c.json && cat /tmp/c.json > ${VM_STATE_DIR}/openclaw.json`,
  );
  const started = Date.now();
  await vm.reboot();
  await gatewayReady(started);
  figures["reboot to gateway ready"] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  expect((await out("systemctl is-active botfleet-sandbox botfleet-agent botfleet-state-sync caddy")).split("\n").filter(Boolean)).toEqual(["active", "active", "active", "active"]);
  expect((await out(`${SANDBOX_DOCKER} ps --format '{{.Names}}' --filter name=botfleet-agent`)).trim()).toBe("botfleet-agent");
  expect(await vm.journal("botfleet-agent", 400)).not.toMatch(/port is already allocated|address already in use/);
  expect(JSON.parse(await out(`cat ${VM_STATE_DIR}/openclaw.json`)).agents.entries.main.model).toBe(standIn.ref);
});

// On the gateway the reboot above started, with the operator's own model (the loopback stand-in).
test("a group chat's tool call runs in a sandbox container: only lo, the sandbox user, its own workspace", async () => {
  const started = Date.now();
  const turn = await vm.exec(`${SANDBOX_DOCKER} exec botfleet-agent node openclaw.mjs agent --agent main --session-key ${GROUP_SESSION} --message 'Run the probe.' --json --timeout 300`, {
    allowFail: true,
    timeoutMs: 360_000,
  });
  figures["sandboxed agent turn"] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  expect(`${turn.stdout}${turn.stderr}`).toContain("Done: the command printed");
  expect(model.toolResults).toHaveLength(1);
  const result = model.toolResults[0];
  expect(result).toMatch(/^IFACES=lo\s*$/m);
  expect(result).toMatch(/^USER=sandbox:1000$/m);
  expect(result).toMatch(/^PWD=\/workspace$/m);
  for (const hidden of ["/home/node/.openclaw", "/var/lib/botfleet", "/run/botfleet-sandbox", "/var/run/docker.sock", "/run/docker.sock"])
    expect(result).toContain(`SEE=ls: cannot access '${hidden}': No such file or directory`);
  const sandboxes = JSON.parse(await out(`${SANDBOX_DOCKER} inspect $(${SANDBOX_DOCKER} ps -q --filter label=openclaw.sandbox=1)`));
  expect(sandboxes).toHaveLength(1);
  expect(sandboxes[0].HostConfig).toMatchObject({ NetworkMode: "none", ReadonlyRootfs: true, CapDrop: ["ALL"] });
  expect(sandboxes[0].Config.Image).toBe(openclaw.toolSandbox!.image);
});

/** Caddy's /health is 200 and the gateway logged ready since `since` (epoch ms). */
async function gatewayReady(since = 0): Promise<void> {
  await until(
    "the gateway ready behind Caddy",
    async () => {
      if ((await vm.curl("http://127.0.0.1/health")).code !== 200) return false;
      const log = await out(`${SANDBOX_DOCKER} logs --since ${Math.floor(since / 1000)} botfleet-agent 2>&1 || true`);
      return log.includes("[gateway] ready");
    },
    300_000,
    2000,
  );
}

/**
 * Day 2 (issue 34, docs/day-2.md): every later release reaches this VM only through the desired
 * release in its blob container (Azurite), written here as `cdktf deploy` writes it, and the VM's
 * updater (templates/vm/update.sh) applies it, with the gateway on the sandbox daemon. The "newer"
 * image is built on the sandbox daemon from the pinned one (no registry here): its gateway migrates
 * the state and never answers.
 */
describe("day 2", () => {
  const FLEET_YAML = readFileSync(join(ROOT, "fleet.yaml"), "utf8");
  const V1 = FLEET_YAML;
  const V2 = FLEET_YAML.replace('allowFrom: ["123456789"]', 'allowFrom: ["123456789", "987654321"]');
  const withImage = (yaml: string, image: string) => yaml.replace("  - name: bot-alpha\n", `  - name: bot-alpha\n    image: ${image}\n`);
  const UPGRADE = "ghcr.io/openclaw/openclaw:2026.9.7-botfleet-test";
  const MARKER = `${VM_STATE_DIR}/botfleet-test-day2.txt`;
  const MIGRATED = `${VM_STATE_DIR}/botfleet-test-schema`;
  const sh = async (script: string) => (await vm.exec(script, { allowFail: true })).stdout.trim();
  const stateConfig = async () => JSON.parse(await sh(`cat ${VM_STATE_DIR}/${openclaw.configFile}`));
  beforeAll(async () => {
    await vm.exec(`echo written-at-v1 >${MARKER} && chown 1000:1000 ${MARKER}`);
  });
  /** The desired release of the bot in `yaml`, as its stack would write it. */
  function releaseOf(fleetYaml: string): string {
    const fleet = fleetFrom(fleetYaml);
    return desiredReleaseOf(synthFleet(fleet).stacks["bot-alpha"]);
  }

  /** `release` with one file's content changed, as a new release (its own version). */
  function edited(release: string, path: string, edit: (content: string) => string): string {
    const r = JSON.parse(release) as { bot: string; image: string; files: (ReleaseFile & { onChange: string })[] };
    const files = r.files.filter((x) => x.path !== RELEASE.file).map(({ path: p, permissions, content }) => ({ path: p, permissions, content: p === path ? edit(content) : content }));
    return vmRelease(r.bot, r.image, RELEASE.file, files).bundle;
  }

  const versionOf = (release: string) => JSON.parse(release).version as string;

  /** Writes `release` as `cdktf deploy` does; `now` starts the updater at once instead of at its next minute. */
  async function deploy(release: string, now = false): Promise<void> {
    await f.cloud.putBlob(f.names.storageAccount, f.names.stateContainer, RELEASE.desiredBlob, release);
    if (now) await vm.exec("systemctl start --no-block botfleet-update.service");
  }

  async function status(): Promise<any> {
    const r = await vm.curl("http://127.0.0.1/botfleet/status");
    try {
      return JSON.parse(r.body);
    } catch {
      return {};
    }
  }

  test("v1: the VM reports the release it booted, which is the one deployed, and a bot that is ready", async () => {
    const v1 = versionOf(releaseOf(V1));
    await until("the updater's first status", async () => (await status()).desired === v1, 150_000, 3000);
    expect(await status()).toMatchObject({ bot: "bot-alpha", running: v1, desired: v1, phase: "running" });
    // The channel's failures of earlier are out of the window: ready, nothing to say.
    const ready = await until("the condition ready", async () => (await status()).condition?.state === "ready" && (await status()).condition, 90_000, 3000);
    expect(ready.reasons).toEqual([]);
    // Not from elsewhere: the status is for callers on the VM only.
    expect((await vm.curl(`http://${vm.address}/botfleet/status`)).code).toBe(404);
  });

  test("v2 (a new allowlist entry) reaches the running bot by itself, after a snapshot, and keeps the state", async () => {
    const v2 = releaseOf(V2);
    const deployed = Date.now();
    await deploy(v2);
    await until("v2 running", async () => (await status()).running === versionOf(v2) && (await status()).phase === "running", 300_000, 3000);
    figures["v2 deployed to running"] = `${((Date.now() - deployed) / 1000).toFixed(1)} s`;
    expect((await stateConfig()).channels.telegram.allowFrom).toEqual(["123456789", "987654321"]);
    expect(await sh(`cat ${MARKER}`)).toBe("written-at-v1");
    expect(await vm.journal("botfleet-update", 300)).toMatch(/restarts the agent/);
    expect(await vm.journal("botfleet-update", 300)).toMatch(/state snapshot in the store: /);
    expect((await vm.curl(`http://127.0.0.1:${openclaw.port}${openclaw.healthPath}`)).code).toBe(200);
    // The release the store keeps as the last good one, for a VM that is reimaged into a failed one.
    expect(JSON.parse(String(await f.cloud.getBlob(f.names.storageAccount, f.names.stateContainer, `${RELEASE.blobPrefix}/last-good.json`))).version).toBe(versionOf(v2));
  });

  test("a rollback by hand (update.sh rollback) brings v1 back with the state from before v2, and v2 is not applied again", async () => {
    await vm.exec(`echo written-at-v2 >${MARKER}.v2 && chown 1000:1000 ${MARKER}.v2`);
    const started = Date.now();
    await vm.exec("/usr/local/lib/botfleet/update.sh rollback", { timeoutMs: 400_000 });
    figures["rollback by hand"] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
    const s = await status();
    expect(s).toMatchObject({ running: versionOf(releaseOf(V1)), phase: "running" });
    expect(s.failed[0]).toMatchObject({ version: versionOf(releaseOf(V2)), reason: expect.stringMatching(/rolled back by hand/) });
    expect((await stateConfig()).channels.telegram.allowFrom).toEqual(["123456789"]);
    expect(await sh(`cat ${MARKER}`)).toBe("written-at-v1");
    expect(await sh(`test -e ${MARKER}.v2 && echo kept || echo gone`)).toBe("gone");
    await vm.exec("systemctl start botfleet-update.service");
    expect((await status()).running).toBe(versionOf(releaseOf(V1)));
  });

  test("v3, a config the gateway refuses, is stopped by the runtime's check and rolled back with the state intact", async () => {
    const v1 = releaseOf(V1);
    const v3 = edited(v1, "/etc/botfleet/agent-config.json", (c) => JSON.stringify({ ...JSON.parse(c), gateway: { ...JSON.parse(c).gateway, botfleetTestBogus: true } }, null, 2) + "\n");
    const deployed = Date.now();
    await deploy(v3, true);
    await until("v3 recorded as failed", async () => (await status()).failed?.[0]?.version === versionOf(v3) && (await status()).phase === "running", 300_000, 3000);
    figures["v3 deployed to rolled back"] = `${((Date.now() - deployed) / 1000).toFixed(1)} s`;
    const s = await status();
    expect(s.running).toBe(versionOf(v1));
    expect(s.failed[0].reason).toMatch(/config check refused it: .*Unrecognized key/);
    expect((await stateConfig()).gateway.botfleetTestBogus).toBeUndefined();
    expect(await sh(`cat ${MARKER}`)).toBe("written-at-v1");
    expect((await vm.curl(`http://127.0.0.1:${openclaw.port}${openclaw.healthPath}`)).code).toBe(200);
    // Not tried again while it stays the desired release.
    await vm.exec("systemctl start botfleet-update.service");
    expect((await status()).running).toBe(versionOf(v1));
  });

  test("an agent upgrade that migrates the state and never answers fails the health gate; the rollback restores the state from before it, and /health said UPDATING meanwhile", async () => {
    // Built on the VM from the pinned image: `config validate` passes; its gateway writes a schema
    // marker into the state, as a migration would, and never listens.
    await vm.exec(
      `mkdir -p /tmp/up && cd /tmp/up && printf '%s\\n' 'import { writeFileSync } from "node:fs"; if (process.argv.includes("gateway")) { writeFileSync("/home/node/.openclaw/botfleet-test-schema", "2\\n"); console.log("botfleet test: migrated, and never answering"); setInterval(() => {}, 1 << 30); } else { await import("./openclaw-real.mjs"); }' >openclaw.mjs && printf 'FROM ${openclaw.image}\\nUSER root\\nRUN mv /app/openclaw.mjs /app/openclaw-real.mjs\\nCOPY openclaw.mjs /app/openclaw.mjs\\nUSER node\\n' >Dockerfile && ${SANDBOX_DOCKER} build -q -t ${UPGRADE} .`,
      { timeoutMs: 300_000 },
    );
    const upgrade = releaseOf(withImage(V1, UPGRADE));
    // The gate waits 60 s here rather than 180 (a gateway that never answers fails it either way);
    // the updates before keep the real 180 s, which a loaded 2-core machine needs for a gateway start.
    expect(
      await sh(
        "mkdir -p /etc/systemd/system/botfleet-update.service.d && printf '[Service]\\nEnvironment=UPDATE_HEALTH_SECONDS=60\\n' >/etc/systemd/system/botfleet-update.service.d/botfleet-test.conf && systemctl daemon-reload && echo ok",
      ),
    ).toBe("ok");
    await deploy(upgrade, true);
    const probes: number[] = [];
    let migrated = false;
    await until(
      "the upgrade recorded as failed",
      async () => {
        probes.push((await vm.curl("http://127.0.0.1/health")).code);
        migrated ||= (await sh(`cat ${MIGRATED} 2>/dev/null`)) === "2";
        return (await status()).failed?.[0]?.version === versionOf(upgrade) && (await status()).phase === "running";
      },
      400_000,
      3000,
    );
    const s = await status();
    expect(migrated).toBe(true);
    expect(s.running).toBe(versionOf(releaseOf(V1)));
    expect(s.failed[0].reason).toMatch(/not healthy within 60 s/);
    expect(probes.every((code) => code === 200)).toBe(true);
    expect(await sh(`test -e ${MIGRATED} && echo migrated || echo as-before`)).toBe("as-before");
    expect(await sh(`cat ${MARKER}`)).toBe("written-at-v1");
    expect((await gatewayInspect()).Config.Image).toBe(openclaw.image);
  });

  // Issue 36: the agent restarts gracefully before the kernel would kill it for its memory.
  test("an agent over its memory threshold is restarted with a durable snapshot first, and the restart is counted in the status", async () => {
    // The threshold at 1% for a single run (update.sh's knobs): the idle gateway is over it at once.
    const dropIn = "/etc/systemd/system/botfleet-update.service.d/botfleet-test.conf";
    expect(await sh(`printf '[Service]\\nEnvironment=MEMORY_RESTART_PERCENT=1 MEMORY_RESTART_CHECKS=1\\n' >${dropIn} && systemctl daemon-reload && echo ok`)).toBe("ok");
    const over = Date.now();
    // The watch runs with the updater, each minute: one now.
    await vm.exec("systemctl start --no-block botfleet-update.service");
    const s = await until("a memory restart counted", async () => ((await status()).memoryRestarts ?? 0) >= 1 && (await status()), 240_000, 3000);
    // Once: the real threshold again before the next run (20 s on) would restart it again.
    expect(await sh(`rm -f ${dropIn} && systemctl daemon-reload && echo ok`)).toBe("ok");
    figures["memory restart: over the threshold to counted"] = `${((Date.now() - over) / 1000).toFixed(1)} s`;
    expect(s).toMatchObject({ phase: "running", memoryRestarts: 1, lastMemoryRestart: { percent: expect.any(Number) } });
    const lines = (await vm.journal("botfleet-update", 400)).split("\n");
    const at = (re: RegExp, after = -1) => lines.findIndex((l, i) => i > after && re.test(l));
    const asked = at(/memory: the agent uses [\d.]+% of its memory limit .*restarting it, snapshot first/);
    const snapshot = at(/memory: state snapshot in the store: /, asked);
    const restarted = at(/memory: RESTARTED the agent at [\d.]+% of its memory limit/, snapshot);
    expect([asked >= 0, snapshot > asked, restarted > snapshot]).toEqual([true, true, true]);
    await gatewayReady(over);
    expect(await sh(`cat ${MARKER}`)).toBe("written-at-v1");
  });

  // Issue 39: `botfleet secrets set` writes a new version in Key Vault, then `botfleet restart` (its
  // VM side: targets/azure-vmss/operations.ts) puts a restart request in the store; the updater
  // applies it, and the gateway reads the new value. Both written here as the command writes them.
  test("a secret set in Key Vault and a restart asked through the store: the updater restarts the gateway, which runs with the new value", async () => {
    const bot = exampleFleet().bots.find((b) => b.name === "bot-alpha")!;
    const llmKey = openclaw.secrets(bot).find((x) => x.key === "llm-api-key")!.env;
    const envOf = async () => ((await gatewayInspect()).Config.Env as string[]).find((e) => e.startsWith(`${llmKey}=`));
    expect(await envOf()).toBe(`${llmKey}=${testSecretValue("llm-api-key")}`);
    f.cloud.setSecret(f.names.secret("llm-api-key"), "sk-rotated-botfleet-test");
    const id = "vm-restart-1";
    await f.cloud.putBlob(f.names.storageAccount, f.names.stateContainer, "botfleet-release/restart.json", JSON.stringify({ id, requestedAt: new Date().toISOString(), by: "test" }));
    const asked = Date.now();
    await vm.exec("systemctl start --no-block botfleet-update.service");
    const done = await until("the restart applied", async () => (await status()).lastRestart?.id === id && (await status()).lastRestart, 300_000, 3000);
    figures["restart asked to applied and healthy"] = `${((Date.now() - asked) / 1000).toFixed(1)} s`;
    expect(done).toMatchObject({ id, ok: true });
    expect(await envOf()).toBe(`${llmKey}=sk-rotated-botfleet-test`);
    expect((await vm.curl("http://127.0.0.1/health")).code).toBe(200);
    expect(await sh(`cat ${MARKER}`)).toBe("written-at-v1");
  });
});
