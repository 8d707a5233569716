import { AGENT_LIMITS, SANDBOX, VM_STATE_DIR } from "../bootstrap/azure-vm";
import { STATE_SYNC_IMAGE } from "../bootstrap/state-sync";
import { openclaw } from "../runtimes/openclaw";
import { exampleFleet } from "../__tests__/support/fleet";
import { IMDS_IP } from "./support/cloud";
import { dockerAsync, sleep, until } from "./support/docker";
import { ModelStandIn } from "./support/model";
import { testSecretValue, vmFixture, type TestVm, type VmFixture } from "./support/vm";

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
  f = await vmFixture(exampleFleet(), "bot-alpha");
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
        .join("\n")}\n${await vm.diagnostics()}\n`,
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

test("a gateway killed without a clean stop comes back by itself: its owner lease is taken back at once", async () => {
  const killed = Date.now();
  await vm.exec(`${SANDBOX_DOCKER} kill botfleet-agent`);
  await until("the gateway killed", async () => (await vm.curl("http://127.0.0.1/health")).code !== 200, 60_000, 500);
  await gatewayReady(killed);
  figures["kill to gateway ready (RestartSec 30 s)"] = `${((Date.now() - killed) / 1000).toFixed(1)} s`;
  expect(await vm.journal("botfleet-agent", 400)).not.toContain("Another Gateway owner lease is still active");
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

test("a group chat's tool call runs in a sandbox container: only lo, the sandbox user, its own workspace", async () => {
  // As an operator would at run time: a model of their own for the main agent (here the loopback
  // stand-in); botfleet's merge keeps the keys it does not manage (boot.sh step config).
  const standIn = ModelStandIn.provider(`http://${f.net.gateway}:${model.port}/v1`);
  await vm.exec(
    `jq --argjson p '${JSON.stringify(standIn.providers)}' '.models = {mode: "merge", providers: $p} | .agents.entries.main.model = "${standIn.ref}"' ${VM_STATE_DIR}/openclaw.json > /tmp/c.json && cat /tmp/c.json > ${VM_STATE_DIR}/openclaw.json`,
  );
  const restarted = Date.now();
  await vm.exec("systemctl restart botfleet-agent");
  await gatewayReady(restarted);
  figures["agent restart to gateway ready"] = `${((Date.now() - restarted) / 1000).toFixed(1)} s`;
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

test("a reboot brings every unit back in order: the gateway on the sandbox daemon again, Caddy healthy", async () => {
  const started = Date.now();
  await vm.reboot();
  await gatewayReady(started);
  figures["reboot to gateway ready"] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  expect((await out("systemctl is-active botfleet-sandbox botfleet-agent botfleet-state-sync caddy")).split("\n").filter(Boolean)).toEqual(["active", "active", "active", "active"]);
  expect((await out(`${SANDBOX_DOCKER} ps --format '{{.Names}}' --filter name=botfleet-agent`)).trim()).toBe("botfleet-agent");
  expect(await vm.journal("botfleet-agent", 400)).not.toMatch(/port is already allocated|address already in use/);
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
