/**
 * The `botfleet` command (bin/botfleet.js, operations/) run as a user runs it, on Node 24, against
 * a bot's real state-sync: Azurite as the bots' own storage accounts (OAuth over HTTPS, the
 * accounts named as the stacks name them), signed in through a stand-in of the managed identity
 * endpoint the Azure SDK reads (ARM_USE_MSI); and the Cloud Storage stand-in reached through the
 * Cloud Storage client's own `apiEndpoint` (BOTFLEET_GCS_ENDPOINT), signed in through a stand-in of
 * the metadata server (GCE_METADATA_HOST, read by Google's auth library). Run with `npm run test:state-sync`.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STATE_SYNC_COMMAND } from "../../bootstrap/state-sync";
import { parseFleet } from "../../config/load";
import { azureBotNames, azureSharedNames, gcpBotNames } from "../../config/names";
import { ArmStandIn } from "../support/arm-stand-in";
import { CloudLoggingStandIn, type StandInEntry } from "../support/cloud-logging-stand-in";
import { CloudRunStandIn } from "../support/cloud-run-stand-in";
import { GcsStandIn } from "../support/gcs-stand-in";
import { KeyVaultStandIn } from "../support/key-vault-stand-in";
import { LogAnalyticsStandIn } from "../support/log-analytics-stand-in";
import { SecretManagerStandIn } from "../support/secret-manager-stand-in";
import { freePort, identityEndpoint, killChildren, NODE24, Proc, requireNode24, selfSignedCert, sleep, startAzurite } from "../support/live-process";

const ROOT = join(__dirname, "..", "..");
const work = mkdtempSync(join(tmpdir(), "botfleet-operations-"));
const FLEET = `name: ops
defaults:
  region: eastus2
  model: anthropic/claude-sonnet-5
gcp:
  project: ops-project
bots:
  - name: bot-vm
    channels: { telegram: { allowFrom: ["123"] } }
  - name: bot-app
    target: azure-container-apps
    channels: { telegram: { allowFrom: ["123"] } }
  - name: bot-run
    target: gcp-cloud-run
    region: us-central1
    channels: { telegram: { dmPolicy: pairing } }
`;
const fleetFile = join(work, "fleet.yaml");
const fleet = parseFleet(FLEET);
const account = (bot: string) => azureBotNames("ops", bot, fleet.azure.uniqueSuffix).storageAccount;
const bucket = gcpBotNames("ops", "ops-project", "bot-run").stateBucket;
const IDENTITY_HEADER = "operations-identity-header";

jest.setTimeout(180_000);

let tls: { cert: string; key: string };
let azuritePort = 0;
let azurite: Proc;
let identity: Server;
const gcs = new GcsStandIn();
const vault = new KeyVaultStandIn();
const secretManager = new SecretManagerStandIn();
const cloudRun = new CloudRunStandIn();
// The log services: `botfleet logs`, and `botfleet status`, which reads a managed bot's channel failures there.
const logAnalytics = new LogAnalyticsStandIn();
const cloudLogging = new CloudLoggingStandIn();

beforeAll(async () => {
  requireNode24();
  writeFileSync(fleetFile, FLEET);
  tls = selfSignedCert(work);
  azuritePort = await freePort();
  // Azurite serves the storage accounts the bot stacks create, by their names (shared keys unused: OAuth).
  const key = Buffer.from("k".repeat(32)).toString("base64");
  azurite = await startAzurite(azuritePort, join(work, "azurite"), tls, { AZURITE_ACCOUNTS: ["bot-vm", "bot-app"].map((b) => `${account(b)}:${key}`).join(";") });
  identity = await identityEndpoint(IDENTITY_HEADER);
  await gcs.start();
  await vault.start(tls);
  await secretManager.start();
  await cloudRun.start();
  await logAnalytics.start(tls);
  await cloudLogging.start();
});
afterAll(async () => {
  killChildren();
  identity?.close();
  await gcs.stop();
  await vault.stop();
  await secretManager.stop();
  await cloudRun.stop();
  await logAnalytics.stop();
  await cloudLogging.stop();
  azurite?.proc.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

const identityUrl = () => `http://127.0.0.1:${(identity.address() as { port: number }).port}/msi/token`;
/** Signed in as Terraform would be on a runner with a managed identity. */
const azureEnv = () => ({
  NODE_EXTRA_CA_CERTS: tls.cert,
  ARM_USE_MSI: "true",
  IDENTITY_ENDPOINT: identityUrl(),
  IDENTITY_HEADER,
  BOTFLEET_AZURE_BLOB_URL: `https://127.0.0.1:${azuritePort}/{account}`,
  BOTFLEET_LOG_ANALYTICS_ENDPOINT: `https://127.0.0.1:${logAnalytics.port}/v1`,
});
/** What the Cloud Run bot's state-sync publishes in its bucket (state-sync.mjs STORE_STATUS), as of now. */
function storeReport(phase: "running" | "stopping"): string {
  const now = new Date().toISOString();
  gcs.objects.set(`${bucket}/botfleet-state/status.json`, { data: Buffer.from(JSON.stringify({ phase, since: now, publishedAt: now, storeCurrentAt: now })), generation: 1, updated: new Date() });
  return now;
}
const gcpEnv = () => ({
  GCE_METADATA_HOST: `127.0.0.1:${gcs.port}`,
  BOTFLEET_GCS_ENDPOINT: `http://127.0.0.1:${gcs.port}`,
  BOTFLEET_CLOUD_RUN_ENDPOINT: `http://127.0.0.1:${cloudRun.port}`,
  BOTFLEET_LOGGING_ENDPOINT: `http://127.0.0.1:${cloudLogging.port}`,
});

/** `botfleet <args>` as a user runs it, with only `env` (no credentials of this machine), `input` piped to its stdin. */
function botfleet(args: string[], env: NodeJS.ProcessEnv, input = ""): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE24, [join(ROOT, "bin", "botfleet.js"), "--fleet", fleetFile, ...args], {
      cwd: work,
      env: { PATH: process.env.PATH, HOME: work, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin.end(input);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The bot's state-sync as its stack runs it, on its store, with the agent's watcher beside it. */
function runningBot(store: string, env: NodeJS.ProcessEnv) {
  const dir = join(work, `state-${Math.random().toString(36).slice(2)}`);
  const sync = new Proc(NODE24, STATE_SYNC_COMMAND.slice(1), {
    STATE_SYNC_MAIN: "1",
    STATE_SYNC_DIR: dir,
    STATE_SYNC_STORE: store,
    STATE_SYNC_LEASE_SECONDS: "15",
    STATE_SYNC_INTERVAL_SECONDS: "2",
    STATE_SYNC_RETRY_SECONDS: "1",
    ...env,
  });
  // The container launcher's watcher (templates/container/launch.sh): touches its heartbeat while
  // the ready file exists, and removes it once the agent has stopped.
  const heartbeat = join(dir, ".botfleet-agent-running");
  const watcher = setInterval(() => (existsSync(join(dir, ".botfleet-state-ready")) ? writeFileSync(heartbeat, "") : rmSync(heartbeat, { force: true })), 500);
  return {
    dir,
    sync,
    async stop() {
      clearInterval(watcher);
      sync.proc.kill("SIGTERM");
      await sync.exited;
    },
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number) {
  for (const start = Date.now(); !(await check()); await sleep(300)) if (Date.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
}

async function snapshotsOf(bot: string, env: NodeJS.ProcessEnv) {
  const r = await botfleet(["backups", "list", bot, "--json"], env);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  return JSON.parse(r.stdout).snapshots as { name: string; time: string; current: boolean }[];
}

describe.each([
  {
    bot: "bot-vm",
    cloud: "Azure",
    env: azureEnv,
    store: () => `azure:https://127.0.0.1:${azuritePort}/${account("bot-vm")}/state`,
    syncEnv: () => ({ NODE_EXTRA_CA_CERTS: tls.cert, IDENTITY_ENDPOINT: identityUrl(), IDENTITY_HEADER }),
  },
  {
    bot: "bot-run",
    cloud: "Google Cloud",
    env: gcpEnv,
    store: () => `gcs:${bucket}`,
    syncEnv: () => ({ GCE_METADATA_HOST: `127.0.0.1:${gcs.port}`, STATE_SYNC_GCS_ENDPOINT: `http://127.0.0.1:${gcs.port}` }),
  },
])("botfleet on $bot's store ($cloud)", ({ bot, env, store, syncEnv }) => {
  test("status, backups list, and a restore to a time: asked, applied by the running state-sync, its current state kept", async () => {
    // The bot stack creates the container (constructs/blob-state-container.ts); here the test does.
    if (bot === "bot-vm") {
      const r = spawnSync(NODE24, [join(ROOT, "__tests__", "support", "state-harness.mjs"), "create-container", `https://127.0.0.1:${azuritePort}/${account(bot)}/state`], {
        encoding: "utf8",
        env: { NODE_EXTRA_CA_CERTS: tls.cert },
      });
      expect(r.stdout.trim()).toBe(JSON.stringify({ status: 201 }));
    }
    const empty = await botfleet(["status", bot, "--json"], env());
    expect(empty.stderr).not.toContain("botfleet:");
    expect(empty.code).toBe(0);
    const nothing = JSON.parse(empty.stdout)[0];
    expect(nothing.state).toBeUndefined();
    if (bot === "bot-vm") expect(nothing).toMatchObject({ errors: [], platform: { unknown: expect.stringContaining("the VM has not reported yet") } });
    else expect(nothing.errors).toEqual(["the Cloud Run service projects/ops-project/locations/us-central1/services/ops-bot-run does not exist: is it deployed?"]);

    const running = runningBot(store(), syncEnv());
    let between = new Date();
    try {
      await running.sync.waitFor(/state ready/, "state-sync starts");
      writeFileSync(join(running.dir, "notes.txt"), "monday");
      await running.sync.waitFor(/periodic snapshot/, "monday's snapshot");
      await sleep(1100);
      between = new Date();
      await sleep(1100);
      writeFileSync(join(running.dir, "notes.txt"), "tuesday");
      await until(async () => (await snapshotsOf(bot, env())).length >= 2, "tuesday's snapshot", 20_000);

      const listed = await snapshotsOf(bot, env());
      expect(listed.filter((s) => s.current)).toHaveLength(1);
      expect(listed[listed.length - 1].current).toBe(true);
      const table = await botfleet(["backups", "list", bot], env());
      expect(table.stdout).toMatch(/^\s+SNAPSHOT\s+TAKEN \(UTC\)\s+BYTES$/m);
      expect(table.stdout).toMatch(/^\*\s+snapshots\/\S+\.tar\.gz/m);

      const status = await botfleet(["status", bot, "--json"], env());
      expect(status.code).toBe(0);
      const [row] = JSON.parse(status.stdout);
      expect(row).toMatchObject({ bot, retired: false, state: { phase: "running" } });
      expect(row.state.lastSnapshot.name).toMatch(/^snapshots\//);

      const tooEarly = await botfleet(["backups", "restore", bot, "--at", "2001-01-01", "--yes"], env());
      expect(tooEarly.code).toBe(5);
      expect(tooEarly.stderr).toContain(`${bot} has no snapshot taken at or before 2001-01-01T00:00:00.000Z: the oldest kept is from ${listed[0].time}`);
      // Not confirmed on a pipe: nothing asked.
      const unconfirmed = await botfleet(["backups", "restore", bot, "--at", between.toISOString()], env());
      expect(unconfirmed.code).toBe(2);
      expect(unconfirmed.stderr).toContain("Add --yes to go on without asking");

      writeFileSync(join(running.dir, "notes.txt"), "wednesday, after the last snapshot");
      const restored = await botfleet(["backups", "restore", bot, "--at", between.toISOString(), "--yes", "--timeout", "60"], env());
      expect(restored.stderr).toMatch(/waiting for .* state-sync to apply it/);
      expect(restored.code).toBe(0);
      const monday = listed.filter((s) => Date.parse(s.time) <= between.getTime()).pop()!.name;
      expect(restored.stdout).toContain(`restored ${monday}`);
      expect(readFileSync(join(running.dir, "notes.txt"), "utf8")).toBe("monday");
      // The state from before, wednesday's work among it, comes back the same way.
      const before = /--snapshot (\S+)` brings it back/.exec(restored.stdout)![1];
      const undo = await botfleet(["backups", "restore", bot, "--snapshot", before, "--yes", "--timeout", "60"], env());
      expect(undo.code).toBe(0);
      expect(readFileSync(join(running.dir, "notes.txt"), "utf8")).toBe("wednesday, after the last snapshot");

      const after = JSON.parse((await botfleet(["status", bot, "--json"], env())).stdout)[0];
      expect(after.state.lastRestore).toMatchObject({ ok: true, snapshot: before });
    } finally {
      await running.stop();
    }

    // Issue 34: at the next start (a managed bot's rollback deploys the older agent again): asked
    // while nothing runs, applied by the next instance before its agent may start.
    expect(await botfleet(["backups", "restore", bot, "--at", between.toISOString(), "--yes", "--release", "0ld0ld0ld0ld"], env())).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("--release goes with --at-next-start"),
    });
    const atStart = await botfleet(["backups", "restore", bot, "--at", between.toISOString(), "--yes", "--at-next-start", "--release", "0ld0ld0ld0ld"], env());
    expect(atStart.code).toBe(0);
    expect(atStart.stdout).toMatch(/asked .* state-sync to restore snapshots\/\S+ at its next start of release 0ld0ld0ld0ld, before the agent starts/);
    const next = runningBot(store(), { ...syncEnv(), STATE_SYNC_RELEASE: "0ld0ld0ld0ld" });
    try {
      await next.sync.waitFor(/state ready/, "the next start");
      expect(next.sync.log).toMatch(/RESTORED snapshots\/\S+ at start, as asked/);
      expect(readFileSync(join(next.dir, "notes.txt"), "utf8")).toBe("monday");
      await until(async () => JSON.parse((await botfleet(["status", bot, "--json"], env())).stdout)[0].state?.lastRestore?.how === "at start", "the restore at start reported", 20_000);
    } finally {
      await next.stop();
    }

    // Nothing runs: the request waits in the store; a second one is refused while it does.
    const asked = await botfleet(["backups", "restore", bot, "--at", new Date().toISOString(), "--yes", "--no-wait"], env());
    expect(asked.code).toBe(0);
    const again = await botfleet(["backups", "restore", bot, "--at", new Date().toISOString(), "--yes", "--timeout", "2"], env());
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("has a restore pending already");
  });
});

describe("botfleet secrets", () => {
  const vaultName = azureSharedNames("ops", "eastus2", fleet.azure.uniqueSuffix).keyVault;
  const withVault = () => ({ ...azureEnv(), BOTFLEET_AZURE_VAULT_URL: `https://127.0.0.1:${vault.port}/{vault}` });
  const withSecretManager = () => ({ ...gcpEnv(), BOTFLEET_SECRET_MANAGER_ENDPOINT: `http://127.0.0.1:${secretManager.port}` });

  test("Key Vault: list shows which are set and since when; set reads the value from stdin or a file, writes it, and never shows it", async () => {
    const before = await botfleet(["secrets", "list", "bot-vm", "--json"], withVault());
    expect(before.stderr).toBe("");
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout).secrets.map((s: { key: string; name: string; versions: number }) => [s.key, s.name, s.versions])).toEqual([
      ["gateway-token", "bot-vm--gateway-token", 0],
      ["llm-api-key", "bot-vm--llm-api-key", 0],
      ["telegram-bot-token", "bot-vm--telegram-bot-token", 0],
      ["search-api-key", "bot-vm--search-api-key", 0],
    ]);

    const token = "7700000001:AAH-new token with 'quotes' \"and\" ünïcode";
    const set = await botfleet(["secrets", "set", "bot-vm", "telegram-bot-token", "--no-restart"], withVault(), `${token}\n`);
    expect(set.stderr).toBe("");
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(new RegExp(`^set telegram-bot-token of bot-vm in Key Vault ${vaultName} \\(version [0-9a-f]{32}\\)`));
    // The SDK's first request carries no token: the vault's 401 challenge names the resource to get one for.
    expect(vault.requests[0]).toMatchObject({ authorization: undefined, body: "" });
    const put = vault.requests.filter((r) => r.method === "PUT" && r.authorization);
    expect(put).toHaveLength(1);
    expect(put[0].path).toBe(`/${vaultName}/secrets/bot-vm--telegram-bot-token`);
    expect(put[0].authorization).toMatch(/^Bearer /);
    expect(JSON.parse(put[0].body)).toMatchObject({ value: token });

    const file = join(work, "llm-key.txt");
    writeFileSync(file, "sk-ant-from-a-file\n");
    expect((await botfleet(["secrets", "set", "bot-vm", "llm-api-key", "--file", file, "--no-restart"], withVault())).code).toBe(0);
    expect(vault.secrets.get(`${vaultName}/bot-vm--llm-api-key`)!.map((v) => v.value)).toEqual(["sk-ant-from-a-file"]);
    expect((await botfleet(["secrets", "set", "bot-vm", "gateway-token", "--generate", "--no-restart"], withVault())).code).toBe(0);
    expect(vault.secrets.get(`${vaultName}/bot-vm--gateway-token`)![0].value).toMatch(/^[A-Za-z0-9]{48}$/);

    const after = await botfleet(["secrets", "list", "bot-vm"], withVault());
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/^telegram-bot-token\s+bot-vm--telegram-bot-token\s+TELEGRAM_BOT_TOKEN\s+yes\s+1\s+\d{4}-\d\d-\d\dT\S+Z \(\d+ s ago\)$/m);
    for (const out of [set, after]) expect(out.stdout + out.stderr).not.toContain("AAH-new");

    const typo = await botfleet(["secrets", "set", "bot-vm", "telegram-token"], withVault(), "x");
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('bot-vm has no secret "telegram-token"; did you mean "telegram-bot-token"?');
    const empty = await botfleet(["secrets", "set", "bot-vm", "llm-api-key"], withVault(), "\n");
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("the value of llm-api-key is empty; nothing was set");
    expect(vault.requests.filter((r) => r.method === "PUT" && r.authorization)).toHaveLength(3);
  });

  test("Secret Manager: set adds a version to the secret Terraform created; list counts them", async () => {
    const id = gcpBotNames("ops", "ops-project", "bot-run").secret("telegram-bot-token");
    secretManager.secrets.set(`projects/ops-project/secrets/${id}`, [{ value: Buffer.from("placeholder"), createTime: "2026-12-01T10:00:00Z" }]);
    // Not deployed (no service): set, and said that it is not live.
    const unrestarted = await botfleet(["secrets", "set", "bot-run", "telegram-bot-token"], withSecretManager(), "8800000001:first\n");
    expect(unrestarted.code).toBe(5);
    expect(unrestarted.stderr).toContain("the new value is set, but bot-run was not restarted: the Cloud Run service projects/ops-project/locations/us-central1/services/ops-bot-run does not exist");
    cloudRun.services.set("projects/ops-project/locations/us-central1/services/ops-bot-run", { latestCreated: "ops-bot-run-00001-aaa" });
    const set = await botfleet(["secrets", "set", "bot-run", "telegram-bot-token"], withSecretManager(), "8800000002:BBH-rotated\n");
    expect(set.stderr).not.toContain("botfleet:");
    expect(set.code).toBe(0);
    expect(set.stdout).toContain("bot-run restarted, and is healthy");
    expect(set.stdout).toContain("set telegram-bot-token of bot-run in Secret Manager of project ops-project (version 3)");
    const add = secretManager.requests.filter((r) => r.method === "POST").pop()!;
    expect(add.path).toBe(`/v1/projects/ops-project/secrets/${id}:addVersion`);
    expect(add.authorization).toBe("Bearer stand-in-token");
    expect(Buffer.from(JSON.parse(add.body).payload.data, "base64").toString()).toBe("8800000002:BBH-rotated");
    const list = JSON.parse((await botfleet(["secrets", "list", "bot-run", "--json"], withSecretManager())).stdout);
    const telegram = list.secrets.find((s: { key: string }) => s.key === "telegram-bot-token");
    expect(telegram).toMatchObject({ name: id, versions: 3 });
    expect(Date.now() - Date.parse(telegram.lastSet)).toBeLessThan(60_000);
    expect(list.secrets.find((s: { key: string }) => s.key === "llm-api-key")).toMatchObject({ versions: 0 });
  });
});

describe("botfleet restart", () => {
  const arm = new ArmStandIn();
  beforeAll(() => arm.start(tls));
  afterAll(() => arm.stop());
  const vmContainer = () => `https://127.0.0.1:${azuritePort}/${account("bot-vm")}/state`;
  const harness = (...args: string[]) => {
    const r = spawnSync(NODE24, [join(ROOT, "__tests__", "support", "state-harness.mjs"), ...args], { encoding: "utf8", env: { NODE_EXTRA_CA_CERTS: tls.cert } });
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout);
  };
  /** The VM's updater, as update.sh's restart_if_asked answers (tested on the rendered script in vm-condition.test.ts): the request's id in its status. */
  let lastSeen: string | undefined;
  async function updater(ok: boolean) {
    let request: { id?: string } = {};
    await until(() => !!(request = harness("get-blob", vmContainer(), "botfleet-release/restart.json")).id && request.id !== lastSeen, "a new restart request", 20_000);
    lastSeen = request.id;
    harness("put-blob", vmContainer(), "botfleet-release/status.json", JSON.stringify({ bot: "bot-vm", phase: "running", lastRestart: { id: request.id, at: new Date().toISOString(), ok } }));
    return request;
  }

  test("a VM bot: the request lands where its updater reads it, and the command waits for its result", async () => {
    harness("create-container", vmContainer());
    const asked = botfleet(["restart", "bot-vm", "--timeout", "60"], azureEnv());
    const request = await updater(true);
    const done = await asked;
    expect(done.code).toBe(0);
    expect(done.stdout).toBe(`asked the VM's updater to restart the agent (request ${request.id}; it looks every minute)\nbot-vm restarted, and is healthy\n`);
    expect(request).toMatchObject({ requestedAt: expect.any(String), by: expect.stringContaining("@") });

    const unhealthy = botfleet(["restart", "bot-vm", "--timeout", "60"], azureEnv());
    await updater(false);
    expect(await unhealthy).toMatchObject({ code: 1, stderr: expect.stringContaining("bot-vm restarted, but is not healthy after it: botfleet status bot-vm") });

    const noWait = await botfleet(["restart", "bot-vm", "--no-wait"], azureEnv());
    expect(noWait.code).toBe(0);
    const late = await botfleet(["restart", "bot-vm", "--timeout", "1"], azureEnv());
    expect(late).toMatchObject({ code: 6, stderr: expect.stringContaining("bot-vm did not restart within 1 s; the request stays") });

    // secrets set makes the new value live in the same step.
    lastSeen = harness("get-blob", vmContainer(), "botfleet-release/restart.json").id;
    const rotated = botfleet(
      ["secrets", "set", "bot-vm", "telegram-bot-token", "--timeout", "60"],
      { ...azureEnv(), BOTFLEET_AZURE_VAULT_URL: `https://127.0.0.1:${vault.port}/{vault}` },
      "7700000001:rotated\n",
    );
    await updater(true);
    const out = await rotated;
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^set telegram-bot-token of bot-vm in Key Vault \S+ \(version \w+\)\nasked the VM's updater to restart the agent .*\nbot-vm restarted, and is healthy\n$/);
  });

  test("a Container Apps bot: its latest revision restarted through Resource Manager", async () => {
    const subscription = "00000000-1111-2222-3333-444444444444";
    const names = azureBotNames("ops", "bot-app", fleet.azure.uniqueSuffix);
    arm.apps.set(`${subscription}/${names.resourceGroup}/${names.containerApp}`, { latest: "bot-app--0000007" });
    const env = { ...azureEnv(), ARM_SUBSCRIPTION_ID: subscription, BOTFLEET_ARM_ENDPOINT: `https://127.0.0.1:${arm.port}` };
    const done = await botfleet(["restart", "bot-app"], env);
    expect(done.stderr).toBe("");
    expect(done.code).toBe(0);
    expect(done.stdout).toBe("restarted revision bot-app--0000007 of the container app bot-app: its replicas start again and read every Key Vault reference\n");
    const app = `/subscriptions/${subscription}/resourceGroups/${names.resourceGroup}/providers/Microsoft.App/containerApps/bot-app`;
    expect(arm.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET ${app}`, `POST ${app}/revisions/bot-app--0000007/restart`]);
    for (const r of arm.requests) expect(r.authorization).toMatch(/^Bearer /);

    expect(await botfleet(["restart", "bot-app"], { ...env, ARM_SUBSCRIPTION_ID: "" })).toMatchObject({ code: 2, stderr: expect.stringContaining("set ARM_SUBSCRIPTION_ID, as for a deploy") });
    arm.apps.clear();
    expect(await botfleet(["restart", "bot-app"], env)).toMatchObject({ code: 5, stderr: expect.stringContaining("the container app bot-app is not in the resource group rg-ops-bot-app") });
  });

  test("a Container Apps bot's status: the release of its latest revision, running once that revision is ready", async () => {
    const subscription = "00000000-1111-2222-3333-444444444444";
    const key = `${subscription}/${azureBotNames("ops", "bot-app", fleet.azure.uniqueSuffix).resourceGroup}/bot-app`;
    const env = { ...azureEnv(), ARM_SUBSCRIPTION_ID: subscription, BOTFLEET_ARM_ENDPOINT: `https://127.0.0.1:${arm.port}` };
    const platform = async () => {
      const r = await botfleet(["status", "bot-app", "--json"], env);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout)[0].platform;
    };
    arm.apps.set(key, { latest: "bot-app--0000008", release: "3f1c2b9a0d4e" });
    expect(await platform()).toEqual({ desired: "3f1c2b9a0d4e", running: "3f1c2b9a0d4e", phase: "running", detail: "revision bot-app--0000008" });
    arm.apps.set(key, { latest: "bot-app--0000009", ready: "bot-app--0000008", release: "77aa00bb11cc" });
    expect(await platform()).toEqual({ desired: "77aa00bb11cc", phase: "updating", detail: "revision bot-app--0000009 is not ready; bot-app--0000008 serves" });
    arm.apps.set(key, { latest: "bot-app--0000009", release: "77aa00bb11cc", runningStatus: "Degraded" });
    expect((await platform()).condition).toEqual({ state: "degraded", reasons: ["the app's running status is Degraded"] });
    // Not deployed: said for that bot, the rest of the status still shown.
    arm.apps.clear();
    const missing = await botfleet(["status", "bot-app", "--json"], env);
    expect(missing.code).toBe(0);
    expect(JSON.parse(missing.stdout)[0].errors).toContainEqual(expect.stringContaining("the container app bot-app is not in the resource group rg-ops-bot-app"));
    const noSubscription = JSON.parse((await botfleet(["status", "bot-app", "--json"], azureEnv())).stdout)[0];
    expect(noSubscription.platform).toEqual({ unknown: "set ARM_SUBSCRIPTION_ID to read its revisions from Resource Manager" });
  });

  test("a Cloud Run bot's status: the release of its latest created revision, running once that revision is the latest ready one", async () => {
    const name = "projects/ops-project/locations/us-central1/services/ops-bot-run";
    const env = gcpEnv();
    const platform = async () => {
      const r = await botfleet(["status", "bot-run", "--json"], env);
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout)[0];
    };
    cloudRun.services.set(name, { latestCreated: "ops-bot-run-00003-abc", release: "9a8b7c6d5e4f" });
    // No updater on the bot tells its condition: botfleet derives it (the store, the log service).
    // A stopped instance's last report, no other instance holding the state since: degraded.
    const stopped = storeReport("stopping");
    expect((await platform()).platform.condition).toEqual({ state: "degraded", reasons: [`state-sync: stopping since ${stopped}`] });
    storeReport("running");
    expect((await platform()).platform).toEqual({
      desired: "9a8b7c6d5e4f",
      running: "9a8b7c6d5e4f",
      phase: "running",
      detail: "revision ops-bot-run-00003-abc",
      condition: { state: "ready", reasons: [] },
    });
    cloudRun.services.set(name, {
      latestCreated: "ops-bot-run-00004-def",
      latestReady: "ops-bot-run-00003-abc",
      release: "0f0f0f0f0f0f",
      terminal: { state: "CONDITION_FAILED", message: "Revision 'ops-bot-run-00004-def' is not ready and cannot serve traffic. The user-provided container failed to start." },
    });
    expect((await platform()).platform).toEqual({
      desired: "0f0f0f0f0f0f",
      phase: "updating",
      detail: "revision ops-bot-run-00004-def is not ready; ops-bot-run-00003-abc serves",
      condition: { state: "degraded", reasons: ["Ready: CONDITION_FAILED: Revision 'ops-bot-run-00004-def' is not ready and cannot serve traffic. The user-provided container failed to start."] },
    });
    cloudRun.services.clear();
    expect((await platform()).errors).toEqual([`the Cloud Run service ${name} does not exist: is it deployed?`]);
    expect(cloudRun.requests.some((r) => r.method === "GET" && r.path === `/v2/${name}`)).toBe(true);
    expect(cloudRun.requests.every((r) => r.authorization === "Bearer stand-in-token")).toBe(true);
  });

  test("a Cloud Run bot: a new revision, its agent container's BOTFLEET_RESTARTED_AT set, updated under the service's etag, waited for", async () => {
    const name = "projects/ops-project/locations/us-central1/services/ops-bot-run";
    cloudRun.services.set(name, { latestCreated: "ops-bot-run-00005-aaa", release: "9a8b7c6d5e4f" });
    const before = cloudRun.updates.length;
    const r = await botfleet(["restart", "bot-run", "--timeout", "60"], gcpEnv());
    expect(r.stderr).not.toContain("botfleet:");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("asked Cloud Run for a new revision of ops-bot-run (BOTFLEET_RESTARTED_AT set)\nbot-run restarted, and is healthy\n");
    const update = cloudRun.updates[before];
    expect(update).toMatchObject({ name, updateMask: "template" });
    const [agent, sidecar] = update.template.containers!;
    expect(agent.env).toEqual([
      { name: "BOTFLEET_STATE_DIR", value: "/state" },
      { name: "BOTFLEET_RELEASE", value: "9a8b7c6d5e4f" },
      { name: "BOTFLEET_RESTARTED_AT", value: expect.stringMatching(/^\d{10}$/) },
    ]);
    expect(Math.abs(Number(agent.env![2].value) - Date.now() / 1000)).toBeLessThan(120);
    expect(sidecar.env).toEqual([{ name: "STATE_SYNC_DIR", value: "/state" }]);
    expect(cloudRun.services.get(name)!.latestCreated).toBe("ops-bot-run-00005-aaa-next");
  });
});

describe("botfleet pairing", () => {
  // What OpenClaw 2026.9.6's `pairing list --json` and `pairing approve` print (dist/pairing-cli-*.mjs,
  // run for real in containers/managed.containers.test.ts), answered as the launcher answers
  // (templates/container/launch.sh, pair; its own test runs the script): a stand-in of both here.
  const WAITING = { id: "555000111", code: "K7P2QX9M", createdAt: "2026-12-06T10:00:00.000Z", lastSeenAt: "2026-12-06T10:00:00.000Z", meta: { senderId: "555000111", username: "alice" } };
  function launcherStandIn(dir: string) {
    const file = (n: string) => join(dir, n);
    return setInterval(() => {
      if (!existsSync(file(".botfleet-pairing-request")) || existsSync(file(".botfleet-pairing-result"))) return;
      const [id, action, channel, code] = readFileSync(file(".botfleet-pairing-request"), "utf8").trim().split(" ");
      const approved = action === "approve" && code === WAITING.code;
      const stdout = action === "list" ? JSON.stringify({ channel, requests: [WAITING] }, null, 2) + "\n" : approved ? `Approved ${channel} sender ${WAITING.meta.senderId}.\n` : "";
      const stderr =
        action === "approve" && !approved
          ? `[openclaw] The CLI command failed.\n[openclaw] Reason: No pending pairing request found for code "${code}". Run openclaw pairing list --channel ${channel} to list pending requests.\n`
          : "";
      writeFileSync(file(".botfleet-pairing-result.stdout"), stdout);
      writeFileSync(file(".botfleet-pairing-result.stderr"), stderr);
      writeFileSync(file(".botfleet-pairing-result"), `${id}\n${action === "list" || approved ? 0 : 1}\n`);
    }, 300);
  }

  test("list and approve through the running bot's state-sync, in the launcher's words; what cannot pair says why", async () => {
    const running = runningBot(`gcs:${bucket}`, { GCE_METADATA_HOST: `127.0.0.1:${gcs.port}`, STATE_SYNC_GCS_ENDPOINT: `http://127.0.0.1:${gcs.port}` });
    const launcher = launcherStandIn(running.dir);
    try {
      await running.sync.waitFor(/state ready/, "state-sync starts");
      const list = await botfleet(["pairing", "list", "bot-run"], gcpEnv());
      expect(list.stderr).not.toContain("botfleet:");
      expect(list).toMatchObject({ code: 0 });
      expect(list.stdout).toBe("CODE      SENDER     NAME   ASKED (UTC)\nK7P2QX9M  555000111  alice  2026-12-06T10:00:00.000Z\napprove one with: npx botfleet pairing approve bot-run <code>\n");
      expect(JSON.parse((await botfleet(["pairing", "list", "bot-run", "--json"], gcpEnv())).stdout)).toEqual({ bot: "bot-run", channel: "telegram", requests: [WAITING] });
      expect(await botfleet(["pairing", "approve", "bot-run", "K7P2QX9M"], gcpEnv())).toMatchObject({ code: 0, stdout: "Approved telegram sender 555000111.\n" });
      expect(await botfleet(["pairing", "approve", "bot-run", "WRONG234"], gcpEnv())).toMatchObject({
        code: 1,
        stderr: expect.stringContaining('\nbotfleet: bot-run: No pending pairing request found for code "WRONG234". Run openclaw pairing list --channel telegram to list pending requests.\n'),
      });
      expect(running.sync.log).toMatch(/pairing asked for \([^)]+\): approve on telegram/);
      // Each request is deleted once answered; the last answer stays.
      const stored = [...gcs.objects.keys()].filter((k) => k.startsWith(bucket));
      expect(stored.filter((k) => k.endsWith("botfleet-state/pairing.json"))).toEqual([]);
      expect(stored.filter((k) => k.endsWith("botfleet-state/pairing-result.json"))).toHaveLength(1);
    } finally {
      clearInterval(launcher);
      await running.stop();
    }
    expect(await botfleet(["pairing", "approve", "bot-run", "not a code"], gcpEnv())).toMatchObject({ code: 2, stderr: expect.stringContaining('"not a code" is not a pairing code') });
    expect(await botfleet(["pairing", "list", "bot-app"], azureEnv())).toMatchObject({
      code: 2,
      stderr: expect.stringContaining("bot-app has no channel whose DMs wait for pairing (telegram: allowlist): set channels.<channel>.dmPolicy: pairing in the fleet file"),
    });
    // Nothing running: the request waits, the command says so when its time runs out.
    expect(await botfleet(["pairing", "list", "bot-run", "--timeout", "3"], gcpEnv())).toMatchObject({
      code: 6,
      stderr: expect.stringContaining("bot-run did not answer within 3 s. The request stays in the store"),
    });
  });
});

describe("botfleet logs", () => {
  const subscription = "00000000-1111-2222-3333-444444444444";
  const shared = azureSharedNames("ops", "eastus2", fleet.azure.uniqueSuffix);
  const workspace = `subscriptions/${subscription}/resourceGroups/${shared.resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/${shared.logAnalytics}`;
  const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
  const env = () => ({ ...azureEnv(), ARM_SUBSCRIPTION_ID: subscription });
  let lines = 0;
  /** A line of the Cloud Run bot's agent container in revision 7, written and taken in `minutes` ago. */
  const agentLine = (minutes: number, text: string): StandInEntry => ({
    insertId: `line-${++lines}`,
    logName: "projects/ops-project/logs/run.googleapis.com%2Fstderr",
    resource: { type: "cloud_run_revision", labels: { service_name: gcpBotNames("ops", "ops-project", "bot-run").service, location: "us-central1", revision_name: "ops-bot-run-00007-abc" } },
    labels: { container_name: "agent", instanceId: "0069c7a988" },
    timestamp: ago(minutes),
    receiveTimestamp: ago(minutes),
    textPayload: text,
  });

  test("a VM bot: its agent unit's syslog lines from the region's workspace, oldest first; --all adds the rest of its VM's, each with its tag", async () => {
    // The stand-ins serve the whole file (`botfleet status` reads managed bots' logs too): this test's requests only.
    const firstRequest = logAnalytics.requests.length;
    const vm = (minutes: number, tag: string, text: string, group = "rg-ops-bot-vm") => ({
      TimeGenerated: ago(minutes),
      ingested: ago(minutes - 1),
      // As the Azure Monitor Agent tags a scale set VM's rows: lower case, the scale set's group.
      _ResourceId: `/subscriptions/${subscription}/resourcegroups/${group}/providers/microsoft.compute/virtualmachinescalesets/vmss-ops-bot-vm/virtualmachines/0`,
      ProcessName: tag,
      SyslogMessage: text,
    });
    logAnalytics.add(
      workspace,
      "Syslog",
      vm(30, "run-agent.sh", "[gateway] listening on ws://0.0.0.0:18789"),
      vm(50, "fetch-secrets.sh", "botfleet: secrets fetched from Key Vault"),
      vm(20, "update.sh", "update: release 3f1c2b9a0d4e is running"),
      vm(10, "run-agent.sh", `[telegram] message from 123: it's "quoted" ünïcødé`),
      vm(5, "run-agent.sh", "another bot's VM", "rg-ops-bot-other"),
      vm(180, "run-agent.sh", "older than --since"),
    );
    const agent = await botfleet(["logs", "bot-vm", "--since", "2h"], env());
    expect(agent.stderr).toBe("");
    expect(agent.code).toBe(0);
    expect(agent.stdout.split("\n")).toEqual([
      expect.stringMatching(/^\S+Z {2}botfleet: secrets fetched from Key Vault$/),
      expect.stringMatching(/^\S+Z {2}\[gateway\] listening on ws:\/\/0\.0\.0\.0:18789$/),
      expect.stringMatching(/^\S+Z {2}\[telegram\] message from 123: it's "quoted" ünïcødé$/),
      "",
    ]);
    const all = await botfleet(["logs", "bot-vm", "--since", "2h", "--all", "--lines", "3"], env());
    expect(all.stdout.split("\n").map((l) => l.split("  ").slice(1).join("  "))).toEqual([
      "run-agent.sh  [gateway] listening on ws://0.0.0.0:18789",
      "update.sh  update: release 3f1c2b9a0d4e is running",
      `run-agent.sh  [telegram] message from 123: it's "quoted" ünïcødé`,
      "",
    ]);
    const json = await botfleet(["logs", "bot-vm", "--since", "15m", "--json"], env());
    expect(JSON.parse(json.stdout)).toEqual({ time: expect.any(String), source: "run-agent.sh", text: `[telegram] message from 123: it's "quoted" ünïcødé` });
    const query = logAnalytics.requests.slice(firstRequest).find((r) => r.method === "POST")!;
    expect(query.path).toBe(`/v1/${workspace}/query`);
    expect(query.authorization).toMatch(/^Bearer /);
    expect(JSON.parse(query.body).query.split("\n")).toEqual([
      "Syslog",
      '| where _ResourceId contains "/resourcegroups/rg-ops-bot-vm/"',
      '| where ProcessName in ("boot.sh", "fetch-secrets.sh", "run-agent.sh")',
      expect.stringMatching(/^\| where TimeGenerated >= datetime\(\S+Z\)$/),
      "| extend Received = ingestion_time()",
      "| project TimeGenerated, Received, Source = ProcessName, Text = SyslogMessage",
      "| top 200 by TimeGenerated desc",
    ]);
  });

  test("a Container Apps bot: its agent container's console lines; a table not there yet, or no subscription, says so", async () => {
    const none = await botfleet(["logs", "bot-app"], env());
    expect(none).toMatchObject({
      code: 5,
      stderr: expect.stringContaining(
        `no log lines of bot-app in the workspace ${shared.logAnalytics} yet: its table ContainerAppConsoleLogs_CL exists once the environment's first container has written a line`,
      ),
    });
    const line = (minutes: number, app: string, container: string, text: string) => ({
      TimeGenerated: ago(minutes),
      ingested: ago(minutes - 2),
      ContainerAppName_s: app,
      ContainerName_s: container,
      Log_s: `${text}\n`,
    });
    logAnalytics.add(
      workspace,
      "ContainerAppConsoleLogs_CL",
      line(40, "bot-app", "agent", "botfleet: starting release 3f1c2b9a0d4e: openclaw gateway"),
      line(39, "bot-app", "state-sync", "state-sync: holding the lease"),
      line(38, "bot-other", "agent", "another app"),
    );
    const r = await botfleet(["logs", "bot-app", "--all"], env());
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\S+Z {2}agent {2}botfleet: starting release 3f1c2b9a0d4e: openclaw gateway\n\S+Z {2}state-sync {2}state-sync: holding the lease\n$/);
    expect(await botfleet(["logs", "bot-app"], { ...env(), ARM_SUBSCRIPTION_ID: "" })).toMatchObject({ code: 2, stderr: expect.stringContaining("set ARM_SUBSCRIPTION_ID, as for a deploy") });
    expect(await botfleet(["logs", "bot-app", "--since", "soon"], env())).toMatchObject({ code: 2, stderr: expect.stringContaining('--since "soon" is not a time') });
  });

  test("a Cloud Run bot: --follow prints each line once as Cloud Logging takes it in, late ones too", async () => {
    const firstRequest = cloudLogging.requests.length;
    const service = gcpBotNames("ops", "ops-project", "bot-run").service;
    let n = 0;
    const entry = (writtenAgo: number, receivedAgo: number, container: string, text: string, serviceName = service): StandInEntry => ({
      insertId: `e${++n}`,
      logName: "projects/ops-project/logs/run.googleapis.com%2Fstdout",
      resource: { type: "cloud_run_revision", labels: { service_name: serviceName, location: "us-central1", revision_name: `${serviceName}-00001-abc` } },
      labels: { container_name: container, instanceId: "0069c7a988" },
      timestamp: ago(writtenAgo),
      receiveTimestamp: ago(receivedAgo),
      textPayload: text,
    });
    // state-sync's lines come from its sidecar, or (a light bot) from the agent's own container.
    cloudLogging.entries.push(
      entry(20, 19, "agent", "[gateway] ready"),
      entry(19, 18, "state-sync", "2026-12-06T10:00:00.000Z state-sync: snapshot taken"),
      entry(19, 18, "agent", "2026-12-06T10:00:01.000Z state-sync: lease renewed"),
      entry(18, 17, "agent", "not this bot", "ops-bot-other"),
      // A revision of one container may leave container_name out: the agent's line all the same.
      { ...entry(18.5, 17.5, "agent", "[gateway] from a one-container revision"), labels: { instanceId: "0069c7a988" } },
    );
    const logs = spawn(NODE24, [join(ROOT, "bin", "botfleet.js"), "--fleet", fleetFile, "logs", "bot-run", "--follow", "--every", "1"], {
      cwd: work,
      env: { PATH: process.env.PATH, HOME: work, ...gcpEnv(), BOTFLEET_LOGGING_ENDPOINT: `http://127.0.0.1:${cloudLogging.port}` },
    });
    let out = "";
    logs.stdout.on("data", (d) => (out += d));
    logs.stderr.on("data", (d) => (out += d));
    try {
      await until(() => out.includes("[gateway] ready"), "the first line", 30_000);
      // Written 5 minutes ago, taken in only now: a follow by write time would never print it.
      cloudLogging.entries.push(entry(5, 0, "agent", "[telegram] late line"));
      await until(() => out.includes("late line"), "the late line", 30_000);
      cloudLogging.entries.push(entry(0, 0, "agent", "[telegram] new line"));
      await until(() => out.includes("new line"), "the new line", 30_000);
      await sleep(2500);
      expect(out.split("\n").map((l) => l.replace(/^\S+Z {2}/, ""))).toEqual(["[gateway] ready", "[gateway] from a one-container revision", "[telegram] late line", "[telegram] new line", ""]);
    } finally {
      logs.kill("SIGINT");
    }
    const list = JSON.parse(cloudLogging.requests.slice(firstRequest).find((r) => r.path === "/v2/entries:list")!.body);
    expect(list).toMatchObject({ resourceNames: ["projects/ops-project"], orderBy: "timestamp desc", pageSize: 200 });
    expect(list.filter).toMatch(
      new RegExp(
        `^resource\\.type="cloud_run_revision" AND resource\\.labels\\.service_name="${service}" AND timestamp>="\\S+Z" AND \\(logName="projects/ops-project/logs/run\\.googleapis\\.com%2Fstdout" OR logName="projects/ops-project/logs/run\\.googleapis\\.com%2Fstderr"\\) AND \\(labels\\.container_name="agent" OR NOT labels\\.container_name:\\*\\) AND NOT textPayload:" state-sync: "$`,
      ),
    );
    expect(cloudLogging.requests.every((r) => r.authorization === "Bearer stand-in-token")).toBe(true);
    // Pages shorter than asked, each with a token for the next: read on up to --lines.
    cloudLogging.pageLimit = 1;
    const paged = await botfleet(["logs", "bot-run", "--lines", "2"], { ...gcpEnv(), BOTFLEET_LOGGING_ENDPOINT: `http://127.0.0.1:${cloudLogging.port}` });
    expect(paged.stdout.split("\n").map((l) => l.replace(/^\S+Z {2}/, ""))).toEqual(["[telegram] late line", "[telegram] new line", ""]);
    cloudLogging.pageLimit = 1000;
    cloudLogging.denied = true;
    const denied = await botfleet(["logs", "bot-run"], { ...gcpEnv(), BOTFLEET_LOGGING_ENDPOINT: `http://127.0.0.1:${cloudLogging.port}` });
    expect(denied).toMatchObject({ code: 4, stderr: expect.stringContaining(`not allowed (`) });
    expect(denied.stderr).toContain("Your identity needs roles/logging.viewer on the project ops-project.");
    cloudLogging.denied = false;
  });

  // Issue 36: no updater runs beside a managed bot to tell its condition, so `botfleet status`
  // derives it by the VM updater's rules: here, a chat channel's failures in the log service.
  // Issue 34: the deploy workflow waits for the launcher's gate on the release it deployed, and
  // rolls back (the previous commit's stack, the state from before) when it failed.
  test("release wait: the gate's verdict on the release deployed, from the log service since the deploy; failed is exit 1 with the rollback line; undecided runs out (exit 6); a VM gates itself", async () => {
    const name = "projects/ops-project/locations/us-central1/services/ops-bot-run";
    const wait = (since: string, timeout = "30") => botfleet(["release", "wait", "bot-run", "--since", since, "--timeout", timeout], gcpEnv());
    const line = agentLine;
    cloudLogging.entries.push(
      line(40, "botfleet: RELEASE FAILED: aaaaaaaaaaaa: not healthy within 80 s (an earlier deploy of the same release)"),
      line(3, "botfleet: release aaaaaaaaaaaa HEALTHY: passed its health gate (2 checks in a row) 21 s after its start"),
      line(2, "botfleet: RELEASE FAILED: bbbbbbbbbbbb: not healthy within 80 s of its start"),
      line(
        2,
        "botfleet: ROLLED BACK to release aaaaaaaaaaaa: release bbbbbbbbbbbb failed: not healthy within 80 s of its start (image ghcr.io/openclaw/openclaw:2026.9.7; the good release ran on ghcr.io/openclaw/openclaw:2026.9.6)",
      ),
    );
    cloudRun.services.set(name, { latestCreated: "ops-bot-run-00009-abc", release: "aaaaaaaaaaaa" });
    const healthy = await wait("10m");
    expect(healthy).toMatchObject({ code: 0, stdout: expect.stringMatching(/^bot-run: release aaaaaaaaaaaa HEALTHY \(.*\): botfleet: release aaaaaaaaaaaa HEALTHY/) });
    cloudRun.services.set(name, { latestCreated: "ops-bot-run-00010-def", release: "bbbbbbbbbbbb" });
    const failed = await wait("10m");
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain("bot-run: release bbbbbbbbbbbb FAILED its health gate: botfleet: RELEASE FAILED: bbbbbbbbbbbb: not healthy within 80 s of its start");
    expect(failed.stderr).toContain("botfleet: ROLLED BACK to release aaaaaaaaaaaa: release bbbbbbbbbbbb failed");
    // Since after the verdict: nothing decided yet for the run that counts.
    const undecided = await wait("1m", "2");
    expect(undecided.code).toBe(6);
    expect(undecided.stderr).toContain("bot-run: release bbbbbbbbbbbb has not passed or failed its health gate within 2 s");
    const vm = await botfleet(["release", "wait", "bot-vm", "--since", "1m"], azureEnv());
    expect(vm).toMatchObject({ code: 0, stdout: expect.stringContaining("bot-vm: its VM's updater gates each release and rolls back by itself") });
    cloudLogging.entries.length = 0;
    cloudRun.services.clear();
  });

  test("a Cloud Run bot's status: a chat channel's failures of the last 10 minutes make it degraded, with the last line", async () => {
    const name = "projects/ops-project/locations/us-central1/services/ops-bot-run";
    cloudRun.services.set(name, { latestCreated: "ops-bot-run-00007-abc", release: "9a8b7c6d5e4f" });
    storeReport("running");
    const line = agentLine;
    cloudLogging.entries.push(
      line(30, "[telegram] getUpdates conflict: 409 (before the window)"),
      line(3, "[telegram] getUpdates conflict: 409 Conflict: terminated by other getUpdates request"),
      line(2, "[telegram] polling cycle error: fetch failed"),
      line(1, "[telegram] message from 123"),
    );
    const r = await botfleet(["status", "bot-run", "--json"], gcpEnv());
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)[0].platform.condition).toEqual({ state: "degraded", reasons: ["a chat channel failed 2 times in 10 min, last: [telegram] polling cycle error: fetch failed"] });
    const table = await botfleet(["status", "bot-run"], gcpEnv());
    expect(table.stdout).toMatch(/^bot-run\s+gcp-cloud-run\s+us-central1\s+9a8b7c6d5e4f\s+degraded\s/m);
    expect(table.stdout).toContain("bot-run: degraded: a chat channel failed 2 times in 10 min, last: [telegram] polling cycle error: fetch failed");
    // No right to read the logs: said for the bot, the rest of its status shown, never "ready".
    cloudLogging.denied = true;
    const denied = await botfleet(["status", "bot-run", "--json"], gcpEnv());
    cloudLogging.denied = false;
    expect(denied.code).toBe(0);
    const [row] = JSON.parse(denied.stdout);
    expect(row.platform).toEqual({ desired: "9a8b7c6d5e4f", running: "9a8b7c6d5e4f", phase: "running", detail: "revision ops-bot-run-00007-abc" });
    expect(row.errors).toEqual([expect.stringMatching(/^its log \(chat channels' failures, releases that failed\) could not be read: .*roles\/logging\.viewer/)]);
    cloudRun.services.clear();
  });
});

describe("botfleet's errors", () => {
  test("each kind of failure says what and how to fix it, with its own exit code", async () => {
    const unknown = await botfleet(["status", "bot-vn"], azureEnv());
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.stderr).toContain('no bot "bot-vn" in the fleet ops; did you mean "bot-vm"?');
    const early = await botfleet(["backups", "restore", "bot-app", "--at", "2001-01-01T00:00:00Z", "--yes"], azureEnv());
    expect(early).toMatchObject({ code: 5 });
    expect(early.stderr).toContain(`/${account("bot-app")}/state does not exist: the bot's stack creates it. Is the bot deployed`);
    const badTime = await botfleet(["backups", "restore", "bot-app", "--at", "yesterday", "--yes"], azureEnv());
    expect(badTime).toMatchObject({ code: 2 });
    expect(badTime.stderr).toContain('--at "yesterday" is not a time');
    const help = await botfleet(["backups", "restore", "--help"], {});
    expect(help).toMatchObject({ code: 0 });
    expect(help.stdout).toMatch(/--at <time>[\s\S]*Exit codes:\n {2}0 {2}done/);
    const verb = await botfleet(["reboot", "bot-vm"], {});
    expect(verb.code).toBe(2);
    // No Azure CLI on this machine and no ARM_* variables: not signed in.
    const signedOut = await botfleet(["backups", "list", "bot-vm"], { BOTFLEET_AZURE_BLOB_URL: azureEnv().BOTFLEET_AZURE_BLOB_URL, NODE_EXTRA_CA_CERTS: tls.cert });
    expect(signedOut.code).toBe(3);
    expect(signedOut.stderr).toContain("not signed in to Azure");
    expect(signedOut.stderr).toContain("Sign in with `az login`");
  });
});
