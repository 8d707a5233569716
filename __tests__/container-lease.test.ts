import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { containerLaunch } from "../bootstrap/container";
import { STATE_AGENT_FILE, STATE_PAIRING_DONE, STATE_PAIRING_FILE } from "../bootstrap/state-sync";
import { openclaw } from "../runtimes/openclaw";
import type { AgentRuntime } from "../runtimes/runtime";
import { ALL_SET, bot, leaseUntil, STAND_IN_CHECK } from "./support/launcher";

/**
 * The container launcher (templates/container/launch.sh) beside state-sync: the lease, pairing,
 * and state-sync inside the agent's container. A suite of its own so that jest runs it beside
 * container-launch.test.ts (both spend most of their time waiting on the launcher's timers).
 */
describe("the container launcher and state-sync", () => {
  // Issue 33: a state-sync that lost its lease (or froze) must take its agent down with it, or two
  // instances poll one bot token and one side's writes are thrown away (6 of 6 trials before).
  describe("the agent never outlives state-sync's lease", () => {
    /** The launcher with a ready file valid for a minute and an agent that logs its signals. */
    async function running(overrides: Partial<AgentRuntime> = {}) {
      const stateDir = join(mkdtempSync(join(tmpdir(), "botfleet-lease-")), "state");
      mkdirSync(stateDir, { recursive: true });
      const ready = join(stateDir, ".botfleet-state-ready");
      writeFileSync(ready, leaseUntil(60));
      const l = containerLaunch(bot, { ...openclaw, ...STAND_IN_CHECK, stateDir, ...overrides }, { trustedProxies: [] }, "");
      const log = join(stateDir, "..", "agent.log");
      const agent = [
        process.execPath,
        "-e",
        `const fs = require("fs"); process.on("SIGTERM", () => { fs.appendFileSync(${JSON.stringify(log)}, "SIGTERM\\n"); setTimeout(() => process.exit(0), 6000); }); fs.appendFileSync(${JSON.stringify(log)}, "started\\n"); setInterval(() => {}, 1000);`,
      ];
      const child = spawn(l.command[0], [...l.command.slice(1), ...agent], { env: { PATH: process.env.PATH, ...l.environment, BOTFLEET_STATE_READY: ready, ...ALL_SET } });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      // Until the agent's first line is in (the file exists a moment before it holds it), up to 30 s
      // on a machine that boots a VM beside this suite.
      for (let i = 0; i < 300 && !(existsSync(log) && readFileSync(log, "utf8").includes("started")); i++) await new Promise((r) => setTimeout(r, 100));
      return { stateDir, ready, log, child, exited, stderr: () => stderr, heartbeat: join(stateDir, STATE_AGENT_FILE) };
    }

    test("while the agent runs, its heartbeat is fresh; the ready file removed, the agent gets SIGTERM, the heartbeat lasts until it exited, and the launcher exits 75", async () => {
      const r = await running();
      try {
        expect(readFileSync(r.log, "utf8")).toBe("started\n");
        await new Promise((res) => setTimeout(res, 1500));
        expect(Date.now() - statSync(r.heartbeat).mtimeMs).toBeLessThan(5000);
        rmSync(r.ready);
        const removed = Date.now();
        for (let i = 0; i < 100 && !readFileSync(r.log, "utf8").includes("SIGTERM"); i++) await new Promise((res) => setTimeout(res, 100));
        // Checked every second; bounds loose enough for a loaded 2-core machine.
        expect(Date.now() - removed).toBeLessThan(8000);
        // The agent takes 6 s to stop: the heartbeat is still kept meanwhile (touched every second).
        await new Promise((res) => setTimeout(res, 4500));
        expect(Date.now() - statSync(r.heartbeat).mtimeMs).toBeLessThan(3500);
        expect(await r.exited).toBe(75);
        expect(existsSync(r.heartbeat)).toBe(false);
        expect(r.stderr()).toContain("LEASE NOT HELD");
      } finally {
        r.child.kill("SIGKILL");
      }
    });

    // `botfleet pairing`: state-sync writes the request into the state directory and waits for the
    // answer (state-sync.mjs pairBesideAgent); the runtime's pairing command runs here, as a child
    // of the launcher, with the agent's environment. Stand-in command: reports its arguments.
    test("runs the runtime's pairing command for a request state-sync hands over, and answers with the request's id, the exit status and the output", async () => {
      const pairingCommand = [
        process.execPath,
        "-e",
        'const a = process.argv.slice(1); console.log(JSON.stringify({ argv: a, token: !!process.env.TELEGRAM_BOT_TOKEN })); console.error("said on stderr"); process.exit(a[0] === "approve" ? 1 : 0)',
        "--",
      ];
      const r = await running({ pairingCommand });
      const file = (name: string) => join(r.stateDir, name);
      const answer = async (id: string) => {
        for (let i = 0; i < 200 && !(existsSync(file(STATE_PAIRING_DONE)) && readFileSync(file(STATE_PAIRING_DONE), "utf8").startsWith(`${id}\n`)); i++)
          await new Promise((res) => setTimeout(res, 100));
        const [done, stdout, stderr] = [STATE_PAIRING_DONE, `${STATE_PAIRING_DONE}.stdout`, `${STATE_PAIRING_DONE}.stderr`].map((n) => (existsSync(file(n)) ? readFileSync(file(n), "utf8") : ""));
        // As state-sync does once it has the answer.
        for (const n of [STATE_PAIRING_FILE, STATE_PAIRING_DONE, `${STATE_PAIRING_DONE}.stdout`, `${STATE_PAIRING_DONE}.stderr`]) rmSync(file(n), { force: true });
        return { done, stdout, stderr };
      };
      try {
        writeFileSync(file(STATE_PAIRING_FILE), "p-1 list telegram -\n");
        expect(await answer("p-1")).toEqual({ done: "p-1\n0\n", stdout: '{"argv":["list","--json","telegram"],"token":true}\n', stderr: "said on stderr\n" });
        writeFileSync(file(STATE_PAIRING_FILE), "p-2 approve telegram ABCD-2345\n");
        expect(await answer("p-2")).toMatchObject({ done: "p-2\n1\n", stdout: '{"argv":["approve","telegram","ABCD-2345"],"token":true}\n' });
        // Not what state-sync writes: answered 64, nothing run.
        writeFileSync(file(STATE_PAIRING_FILE), "p-3 approve telegram x$(id)\n");
        expect(await answer("p-3")).toEqual({ done: "p-3\n64\n", stdout: "", stderr: "" });
        // The agent ran all along.
        expect(readFileSync(r.log, "utf8")).toBe("started\n");
      } finally {
        // Through the launcher, which stops the agent (a SIGKILL would leave it running).
        r.child.kill("SIGTERM");
        await r.exited;
      }
    });

    test("a ready file that is not renewed (a frozen state-sync) stops the agent once its time has passed", async () => {
      const r = await running();
      try {
        writeFileSync(r.ready, leaseUntil(2));
        const code = await Promise.race([r.exited, new Promise((res) => setTimeout(() => res("still running"), 20_000))]);
        expect(code).toBe(75);
        expect(readFileSync(r.log, "utf8")).toBe("started\nSIGTERM\n");
      } finally {
        r.child.kill("SIGKILL");
      }
    });

    test("a ready file renewed in time keeps the agent running; SIGTERM to the launcher reaches the agent and the launcher exits with its status", async () => {
      const r = await running();
      try {
        for (let i = 0; i < 4; i++) {
          writeFileSync(r.ready, leaseUntil(2));
          await new Promise((res) => setTimeout(res, 1000));
        }
        expect(readFileSync(r.log, "utf8")).toBe("started\n");
        r.child.kill("SIGTERM");
        expect(await r.exited).toBe(0);
        expect(readFileSync(r.log, "utf8")).toBe("started\nSIGTERM\n");
      } finally {
        r.child.kill("SIGKILL");
      }
    });
  });

  // Issue 33: on Cloud Run a sidecar costs a whole vCPU, so a light bot's launcher runs state-sync
  // inside the agent's container (targets/gcp-cloud-run/bot-service.ts). Stand-in engine: records
  // its environment, writes the ready file as the real one does once it restored, and on SIGTERM
  // records whether the agent had exited, then takes a second to finish (its final snapshot).
  describe("state-sync inside the agent's container", () => {
    async function inside({ engineExitsAfterMs, agentDrainMs = 1500, stopSeconds }: { engineExitsAfterMs?: number; agentDrainMs?: number; stopSeconds?: number } = {}) {
      const stateDir = join(mkdtempSync(join(tmpdir(), "botfleet-inside-")), "state");
      mkdirSync(stateDir, { recursive: true });
      const ready = join(stateDir, ".botfleet-state-ready");
      const agentLog = join(stateDir, "..", "agent.log");
      const engineLog = join(stateDir, "..", "engine.log");
      const agentPid = join(stateDir, "..", "agent.pid");
      const l = containerLaunch(bot, { ...openclaw, ...STAND_IN_CHECK, stateDir }, { trustedProxies: [] }, "");
      const engine = `const fs = require("fs"); const log = (m) => fs.appendFileSync(${JSON.stringify(engineLog)}, m + "\\n");
        log("env " + JSON.stringify(Object.keys(process.env).filter((k) => /TOKEN|KEY|STATE_SYNC|BOTFLEET_AGENT_CONFIG/.test(k)).sort()));
        log("arg " + process.argv[1]);
        fs.writeFileSync(${JSON.stringify(ready)}, String(Math.floor(Date.now() / 1000) + 60));
        process.on("SIGTERM", () => { let alive = true; try { process.kill(Number(fs.readFileSync(${JSON.stringify(agentPid)}, "utf8")), 0); } catch { alive = false; } log("SIGTERM, agent exited: " + !alive); setTimeout(() => { log("done"); process.exit(0); }, 1000); });
        ${engineExitsAfterMs === undefined ? "" : `setTimeout(() => { log("crashed"); process.exit(1); }, ${engineExitsAfterMs});`}
        setInterval(() => {}, 1000);`;
      const agent = [
        process.execPath,
        "-e",
        `const fs = require("fs"); const log = (m) => fs.appendFileSync(${JSON.stringify(agentLog)}, m + "\\n"); fs.writeFileSync(${JSON.stringify(agentPid)}, String(process.pid)); log("started " + JSON.stringify(Object.keys(process.env).filter((k) => /STATE_SYNC|STOP_SECONDS/.test(k)))); process.on("SIGTERM", () => setTimeout(() => { log("exited"); process.exit(0); }, ${agentDrainMs})); setInterval(() => {}, 1000);`,
      ];
      const env = {
        PATH: process.env.PATH,
        ...l.environment,
        BOTFLEET_STATE_READY: ready,
        STATE_SYNC_MAIN: "1",
        STATE_SYNC_DIR: stateDir,
        BOTFLEET_STATE_SYNC_NODE: process.execPath,
        BOTFLEET_STATE_SYNC_LOADER: engine,
        BOTFLEET_STATE_SYNC_ENGINE: "the-engine-source",
        ...(stopSeconds !== undefined && { BOTFLEET_AGENT_STOP_SECONDS: String(stopSeconds) }),
        ...ALL_SET,
      };
      const child = spawn(l.command[0], [...l.command.slice(1), ...agent], { env });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      const text = (f: string) => (existsSync(f) ? readFileSync(f, "utf8") : "");
      return { child, exited, stderr: () => stderr, agent: () => text(agentLog), engine: () => text(engineLog) };
    }
    const until = async (what: () => boolean) => {
      for (let i = 0; i < 150 && !what(); i++) await new Promise((res) => setTimeout(res, 100));
    };

    test("starts the engine without the agent's secrets, the agent once the engine has restored; a stop ends the agent first, then the engine, and waits for it", async () => {
      const r = await inside();
      try {
        await until(() => r.agent().includes("started"));
        expect(r.engine()).toContain('env ["STATE_SYNC_DIR","STATE_SYNC_MAIN"]\narg the-engine-source\n');
        // Nor does the agent get the engine or its settings.
        expect(r.agent()).toBe("started []\n");
        expect(r.stderr()).toContain("botfleet: state-sync started in this container");
        r.child.kill("SIGTERM");
        expect(await r.exited).toBe(0);
        expect(r.engine()).toMatch(/SIGTERM, agent exited: true\ndone\n$/);
        expect(r.stderr()).toMatch(/\S+Z botfleet: no agent runs; stopping state-sync/);
      } finally {
        r.child.kill("SIGKILL");
      }
    });

    // Found by running the real gateway on the Cloud Run stand-in: stopped during a turn, it drains
    // for up to 315 s; Cloud Run kills the instance after 10 s, before the final snapshot.
    test("an agent that drains past its stop budget is killed, and the final snapshot follows within the platform's grace", async () => {
      const r = await inside({ agentDrainMs: 60_000, stopSeconds: 2 });
      try {
        await until(() => r.agent().includes("started"));
        expect(r.agent()).toBe("started []\n");
        const stopped = Date.now();
        r.child.kill("SIGTERM");
        const code = await Promise.race([r.exited, new Promise((res) => setTimeout(() => res("still running"), 20_000))]);
        // A stop the platform asked for, not a crash: exit 0 (the platform's exit alerts count the rest).
        expect(code).toBe(0);
        // 2 s of drain, checked every second, then the engine's second: within Cloud Run's 10 s.
        expect(Date.now() - stopped).toBeLessThan(7000);
        expect(r.stderr()).toContain("botfleet: the agent did not stop within 2 s of SIGTERM; killed");
        expect(r.engine()).toMatch(/SIGTERM, agent exited: true\ndone\n$/);
      } finally {
        r.child.kill("SIGKILL");
      }
    });

    test("an engine that exits while the agent runs stops the agent at once: exit 75, for the platform to start the container again", async () => {
      const r = await inside({ engineExitsAfterMs: 2500 });
      try {
        const code = await Promise.race([r.exited, new Promise((res) => setTimeout(() => res("still running"), 20_000))]);
        expect(code).toBe(75);
        expect(r.agent()).toMatch(/^started \[\]\nexited\n$/);
        expect(r.stderr()).toContain("botfleet: STATE-SYNC EXITED (see its log above)");
      } finally {
        r.child.kill("SIGKILL");
      }
    });
  });
});
