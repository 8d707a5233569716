import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { renderVmBootstrap } from "../bootstrap/azure-vm";
import { openclaw } from "../runtimes/openclaw";
import { AzureStandIn, secretValue } from "./support/azure-stand-in";
import { exampleFleet } from "./support/fleet";
import { run } from "./support/tools";
import { layOutVmFiles } from "./support/vm";

// The rendered script for bot-alpha, laid out as cloud-init writes it: nothing is copied or edited.
const fleet = exampleFleet();
const bootstrap = renderVmBootstrap(fleet, fleet.bots[0], openclaw);
const HOSTILE = `q"uo'te $HOME \`id\` $(id) & / | \\ ; #\nsecond line\n☕ 日本語 `;

let standIn: AzureStandIn;
let endpoint: string;
let root: string;

beforeEach(async () => {
  standIn = new AzureStandIn();
  endpoint = await standIn.start();
  root = layOutVmFiles(bootstrap, "botfleet-secrets-");
  mkdirSync(join(root, "etc/botfleet"), { recursive: true });
});
afterEach(() => standIn.stop());

const envFile = () => join(root, "etc/botfleet/secrets.env");
const waitingMarker = () => join(root, "run/botfleet/waiting-for-secrets");

function fetchSecrets(extraEnv: Record<string, string> = {}): Promise<{ status: number | null; log: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", [join(root, "usr/local/lib/botfleet/fetch-secrets.sh")], {
      env: {
        PATH: process.env.PATH,
        BOTFLEET_LIB: join(root, "usr/local/lib/botfleet"),
        IMDS_ENDPOINT: endpoint,
        KEY_VAULT_URL: endpoint,
        SECRETS_ENV_FILE: envFile(),
        WAITING_MARKER: waitingMarker(),
        RETRY_ATTEMPTS: "4",
        RETRY_BASE_DELAY: "0",
        HTTP_TIMEOUT: "2",
        ...extraEnv,
      },
    });
    let log = "";
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    child.on("close", (status) => resolve({ status, log }));
  });
}

/** The variables a POSIX shell gets from sourcing the env file, exactly. */
function sourced(names: string[]): Record<string, string | null> {
  const script = `set -a; . "$1"; set +a; for n in ${names.join(" ")}; do if [ -n "\${!n+x}" ]; then printf '%s=%s\\0' "$n" "\${!n}"; else printf '%s\\0' "$n"; fi; done`;
  const r = run("bash", ["-c", script, "sourced", envFile()]);
  return Object.fromEntries(
    r.output
      .split("\0")
      .filter(Boolean)
      .map((entry) => {
        const i = entry.indexOf("=");
        return i < 0 ? [entry, null] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
  );
}

function allRequiredSet() {
  standIn.secrets = {
    "bot-alpha--gateway-token": secretValue("gw-token-123"),
    "bot-alpha--llm-api-key": secretValue(HOSTILE),
    "bot-alpha--telegram-bot-token": secretValue("123456:ABC-def_ghi"),
  };
}

test("writes the env file with mode 0600 and the exact values, hostile ones included", async () => {
  allRequiredSet();
  standIn.secrets["bot-alpha--search-api-key"] = secretValue("brave-key");
  const r = await fetchSecrets();
  expect(r.log).toContain("secrets: wrote");
  expect(r.status).toBe(0);
  expect(statSync(envFile()).mode & 0o777).toBe(0o600);
  expect(sourced(["OPENCLAW_GATEWAY_TOKEN", "ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN", "BRAVE_API_KEY"])).toEqual({
    OPENCLAW_GATEWAY_TOKEN: "gw-token-123",
    ANTHROPIC_API_KEY: HOSTILE,
    TELEGRAM_BOT_TOKEN: "123456:ABC-def_ghi",
    BRAVE_API_KEY: "brave-key",
  });
  expect(r.log).not.toContain("gw-token-123");
});

test("asks IMDS for a Key Vault token of the bot's own identity, with the Metadata header", async () => {
  allRequiredSet();
  await fetchSecrets();
  const token = standIn.requests.find((q) => q.path.startsWith("/metadata/identity/oauth2/token"))!;
  const query = new URL(token.path, "http://x").searchParams;
  expect(query.get("resource")).toBe("https://vault.azure.net");
  expect(query.get("msi_res_id")).toBe("/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-demo-bot-alpha/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-bot-alpha");
  expect(token.headers.metadata).toBe("true");
});

test("retries with backoff while the token endpoint answers 5xx, is not yet there, or times out", async () => {
  allRequiredSet();
  standIn.tokenReplies = [
    { status: 500, body: { error: "internal" } },
    { status: 400, body: { error: "invalid_request", error_description: "Identity not found" } },
    { status: 200, body: { access_token: "stand-in-token" }, delayMs: 3000 },
    { status: 200, body: { access_token: "stand-in-token" } },
  ];
  const r = await fetchSecrets({ RETRY_BASE_DELAY: "1", RETRY_MAX_DELAY: "2" });
  expect(r.status).toBe(0);
  expect(standIn.tokenRequests()).toBe(4);
  expect(r.log).toContain("identity token for https://vault.azure.net: HTTP 500");
  expect(r.log).toContain("HTTP 400 Identity not found");
  expect(r.log).toContain("no answer from the instance metadata service");
  const at = standIn.requests.filter((q) => q.path.startsWith("/metadata/identity")).map((q) => q.at);
  // Pauses of 1 s, 2 s, 2 s (capped), plus the 2 s timeout of the third try.
  expect(at[1] - at[0]).toBeGreaterThanOrEqual(900);
  expect(at[2] - at[1]).toBeGreaterThanOrEqual(1900);
  expect(at[3] - at[2]).toBeGreaterThanOrEqual(3900);
}, 30000);

test("gives up with a clear log line after its limit when no token ever comes", async () => {
  allRequiredSet();
  standIn.tokenReplies = [{ status: 503, body: { error: "unavailable" } }];
  const r = await fetchSecrets();
  expect(r.status).not.toBe(0);
  expect(standIn.tokenRequests()).toBe(4);
  expect(r.log).toContain("Key Vault token: giving up after 4 attempts");
  expect(r.log).toContain("FAILED: secrets: no token for Key Vault; is identity id-bot-alpha assigned to this scale set?");
  expect(existsSync(envFile())).toBe(false);
});

test("a 403 from Key Vault is reported as a role-assignment problem", async () => {
  allRequiredSet();
  standIn.secrets["bot-alpha--llm-api-key"] = { status: 403, body: { error: { code: "Forbidden" } } };
  const r = await fetchSecrets();
  expect(r.status).not.toBe(0);
  expect(r.log).toContain(
    "required secret bot-alpha--llm-api-key forbidden (HTTP 403): a role-assignment problem; identity id-bot-alpha needs 'Key Vault Secrets User' on the secret bot-alpha--llm-api-key",
  );
});

test("a missing optional secret does not stop the bot", async () => {
  allRequiredSet();
  const r = await fetchSecrets();
  expect(r.status).toBe(0);
  expect(r.log).toContain("optional secret bot-alpha--search-api-key missing from Key Vault kv-demo-9541b8");
  expect(r.log).toContain("starting without it");
  expect(sourced(["BRAVE_API_KEY", "TELEGRAM_BOT_TOKEN"])).toEqual({ BRAVE_API_KEY: null, TELEGRAM_BOT_TOKEN: "123456:ABC-def_ghi" });
});

test("a missing or unset required secret makes the bot wait: it says how to set it, marks the wait for Caddy's /health, and keeps the previous env file", async () => {
  writeFileSync(envFile(), "OLD=1\n", { mode: 0o600 });
  allRequiredSet();
  delete standIn.secrets["bot-alpha--telegram-bot-token"];
  standIn.secrets["bot-alpha--llm-api-key"] = secretValue("BOTFLEET_UNSET");
  const r = await fetchSecrets();
  expect(r.status).not.toBe(0);
  expect(r.log).toContain("required secret bot-alpha--llm-api-key not set yet (az keyvault secret set --vault-name kv-demo-9541b8 --name bot-alpha--llm-api-key --file <file>)");
  expect(r.log).toContain("required secret bot-alpha--telegram-bot-token missing from Key Vault kv-demo-9541b8");
  expect(r.log).toContain("secrets: WAITING: the bot starts once these are set in Key Vault kv-demo-9541b8 (checked every 30 s): bot-alpha--llm-api-key bot-alpha--telegram-bot-token");
  expect(r.log).not.toContain("FAILED");
  expect(readFileSync(envFile(), "utf8")).toBe("OLD=1\n");
  expect(readFileSync(waitingMarker(), "utf8")).toBe("bot-alpha--llm-api-key\nbot-alpha--telegram-bot-token\n");
  // Caddy (user caddy) looks for the marker: the directory this script made under its umask 077
  // was 0700 root, so /health proxied to the stopped gateway (502) and the VM was reimaged.
  expect(statSync(dirname(waitingMarker())).mode & 0o777).toBe(0o755);
  expect(statSync(waitingMarker()).mode & 0o777).toBe(0o644);

  // Once they are set, the next start (every 30 s) fetches them and the wait is over.
  allRequiredSet();
  expect((await fetchSecrets()).status).toBe(0);
  expect(existsSync(waitingMarker())).toBe(false);
});

test("Key Vault 5xx is retried, then the value is written", async () => {
  allRequiredSet();
  let calls = 0;
  const good = standIn.secrets["bot-alpha--gateway-token"];
  Object.defineProperty(standIn.secrets, "bot-alpha--gateway-token", { get: () => (++calls < 3 ? { status: 503, body: {} } : good), enumerable: true });
  const r = await fetchSecrets();
  expect(r.status).toBe(0);
  expect(calls).toBe(3);
  expect(r.log).toContain("secrets: bot-alpha--gateway-token: HTTP 503");
});
