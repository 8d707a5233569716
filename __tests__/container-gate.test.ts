import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AGENT_PROBES } from "../constructs/agent-container";
import { containerLaunch } from "../bootstrap/container";
import { CONTAINER_GATE } from "../contracts";
import { openclaw } from "../runtimes/openclaw";
import { freePort } from "./support/net";
import { ALL_SET, bot, leaseUntil, STAND_IN_CHECK } from "./support/launcher";

/**
 * Issue 34 on Container Apps and Cloud Run: the launcher's health gate after the agent starts
 * (templates/container/launch.sh). The agent is a stand-in that reads the config the launcher
 * wrote: healthy, never answering, or exiting, as the config says. The real gateway behind the
 * same launcher runs in containers/managed.containers.test.ts.
 */
const RELEASES = ".botfleet-releases";

/** The agent: serves 200 at /healthz unless its config says otherwise; logs each start's config. */
const AGENT = `
const fs = require("fs"), http = require("http");
const [configPath, port, log] = process.argv.slice(1);
const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
fs.appendFileSync(log, JSON.stringify(config.channels.telegram.allowFrom) + (config.gateway.botfleetTestNeverHealthy ? " never" : "") + "\\n");
process.on("SIGTERM", () => process.exit(0));
if (config.gateway.botfleetTestExit) setTimeout(() => process.exit(3), 500);
else if (config.gateway.botfleetTestNeverHealthy) setInterval(() => {}, 1000);
else http.createServer((_, res) => res.end("ok")).listen(Number(port), "127.0.0.1");
`;

async function stateDirectory() {
  const stateDir = join(mkdtempSync(join(tmpdir(), "botfleet-gate-")), "state");
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, ".botfleet-state-ready"), leaseUntil(600));
  return { stateDir, port: await freePort(), log: join(stateDir, "..", "agent.log") };
}

/** One container start of the release of `allowFrom` (and a gateway setting that breaks it). */
function start(s: { stateDir: string; port: number; log: string }, allowFrom: string[], gateway: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const runtime = {
    ...openclaw,
    ...STAND_IN_CHECK,
    stateDir: s.stateDir,
    port: s.port,
    httpCheck: [process.execPath, "-e", "fetch(process.argv[1], { signal: AbortSignal.timeout(3000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));"],
    config: (b: typeof bot, g: Parameters<typeof openclaw.config>[1]) => {
      const c = openclaw.config(b, g) as { gateway: Record<string, unknown>; channels: { telegram: { allowFrom: string[] } } };
      return { ...c, gateway: { ...c.gateway, ...gateway }, channels: { ...c.channels, telegram: { ...c.channels.telegram, allowFrom } } };
    },
  };
  const l = containerLaunch(bot, runtime, { trustedProxies: [] }, "");
  const agent = [process.execPath, "-e", AGENT, join(s.stateDir, openclaw.configFile), String(s.port), s.log];
  const child = spawn(l.command[0], [...l.command.slice(1), ...agent], {
    env: {
      PATH: process.env.PATH,
      ...l.environment,
      BOTFLEET_STATE_READY: join(s.stateDir, ".botfleet-state-ready"),
      BOTFLEET_GATE_SECONDS: "6",
      BOTFLEET_GATE_INTERVAL: "1",
      ...env,
      ...ALL_SET,
    },
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const until = async (text: string | RegExp, ms = 30_000) => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (typeof text === "string" ? stderr.includes(text) : text.test(stderr)) return;
    throw new Error(`the launcher never said ${text}; it said:\n${stderr}`);
  };
  const stop = async () => {
    child.kill("SIGTERM");
    return exited;
  };
  return { release: l.environment.BOTFLEET_RELEASE, child, exited, stderr: () => stderr, until, stop };
}

const file = (s: { stateDir: string }, name: string) => readFileSync(join(s.stateDir, RELEASES, name), "utf8");
const agentStarts = (s: { log: string }) => (existsSync(s.log) ? readFileSync(s.log, "utf8").trim().split("\n") : []);

test("the gate fits before the platform's liveness probe would restart an agent that does not answer", () => {
  expect(CONTAINER_GATE.seconds + 5).toBeLessThan(AGENT_PROBES.liveness.periodSeconds * AGENT_PROBES.liveness.failureThreshold);
});

describe("the managed launcher's health gate", () => {
  test("v1 and v2 pass it and become the last good release; v3, never healthy, is rolled back to v2's config with the agent started again, and a restart of v3 runs v2's config at once", async () => {
    const s = await stateDirectory();
    const v1 = start(s, ["1"]);
    await v1.until(`release ${v1.release} HEALTHY`);
    expect(file(s, "good").trim()).toBe(v1.release);
    expect(await v1.stop()).toBe(0);

    const v2 = start(s, ["1", "2"]);
    await v2.until(`release ${v2.release} HEALTHY`);
    expect(file(s, "good").trim()).toBe(v2.release);
    expect(JSON.parse(file(s, "good.config")).channels.telegram.allowFrom).toEqual(["1", "2"]);
    expect(await v2.stop()).toBe(0);

    const v3 = start(s, ["1", "2", "3"], { botfleetTestNeverHealthy: true });
    await v3.until(`ROLLED BACK to release ${v2.release}: release ${v3.release} failed: its agent did not answer its health check 2 times in a row within 6 s of its start`);
    await v3.until(`release ${v2.release} HEALTHY`);
    expect(v3.stderr()).toContain(`botfleet: RELEASE FAILED: ${v3.release}: its agent did not answer`);
    expect(JSON.parse(readFileSync(join(s.stateDir, openclaw.configFile), "utf8")).channels.telegram.allowFrom).toEqual(["1", "2"]);
    expect(file(s, "failed")).toMatch(new RegExp(`^${v3.release} its agent did not answer`, "m"));
    expect(await v3.stop()).toBe(0);
    expect(agentStarts(s)).toEqual(['["1"]', '["1","2"]', '["1","2","3"] never', '["1","2"]']);

    // The platform starts v3's container again (a restart, a new replica): no second try.
    const again = start(s, ["1", "2", "3"], { botfleetTestNeverHealthy: true });
    await again.until(`release ${v2.release} HEALTHY`);
    expect(again.stderr()).toContain(`RELEASE FAILED here before: ${v3.release}`);
    expect(await again.stop()).toBe(0);
    expect(agentStarts(s).slice(4)).toEqual(['["1","2"]']);
  }, 90_000);

  test("an agent that exits before it passed is rolled back; with no good release before it, the failure is said and the agent's exit ends the container", async () => {
    const s = await stateDirectory();
    const first = start(s, ["1"], { botfleetTestExit: true });
    expect(await first.exited).toBe(3);
    expect(first.stderr()).toContain(`RELEASE FAILED: ${first.release}: its agent exited with code 3 before its health gate passed; no other release passed its health gate here to go back to`);

    const good = start(s, ["1", "2"]);
    await good.until(`release ${good.release} HEALTHY`);
    await good.stop();
    const broken = start(s, ["9"], { botfleetTestExit: true });
    await broken.until(`release ${good.release} HEALTHY`);
    expect(broken.stderr()).toContain(`ROLLED BACK to release ${good.release}: release ${broken.release} failed: its agent exited with code 3 before its health gate passed`);
    expect(await broken.stop()).toBe(0);
  }, 90_000);

  test("a release whose agent never answered in two starts that the platform stopped (its liveness probe) failed: the third start runs the last good config", async () => {
    const s = await stateDirectory();
    const good = start(s, ["1"]);
    await good.until(`release ${good.release} HEALTHY`);
    await good.stop();
    for (let i = 0; i < 2; i++) {
      const slow = start(s, ["1", "5"], { botfleetTestNeverHealthy: true });
      await slow.until("botfleet: starting release");
      await new Promise((r) => setTimeout(r, 2000));
      expect(await slow.stop()).toBe(0);
      expect(slow.stderr()).not.toContain("FAILED");
    }
    const third = start(s, ["1", "5"], { botfleetTestNeverHealthy: true });
    await third.until(`release ${good.release} HEALTHY`);
    expect(third.stderr()).toContain(`RELEASE FAILED here before: ${third.release}: never passed its health gate in 2 starts`);
    await third.stop();
  }, 90_000);
});

// Issue 36 on Container Apps and Cloud Run: the launcher watches the container's memory (its
// cgroup; here files of the same names) and restarts the agent gracefully, snapshot first.
describe("the managed launcher's memory watch", () => {
  test("over its threshold at 2 checks in a row, the agent is stopped, a snapshot confirmed in the store, then started again; under it, nothing", async () => {
    const s = await stateDirectory();
    const cgroup = join(s.stateDir, "..", "cgroup");
    mkdirSync(cgroup);
    writeFileSync(join(cgroup, "memory.max"), "1000000000\n");
    writeFileSync(join(cgroup, "memory.current"), "500000000\n");
    const l = start(s, ["1"], {}, { BOTFLEET_CGROUP: cgroup, BOTFLEET_MEMORY_INTERVAL: "1", BOTFLEET_MEMORY_RESTART_CHECKS: "2" });
    await l.until(`release ${l.release} HEALTHY`);
    await new Promise((r) => setTimeout(r, 3000));
    expect(l.stderr()).not.toContain("botfleet: memory:");
    writeFileSync(join(cgroup, "memory.current"), "930000000\n");
    await l.until("botfleet: memory: the container uses 93% of its memory limit (restart at 90% for 2 checks 1 s apart): restarting the agent, snapshot first");
    writeFileSync(join(cgroup, "memory.current"), "300000000\n");
    // As state-sync reports a snapshot taken after the agent stopped.
    await new Promise((r) => setTimeout(r, 1500));
    const at = new Date().toISOString();
    writeFileSync(join(s.stateDir, ".botfleet-state-status.json"), `${JSON.stringify({ phase: "running", storeCurrentAt: at })}\n`);
    await l.until(`botfleet: memory: state snapshot in the store (the store holds the state as of ${at})`);
    await l.until("botfleet: memory: RESTARTED the agent at 93% of its memory limit");
    await l.until(new RegExp(`release ${l.release} HEALTHY[^]*release ${l.release} HEALTHY`));
    expect(agentStarts(s)).toEqual(['["1"]', '["1"]']);
    expect(await l.stop()).toBe(0);
  }, 90_000);
});
