import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { renderVmBootstrap, SANDBOX } from "../bootstrap/azure-vm";
import { openclaw } from "../runtimes/openclaw";
import { exampleFleet } from "../__tests__/support/fleet";
import { layOutVmFiles } from "../__tests__/support/vm";
import { cli, doctorFindings, freePort, httpGet, liveInstall, requirePrivateNetwork, startGateway, token, type Gateway } from "./support";

/**
 * The tool sandbox config a VM renders, in the pinned OpenClaw gateway (issue 20). There is no
 * Docker engine here: what this shows is that the gateway and its CLI load the config, report the
 * sandbox as configured, and keep serving while the daemon behind DOCKER_HOST does not answer (as
 * on a VM whose sandbox daemon is down). It cannot show a tool running in a sandbox container,
 * Sysbox, or the socket's permissions: those need a VM.
 */
requirePrivateNetwork();

const fleet = exampleFleet();
const bot = fleet.bots.find((b) => b.name === "bot-alpha")!;
/** A group chat: not the main session, so `non-main` sandboxes it. */
const GROUP_SESSION = "agent:main:telegram:group:-1001234567890";

/** The state boot.sh's config step writes on a fresh VM, with the sandbox on or off at run time. */
function vmState(sandboxOff: boolean) {
  const root = layOutVmFiles(renderVmBootstrap(fleet, bot, openclaw), "botfleet-live-sandbox-");
  if (sandboxOff) {
    mkdirSync(dirname(join(root, SANDBOX.offMarker)), { recursive: true });
    writeFileSync(join(root, SANDBOX.offMarker), "Sysbox is not installed (step sysbox logged why)\n");
  }
  const r = spawnSync("bash", [join(root, "usr/local/lib/botfleet/boot.sh"), "config"], {
    env: { PATH: process.env.PATH, BOTFLEET_ROOT: root, BOTFLEET_LIB: join(root, "usr/local/lib/botfleet") },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`boot.sh config: ${r.stderr}`);
  const stateDir = join(root, "var/lib/botfleet/state");
  const gatewayToken = token();
  const env: NodeJS.ProcessEnv = {
    HOME: root,
    ...openclaw.environment(bot),
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_GATEWAY_TOKEN: gatewayToken,
    ANTHROPIC_API_KEY: "test-llm-api-key-value",
    TELEGRAM_BOT_TOKEN: `123456789:AAE${"example".repeat(5)}`.slice(0, 45),
    // What run-agent.sh sets, pointing at a socket nothing listens on.
    DOCKER_HOST: `unix://${join(root, SANDBOX.socketDir, SANDBOX.socketName)}`,
  };
  return { root, stateDir, env, log: r.stderr };
}

function explain(env: NodeJS.ProcessEnv) {
  const r = cli(["sandbox", "explain", "--session", GROUP_SESSION, "--json"], env);
  const start = r.output.indexOf("{");
  if (r.status !== 0 || start < 0) throw new Error(`sandbox explain: ${r.output}`);
  return JSON.parse(r.output.slice(start, r.output.lastIndexOf("}") + 1)).sandbox;
}

describe("sandbox on (Sysbox up)", () => {
  const vm = vmState(false);
  let gateway: Gateway;
  let port = 0;

  beforeAll(async () => {
    const install = liveInstall();
    port = await freePort();
    gateway = await startGateway([install.node, "openclaw.mjs", ...openclaw.command.slice(2).map((a) => (a === String(openclaw.port) ? String(port) : a))], {
      cwd: install.pkg,
      env: vm.env,
      port,
      stateDir: vm.stateDir,
    });
  });

  afterAll(() => {
    gateway?.stop();
    if (gateway) process.stdout.write(`\n--- gateway log: ${bot.name} with its tool sandbox on\n${gateway.log()}\n`);
  });

  test("the rendered config carries the sandbox: non-main, Docker backend, no network", () => {
    expect(JSON.parse(readFileSync(join(vm.stateDir, "openclaw.json"), "utf8")).agents.defaults.sandbox).toEqual({
      mode: "non-main",
      backend: "docker",
      scope: "agent",
      workspaceAccess: "none",
      // bot-alpha is standard: each sandbox gets SANDBOX_LIMITS.standard inside the agent's share.
      docker: { image: "openclaw-sandbox:bookworm-slim", network: "none", readOnlyRoot: true, capDrop: ["ALL"], cpus: 1, memory: "1g", pidsLimit: 256 },
    });
  });

  test("the gateway loads it with no config warning and serves /healthz while the sandbox daemon does not answer", async () => {
    const log = gateway.log();
    expect(log).toContain("http server listening");
    expect(log.split("\n").filter((l) => l.includes("[config] warnings") || /invalid config/i.test(l))).toEqual([]);
    const r = await httpGet(port, openclaw.healthPath);
    expect(r.status).toBe(200);
  });

  test("the gateway's CLI reports a group chat as sandboxed in Docker, and lists no sandbox containers without an engine", () => {
    expect(explain(vm.env)).toMatchObject({ mode: "non-main", backend: "docker", scope: "agent", workspaceAccess: "none", sessionIsSandboxed: true });
    const list = cli(["sandbox", "list", "--json"], vm.env);
    expect(list.status).toBe(0);
    expect(JSON.parse(list.output.slice(list.output.indexOf("{"), list.output.lastIndexOf("}") + 1))).toEqual({ containers: [], browsers: [] });
  });

  test("doctor's only word on the sandbox: the skill workshop is not offered inside sandboxed (non-main) sessions", () => {
    // By the check or config key they name: gateway-health's text (the CLI cannot reach this
    // test's gateway on the default port) matches the word too.
    const findings = doctorFindings(vm.env).filter((f) => /sandbox/i.test(`${f.checkId} ${f.path ?? ""}`));
    expect(findings.map((f) => `${f.checkId} ${f.path}`)).toEqual(["core/doctor/skill-workshop-tool-policy agents.defaults.sandbox.mode"]);
  });
});

test("sandbox off at run time (Sysbox failed): the config step takes the sandbox-off config, and the CLI reports no sandbox", () => {
  const vm = vmState(true);
  expect(vm.log).toContain("config: tool sandbox OFF: Sysbox is not installed");
  expect(JSON.parse(readFileSync(join(vm.stateDir, "openclaw.json"), "utf8")).agents.defaults.sandbox).toEqual({ mode: "off" });
  expect(explain(vm.env)).toMatchObject({ mode: "off", sessionIsSandboxed: false });
});
