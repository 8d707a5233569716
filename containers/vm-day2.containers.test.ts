import { RELEASE, VM_STATE_DIR } from "../bootstrap/azure-vm";
import { vmRelease, type ReleaseFile } from "../bootstrap/vm-release";
import { openclaw } from "../runtimes/openclaw";
import { fleetFrom, synthFleet } from "../__tests__/support/fleet";
import { until } from "./support/docker";
import { desiredReleaseOf, vmFixture, type TestVm, type VmFixture } from "./support/vm";

/**
 * Day 2 of a VM bot (issue 34), on the container suite's stand-in VM: the bot boots at v1 and keeps
 * state; every later release reaches the running VM only through the desired release in its blob
 * container (Azurite), written here as `cdktf deploy` writes it, and the VM's updater
 * (templates/vm/update.sh) applies it. The agent is the pinned OpenClaw; the "newer" images are
 * built on the VM from it (no registry here): one whose gateway never answers, and one that
 * migrates the state at start. The health gate waits 90 s here (UPDATE_HEALTH_SECONDS, a test knob).
 */
const yaml = (allowFrom: string, image = "") =>
  `name: demo\nbots:\n  - name: bot-alpha\n${image ? `    image: ${image}\n` : ""}    sandbox:\n      mode: "off"\n    channels:\n      telegram:\n        allowFrom: [${allowFrom}]\n`;
const V1 = yaml('"123456789"');
const V2 = yaml('"123456789", "987654321"');
const NEVER_HEALTHY = `${openclaw.image}-never-healthy`;
const UPGRADE = "ghcr.io/openclaw/openclaw:2026.9.7-botfleet-test";
const MARKER = `${VM_STATE_DIR}/botfleet-test-day2.txt`;
const MIGRATED = `${VM_STATE_DIR}/botfleet-test-schema`;

let f: VmFixture;
let vm: TestVm;
const figures: Record<string, string> = {};

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

const out = async (script: string) => (await vm.exec(script, { allowFail: true })).stdout.trim();
const stateConfig = async () => JSON.parse(await out(`cat ${VM_STATE_DIR}/${openclaw.configFile}`));

beforeAll(async () => {
  f = await vmFixture(fleetFrom(V1), "bot-alpha", {
    files: { "/etc/systemd/system/botfleet-update.service.d/botfleet-test.conf": "[Service]\nEnvironment=UPDATE_HEALTH_SECONDS=90\n" },
  });
  vm = await f.boot();
  const started = Date.now();
  const boot = await vm.waitForBoot();
  expect(boot.log).toMatch(/READY: bot bot-alpha/);
  figures["container start to READY"] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
  await vm.exec(`echo written-at-v1 >${MARKER} && chown 1000:1000 ${MARKER}`);
});

afterAll(async () => {
  if (vm) process.stdout.write(`\n--- bot-alpha VM (day 2): figures ${JSON.stringify(figures)}\n--- updater\n${await vm.journal("botfleet-update", 300)}\n${await vm.diagnostics()}\n`);
  await f?.teardown();
});

test("v1: the VM reports the release it booted, which is the one deployed", async () => {
  const v1 = versionOf(releaseOf(V1));
  await until("the updater's first status", async () => (await status()).desired === v1, 150_000, 3000);
  expect(await status()).toMatchObject({ bot: "bot-alpha", running: v1, desired: v1, phase: "running" });
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
  expect(await out(`cat ${MARKER}`)).toBe("written-at-v1");
  expect(await vm.journal("botfleet-update", 300)).toMatch(/restarts the agent/);
  expect(await vm.journal("botfleet-update", 300)).toMatch(/state snapshot in the store: /);
  expect((await vm.curl(`http://127.0.0.1${openclaw.healthPath}`)).code).toBe(200);
  // The release the store keeps as the last good one, for a VM that is reimaged into a failed one.
  expect(JSON.parse(String(await f.cloud.getBlob(f.names.storageAccount, f.names.stateContainer, `${RELEASE.blobPrefix}/last-good.json`))).version).toBe(versionOf(v2));
});

test("v3, a config the gateway refuses, is stopped by the runtime's check and rolled back to v2 with the state intact", async () => {
  const v2 = releaseOf(V2);
  const v3 = edited(v2, "/etc/botfleet/agent-config.json", (c) => JSON.stringify({ ...JSON.parse(c), gateway: { ...JSON.parse(c).gateway, botfleetTestBogus: true } }, null, 2) + "\n");
  const deployed = Date.now();
  await deploy(v3, true);
  await until("v3 recorded as failed", async () => (await status()).failed?.[0]?.version === versionOf(v3) && (await status()).phase === "running", 300_000, 3000);
  figures["v3 deployed to rolled back"] = `${((Date.now() - deployed) / 1000).toFixed(1)} s`;
  const s = await status();
  expect(s.running).toBe(versionOf(v2));
  expect(s.failed[0].reason).toMatch(/config check refused it: .*Unrecognized key/);
  expect((await stateConfig()).gateway.botfleetTestBogus).toBeUndefined();
  expect(await out(`cat ${MARKER}`)).toBe("written-at-v1");
  expect((await vm.curl(`http://127.0.0.1${openclaw.healthPath}`)).code).toBe(200);
  // Not tried again while it stays the desired release.
  await vm.exec("systemctl start botfleet-update.service");
  expect((await status()).running).toBe(versionOf(v2));
});

test("an image whose gateway never answers fails the health gate and is rolled back to v2; /health said UPDATING meanwhile, never down", async () => {
  // Built on the VM from the pinned image: `config validate` passes, the gateway never listens.
  await vm.exec(
    `mkdir -p /tmp/never && cd /tmp/never && printf '%s\\n' 'if (process.argv.includes("gateway")) { console.log("botfleet test: a gateway that never answers"); setInterval(() => {}, 1 << 30); } else { await import("./openclaw-real.mjs"); }' >openclaw.mjs && printf 'FROM ${openclaw.image}\\nUSER root\\nRUN mv /app/openclaw.mjs /app/openclaw-real.mjs\\nCOPY openclaw.mjs /app/openclaw.mjs\\nUSER node\\n' >Dockerfile && docker build -q -t ${NEVER_HEALTHY} .`,
    { timeoutMs: 300_000 },
  );
  const bad = releaseOf(yaml('"123456789", "987654321"', NEVER_HEALTHY));
  await deploy(bad, true);
  const probes: number[] = [];
  await until(
    "the broken image recorded as failed",
    async () => {
      probes.push((await vm.curl("http://127.0.0.1/health")).code);
      return (await status()).failed?.[0]?.version === versionOf(bad) && (await status()).phase === "running";
    },
    400_000,
    3000,
  );
  const s = await status();
  expect(s.running).toBe(versionOf(releaseOf(V2)));
  expect(s.failed[0].reason).toMatch(/not healthy within 90 s/);
  expect(probes.every((code) => code === 200)).toBe(true);
  expect(JSON.parse(await out("docker inspect botfleet-agent"))[0].Config.Image).toBe(openclaw.image);
});

test("an agent upgrade that migrates the state, then a rollback by hand, brings back the state from before the upgrade", async () => {
  // The "newer" image writes a schema marker into the state at start, as a migration would.
  await vm.exec(
    `mkdir -p /tmp/up && cd /tmp/up && printf '%s\\n' 'import { writeFileSync } from "node:fs"; if (process.argv.includes("gateway")) writeFileSync("/home/node/.openclaw/botfleet-test-schema", "2\\n"); await import("./openclaw-real.mjs");' >openclaw.mjs && printf 'FROM ${openclaw.image}\\nUSER root\\nRUN mv /app/openclaw.mjs /app/openclaw-real.mjs\\nCOPY openclaw.mjs /app/openclaw.mjs\\nUSER node\\n' >Dockerfile && docker build -q -t ${UPGRADE} .`,
    { timeoutMs: 300_000 },
  );
  const v4 = releaseOf(yaml('"123456789", "987654321"', UPGRADE));
  await deploy(v4, true);
  await until("the upgrade running", async () => (await status()).running === versionOf(v4) && (await status()).phase === "running", 300_000, 3000);
  expect(await out(`cat ${MIGRATED}`)).toBe("2");
  const rolledBack = Date.now();
  await vm.exec(`${"/usr/local/lib/botfleet"}/update.sh rollback`, { timeoutMs: 400_000 });
  figures["rollback by hand"] = `${((Date.now() - rolledBack) / 1000).toFixed(1)} s`;
  const s = await status();
  expect(s).toMatchObject({ running: versionOf(releaseOf(V2)), phase: "running" });
  expect(s.failed[0]).toMatchObject({ version: versionOf(v4), reason: expect.stringMatching(/rolled back by hand/) });
  expect(await out(`test -e ${MIGRATED} && echo migrated || echo as-before`)).toBe("as-before");
  expect(await out(`cat ${MARKER}`)).toBe("written-at-v1");
  expect(JSON.parse(await out("docker inspect botfleet-agent"))[0].Config.Image).toBe(openclaw.image);
});
