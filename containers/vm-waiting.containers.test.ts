import { AGENT_LIMITS, WAITING_MARKER } from "../bootstrap/azure-vm";
import { mebibytes } from "../contracts";
import { STATE_SYNC_LEASE_SECONDS } from "../bootstrap/state-sync";
import { nanobot } from "../runtimes/nanobot";
import { WAITING_FOR_SECRETS } from "../runtimes/runtime";
import { exampleFleet } from "../__tests__/support/fleet";
import { until } from "./support/docker";
import { testSecretValue, vmFixture, type TestVm, type VmFixture } from "./support/vm";

/**
 * bot-epsilon (nanobot, light tier, Telegram, no tool sandbox) on its VM, first deployed without
 * its Telegram token: the bot waits, visibly, and starts by itself once the token is set. The
 * nanobot image is a stand-in (containers/images/nanobot: nanobot is on PyPI, which is not
 * reachable); everything else is as in vm-sandbox.containers.test.ts.
 */
let f: VmFixture;
let vm: TestVm;
let bootLog = "";
const figures: Record<string, string> = {};

beforeAll(async () => {
  f = await vmFixture(exampleFleet(), "bot-epsilon", { unset: ["telegram-bot-token"] });
  vm = await f.boot();
  const started = Date.now();
  const boot = await vm.waitForBoot();
  bootLog = boot.log;
  figures["container start to READY, WAITING FOR SECRETS"] = `${((Date.now() - started) / 1000).toFixed(1)} s`;
});

afterAll(async () => {
  if (vm)
    process.stdout.write(
      `\n--- bot-epsilon VM: figures ${JSON.stringify(figures)}\n${bootLog
        .split("\n")
        .filter((l) => l.includes("botfleet"))
        .join("\n")}\n${await vm.diagnostics()}\n`,
    );
  await f?.teardown();
});

test("the boot ends READY, WAITING FOR SECRETS, naming the missing secret", () => {
  expect(bootLog).toMatch(/READY, WAITING FOR SECRETS: bot bot-epsilon \(nanobot\) starts within 30 s of these being set in Key Vault kv-demo-[0-9a-f]{6}: bot-epsilon--telegram-bot-token/);
});

test("Caddy's /health answers 200 with the waiting text, so the scale set does not repair the VM", async () => {
  // Caddy runs as user caddy: it must be able to see the marker fetch-secrets.sh keeps.
  expect((await vm.exec(`stat -c '%a %U' ${WAITING_MARKER.replace(/\/[^/]+$/, "")}`)).stdout.trim()).toBe("755 root");
  expect(await vm.curl("http://127.0.0.1/health")).toEqual({ code: 200, body: WAITING_FOR_SECRETS });
});

test("once the secret is set in Key Vault, the agent starts by itself within a minute and /health is the gateway's", async () => {
  f.cloud.setSecret(f.names.secret("telegram-bot-token"), testSecretValue("telegram-bot-token"));
  const set = Date.now();
  await until("nanobot's own health behind Caddy", async () => (await vm.curl("http://127.0.0.1/health")).body.includes('"status":"ok"'), 120_000, 2000);
  figures["secret set to serving"] = `${((Date.now() - set) / 1000).toFixed(1)} s`;
  expect(Date.now() - set).toBeLessThan(60_000);
  expect((await vm.exec(`test -e ${WAITING_MARKER} && echo present || echo gone`)).stdout.trim()).toBe("gone");
  const gateway = JSON.parse((await vm.exec("docker inspect botfleet-agent")).stdout)[0];
  expect(gateway.Config.Image).toBe(nanobot.image);
  expect(gateway.HostConfig).toMatchObject({ ReadonlyRootfs: true, CapDrop: ["ALL"], Memory: mebibytes(AGENT_LIMITS.light.memory) * 1024 ** 2 });
});

// Issue 33: a frozen state-sync (SIGSTOP, as a long pause or a VM freeze does) must take the
// gateway down before its lease can pass to another VM, and the bot must come back by itself.
test("a frozen state-sync takes the gateway down before its lease could pass on; running again, it brings the agent back by itself", async () => {
  const running = async () => (await vm.exec("docker ps --quiet --filter 'name=^botfleet-agent$'")).stdout.trim() !== "";
  expect(await running()).toBe(true);
  await vm.exec("docker kill --signal STOP botfleet-state-sync");
  const frozen = Date.now();
  await until("the gateway stopped", async () => !(await running()), 90_000, 1000);
  figures["state-sync frozen to gateway stopped"] = `${((Date.now() - frozen) / 1000).toFixed(1)} s`;
  expect(Date.now() - frozen).toBeLessThan(STATE_SYNC_LEASE_SECONDS * 1000);
  expect(await vm.journal("botfleet-agent")).toContain("LEASE NOT HELD");
  await vm.exec("docker kill --signal CONT botfleet-state-sync");
  const resumed = Date.now();
  await until("nanobot's own health behind Caddy again", async () => (await vm.curl("http://127.0.0.1/health")).body.includes('"status":"ok"'), 180_000, 2000);
  figures["state-sync resumed to serving"] = `${((Date.now() - resumed) / 1000).toFixed(1)} s`;
});
