import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { containerLaunch, terraformLiteral } from "../bootstrap/container";
import { STATE_AGENT_FILE, STATE_PAIRING_DONE, STATE_PAIRING_FILE } from "../bootstrap/state-sync";
import { openclaw } from "../runtimes/openclaw";
import { nanobot } from "../runtimes/nanobot";
import { UNSET_SECRET, WAITING_FOR_SECRETS, type AgentRuntime } from "../runtimes/runtime";
import { fleetFrom } from "./support/fleet";
import { freePort } from "./support/net";
import { requireTool, run } from "./support/tools";

const HOSTILE = `it's "quoted" & $HOME \`id\` ${"${PATH}"} | back\\slash\nnew line ünïcødé 🦉`;
const bot = fleetFrom(`name: demo\nbots:\n  - name: bot-a\n    persona:\n      name: Owl\n      theme: ${JSON.stringify(HOSTILE)}\n    channels:\n      telegram:\n        allowFrom: ["1"]\n`).bots[0];

/**
 * OpenClaw's config check stands in here as a node script with the real one's contract (the image's
 * `openclaw config validate` runs in containers/managed.containers.test.ts): it reads the config
 * from the state directory its environment variable names, and refuses an unknown key.
 */
const STAND_IN_CHECK = {
  configCheck: [
    process.execPath,
    "-e",
    'const c = JSON.parse(require("node:fs").readFileSync(process.env.OPENCLAW_STATE_DIR + "/openclaw.json", "utf8")); if (c.gateway?.botfleetTestBogus) { console.error("gateway: Unrecognized key: \\"botfleetTestBogus\\""); process.exit(1); }',
  ],
};

/** Runs the launcher as the platform would, with a node "agent" that reports what it was given. */
function launch(secrets: Record<string, string>) {
  const stateDir = join(mkdtempSync(join(tmpdir(), "botfleet-launch-")), "state");
  const l = containerLaunch(bot, { ...openclaw, ...STAND_IN_CHECK, stateDir }, { trustedProxies: [] }, "Set it with: gcloud secrets versions add ...");
  const agent = [process.execPath, "-e", "process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), env: process.env }))", "--", "--flag"];
  const r = spawnSync(l.command[0], [...l.command.slice(1), ...agent], {
    env: { PATH: process.env.PATH, ...l.environment, ...secrets },
    encoding: "utf8",
  });
  const configPath = join(stateDir, openclaw.configFile);
  return { ...r, configPath, agent: r.status === 0 ? JSON.parse(r.stdout) : undefined };
}

/** A ready file as state-sync writes it: its lease proven for `seconds` more. */
const leaseUntil = (seconds: number) => `${Math.floor(Date.now() / 1000) + seconds}\n`;

/** GET with retries while the server starts. */
async function getText(url: string): Promise<{ status: number; text: string }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const r = await fetch(url);
      return { status: r.status, text: await r.text() };
    } catch (e) {
      if (attempt > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const ALL_SET = { OPENCLAW_GATEWAY_TOKEN: "tok'en\"$x", ANTHROPIC_API_KEY: "sk-ant-&|;", TELEGRAM_BOT_TOKEN: "123:abc", BRAVE_API_KEY: UNSET_SECRET };

describe("the container launcher", () => {
  test("passes shellcheck as POSIX sh", () => {
    requireTool("shellcheck", "shellcheck");
    const script = containerLaunch(bot, openclaw, { trustedProxies: [] }, "").command[2];
    const r = run("shellcheck", ["-s", "sh", "-S", "style", "-"], { input: script });
    expect(r.output).toBe("");
    expect(r.status).toBe(0);
  });

  test("writes the agent config exactly, mode 0600, and execs the agent with its arguments", () => {
    const r = launch(ALL_SET);
    expect(r.stderr).toContain("botfleet: starting");
    expect(r.status).toBe(0);
    const config = JSON.parse(readFileSync(r.configPath, "utf8"));
    expect(config).toEqual(openclaw.config(bot, { trustedProxies: [] }));
    expect(config.agents.entries.main.identity.theme).toBe(HOSTILE);
    expect(config.channels.telegram.botToken).toEqual({ source: "env", provider: "default", id: "TELEGRAM_BOT_TOKEN" });
    expect(statSync(r.configPath).mode & 0o777).toBe(0o600);
    expect(r.agent.argv.slice(-1)).toEqual(["--flag"]);
  });

  // Issue 34: a refused config fails the revision before it answers a probe, so the platform keeps
  // the previous revision serving; nothing of the new one touches the state.
  test("a config the runtime's check refuses stops the start before the state is touched, saying why", () => {
    const stateDir = join(mkdtempSync(join(tmpdir(), "botfleet-launch-")), "state");
    const refused = (b: typeof bot, g: Parameters<typeof openclaw.config>[1]) => {
      const c = openclaw.config(b, g) as { gateway: object };
      return { ...c, gateway: { ...c.gateway, botfleetTestBogus: true } };
    };
    const l = containerLaunch(bot, { ...openclaw, ...STAND_IN_CHECK, stateDir, config: refused }, { trustedProxies: [] }, "");
    const r = spawnSync(l.command[0], [...l.command.slice(1), process.execPath, "-e", "console.log('AGENT RAN')"], {
      env: { PATH: process.env.PATH, ...l.environment, ...ALL_SET, BOTFLEET_STATE_READY: join(stateDir, ".botfleet-state-ready") },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('botfleet: CONFIG REFUSED by the runtime\'s check; this revision does not start: gateway: Unrecognized key: "botfleetTestBogus"');
    expect(r.stdout).not.toContain("AGENT RAN");
    expect(r.stderr).not.toContain("WAITING FOR STATE");
    expect(existsSync(stateDir)).toBe(false);
    // The config that passes is checked too, and the launch goes on.
    expect(launch(ALL_SET).stderr).toContain("botfleet: config checked by the runtime");
  });

  test("logs the revision's release, which follows the config and nothing else", () => {
    const r = launch(ALL_SET);
    const release = containerLaunch(bot, openclaw, { trustedProxies: [] }, "").environment.BOTFLEET_RELEASE;
    expect(release).toMatch(/^[0-9a-f]{12}$/);
    expect(r.stderr).toContain(`botfleet: starting release `);
    expect(containerLaunch(bot, openclaw, { trustedProxies: [] }, "").environment.BOTFLEET_RELEASE).toBe(release);
    expect(containerLaunch(bot, openclaw, { trustedProxies: ["10.0.0.1"] }, "").environment.BOTFLEET_RELEASE).not.toBe(release);
  });

  test("hands the agent its secrets untouched and removes optional placeholders and its own variables", () => {
    const { env } = launch(ALL_SET).agent;
    expect(env.OPENCLAW_GATEWAY_TOKEN).toBe(ALL_SET.OPENCLAW_GATEWAY_TOKEN);
    expect(env.ANTHROPIC_API_KEY).toBe(ALL_SET.ANTHROPIC_API_KEY);
    expect(env).not.toHaveProperty("BRAVE_API_KEY");
    expect(Object.keys(env).filter((k) => k.startsWith("BOTFLEET_"))).toEqual([]);
    expect(env.OPENCLAW_STATE_DIR).toBe("/home/node/.openclaw");
  });

  // Exiting here failed the first revision on both platforms (issue 13): Cloud Run kept the
  // service tainted behind deletion_protection, Container Apps never provisioned the revision.
  test.each([
    ["openclaw", openclaw],
    ["nanobot", nanobot],
  ])("with a required secret unset, %s's image serves the waiting text at every path instead of exiting", async (_, runtime) => {
    const stateDir = join(mkdtempSync(join(tmpdir(), "botfleet-launch-")), "state");
    const l = containerLaunch(bot, { ...runtime, ...(runtime.configCheck && STAND_IN_CHECK), stateDir }, { trustedProxies: [] }, "Set it with: gcloud secrets versions add ...");
    const port = await freePort();
    const child = spawn(l.command[0], [...l.command.slice(1), "false"], {
      env: { PATH: process.env.PATH, ...l.environment, BOTFLEET_PORT: String(port), ...ALL_SET, TELEGRAM_BOT_TOKEN: UNSET_SECRET, ANTHROPIC_API_KEY: "" },
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    try {
      const body = await getText(`http://127.0.0.1:${port}${runtime.healthPath}`);
      const waiting = `${WAITING_FOR_SECRETS}: ANTHROPIC_API_KEY TELEGRAM_BOT_TOKEN. Set it with: gcloud secrets versions add ...`;
      expect(body).toEqual({ status: 200, text: `${waiting}\n` });
      expect(await getText(`http://127.0.0.1:${port}/any/other/path`)).toEqual({ status: 200, text: `${waiting}\n` });
      expect(stderr).toContain(waiting);
      expect(child.exitCode).toBeNull();
      expect(existsSync(join(stateDir, runtime.configFile))).toBe(false);
    } finally {
      child.kill();
    }
  });

  // Issue 14: the state-sync sidecar restores the state first; during a revision overlap it waits
  // for the old instance's lease, so the new instance must stay healthy without starting the agent.
  test.each([
    ["openclaw", openclaw],
    ["nanobot", nanobot],
  ])("with the state not yet restored, %s's launcher answers the probes with a waiting text, then starts the agent once the ready file appears", async (_, runtime) => {
    const stateDir = join(mkdtempSync(join(tmpdir(), "botfleet-launch-")), "state");
    const ready = join(stateDir, ".botfleet-state-ready");
    const l = containerLaunch(bot, { ...runtime, ...(runtime.configCheck && STAND_IN_CHECK), stateDir }, { trustedProxies: [] }, "");
    const port = await freePort();
    const agent = [
      process.execPath,
      "-e",
      `require("http").createServer((_, res) => res.end("agent " + Object.keys(process.env).filter((k) => k.startsWith("BOTFLEET_")).length)).listen(${port}, "127.0.0.1")`,
    ];
    const child = spawn(l.command[0], [...l.command.slice(1), ...agent], {
      env: { PATH: process.env.PATH, ...l.environment, BOTFLEET_PORT: String(port), BOTFLEET_STATE_READY: ready, ...ALL_SET },
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    try {
      const waiting = await getText(`http://127.0.0.1:${port}${runtime.healthPath}`);
      expect(waiting.status).toBe(200);
      expect(waiting.text).toMatch(/^botfleet: WAITING FOR STATE: /);
      expect(stderr).toContain("WAITING FOR STATE");
      // Nothing of the agent's is written before the state is there.
      expect(existsSync(join(stateDir, runtime.configFile))).toBe(false);
      mkdirSync(stateDir, { recursive: true });
      // A ready file whose lease has run out (or of the old, empty form) does not count.
      writeFileSync(ready, "");
      await new Promise((r) => setTimeout(r, 1500));
      expect((await getText(`http://127.0.0.1:${port}${runtime.healthPath}`)).text).toMatch(/^botfleet: WAITING FOR STATE: /);
      writeFileSync(ready, `${Math.floor(Date.now() / 1000) - 1}\n`);
      await new Promise((r) => setTimeout(r, 1500));
      expect((await getText(`http://127.0.0.1:${port}${runtime.healthPath}`)).text).toMatch(/^botfleet: WAITING FOR STATE: /);
      writeFileSync(ready, leaseUntil(60));
      let body = waiting.text;
      for (let i = 0; i < 200 && !body.startsWith("agent"); i++) {
        await new Promise((r) => setTimeout(r, 100));
        body = (await getText(`http://127.0.0.1:${port}/`)).text;
      }
      // The agent owns the port now, with none of the launcher's variables.
      expect(body).toBe("agent 0");
      expect(existsSync(join(stateDir, runtime.configFile))).toBe(true);
    } finally {
      child.kill();
    }
  });

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
      for (let i = 0; i < 100 && !existsSync(log); i++) await new Promise((r) => setTimeout(r, 100));
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
        expect(code).not.toBe("still running");
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

  // A replica's host name is new at every start: the gateway owner lease the previous replica's
  // final snapshot carried blocked the gateway for up to 5 minutes (the container suite's rollover).
  test("releases the runtime's stale owner guard once the state is there, before the agent starts", () => {
    const dir = mkdtempSync(join(tmpdir(), "botfleet-owner-"));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "node"), `#!/bin/sh\ncase "$*" in *gateway-owner*) echo released >> ${dir}/order ;; esac\nexec ${process.execPath} "$@"\n`, { mode: 0o755 });
    const stateDir = join(dir, "state");
    const l = containerLaunch(bot, { ...openclaw, ...STAND_IN_CHECK, stateDir }, { trustedProxies: [] }, "");
    expect(l.environment.BOTFLEET_RELEASE_STALE_OWNER).toContain("DELETE FROM state_leases WHERE scope");
    const r = spawnSync(l.command[0], [...l.command.slice(1), "sh", "-c", `echo agent >> ${dir}/order`], {
      env: { PATH: `${bin}:${process.env.PATH}`, ...l.environment, ...ALL_SET },
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    expect(readFileSync(join(dir, "order"), "utf8")).toBe("released\nagent\n");
    expect(containerLaunch(bot, nanobot, { trustedProxies: [] }, "").environment).not.toHaveProperty("BOTFLEET_RELEASE_STALE_OWNER");
  });

  // As a container's PID 1, a process without a SIGTERM handler ignores it: a waiting bot's every
  // stop (a deploy, a restart) waited out the platform's whole grace period, 120 s on Container Apps.
  test.each([
    ["openclaw waiting for a secret", openclaw, { TELEGRAM_BOT_TOKEN: UNSET_SECRET }],
    ["nanobot waiting for a secret", nanobot, { TELEGRAM_BOT_TOKEN: UNSET_SECRET }],
    ["openclaw waiting for its state", openclaw, { BOTFLEET_STATE_READY: "/nonexistent/ready" }],
  ])("as a container's PID 1, %s stops at once on SIGTERM", async (_, runtime, extra) => {
    const stateDir = join(mkdtempSync(join(tmpdir(), "botfleet-launch-")), "state");
    const l = containerLaunch(bot, { ...runtime, ...(runtime.configCheck && STAND_IN_CHECK), stateDir }, { trustedProxies: [] }, "hint");
    const port = await freePort();
    // A PID namespace of its own: the launcher is its PID 1, as in a container.
    const child = spawn("unshare", ["--pid", "--fork", "--kill-child", "--", ...l.command, "false"], {
      env: { PATH: process.env.PATH, ...l.environment, BOTFLEET_PORT: String(port), ...ALL_SET, ...extra },
    });
    try {
      expect((await getText(`http://127.0.0.1:${port}/`)).status).toBe(200);
      const pid1 = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(" ")[0]);
      const stopped = new Promise<number>((resolve) => child.on("close", () => resolve(Date.now())));
      const sent = Date.now();
      process.kill(pid1, "SIGTERM");
      const at = await Promise.race([stopped, new Promise<number>((r) => setTimeout(() => r(Infinity), 5000))]);
      expect(at - sent).toBeLessThan(3000);
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("reaches Terraform with interpolation escaped, and nothing else changed", () => {
    expect(terraformLiteral("a ${B} %{ if } $${C} $x {y}")).toBe("a $${B} %%{ if } $$${C} $x {y}");
  });
});

describe("the pinned plugins before the agent starts", () => {
  const discordBot = fleetFrom(`name: demo\nbots:\n  - name: bot-d\n    channels:\n      discord:\n        allowFrom: ["1"]\n`).bots[0];
  const { OPENCLAW_PLUGINS } = require("../runtimes/openclaw-pins") as typeof import("../runtimes/openclaw-pins");
  const pinned = OPENCLAW_PLUGINS.discord.integrity;

  /** The launcher with `node` a stub of the runtime's installer whose record holds INSTALLED. */
  function launchWithPlugins(recorded: string | undefined, installs: string, port = 0) {
    const dir = mkdtempSync(join(tmpdir(), "botfleet-plugins-"));
    const stateDir = join(dir, "state");
    const bin = join(dir, "bin");
    require("node:fs").mkdirSync(bin);
    if (recorded) require("node:fs").writeFileSync(join(dir, "record"), recorded);
    require("node:fs").writeFileSync(
      join(bin, "node"),
      `#!/bin/sh
case "$*" in
  *installedIndex*) [ -f ${dir}/record ] && printf 'note {x}\\n{"install":{"integrity":"%s"}}' "$(cat ${dir}/record)"; exit 0 ;;
  "openclaw.mjs plugins install"*) echo "$*" >> ${dir}/calls.log; printf '%s' '${installs}' > ${dir}/record; exit 0 ;;
esac
exec ${process.execPath} "$@"
`,
      { mode: 0o755 },
    );
    const l = containerLaunch(discordBot, { ...openclaw, ...STAND_IN_CHECK, stateDir }, { trustedProxies: [] }, "hint");
    const r = spawnSync(l.command[0], [...l.command.slice(1), process.execPath, "-e", "process.stdout.write('agent ran')"], {
      env: { PATH: `${bin}:${process.env.PATH}`, ...l.environment, BOTFLEET_PORT: String(port), OPENCLAW_GATEWAY_TOKEN: "t", ANTHROPIC_API_KEY: "k", DISCORD_BOT_TOKEN: "d" },
      encoding: "utf8",
    });
    const calls = existsSync(join(dir, "calls.log")) ? readFileSync(join(dir, "calls.log"), "utf8") : "";
    return { ...r, calls };
  }

  test("installs the pinned Discord plugin with the runtime's installer, then starts the agent", () => {
    const r = launchWithPlugins(undefined, pinned);
    expect(r.calls).toContain("openclaw.mjs plugins install npm:@openclaw/discord@2026.9.6 --pin --force --accept-capabilities");
    expect(r.stderr).toContain("botfleet: plugin @openclaw/discord@2026.9.6 installed");
    expect(r.stdout).toBe("agent ran");
  });

  // The startup probe passed on the waiting server while the state was restored; a first install
  // from the registry then left the port unanswered for minutes, under the liveness probe alone.
  test("while the plugins install, the waiting server answers the probes; then the agent has the port", async () => {
    const dir = mkdtempSync(join(tmpdir(), "botfleet-plugins-"));
    const stateDir = join(dir, "state");
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(
      join(bin, "node"),
      `#!/bin/sh
case "$*" in
  *installedIndex*) [ -f ${dir}/record ] && printf '{"install":{"integrity":"%s"}}' "$(cat ${dir}/record)"; exit 0 ;;
  "openclaw.mjs plugins install"*) while [ ! -f ${dir}/go ]; do sleep 0.1; done; printf '%s' '${pinned}' > ${dir}/record; exit 0 ;;
esac
exec ${process.execPath} "$@"
`,
      { mode: 0o755 },
    );
    const port = await freePort();
    const l = containerLaunch(discordBot, { ...openclaw, ...STAND_IN_CHECK, stateDir }, { trustedProxies: [] }, "hint");
    const agent = [process.execPath, "-e", `require("http").createServer((_, res) => res.end("agent")).listen(${port}, "127.0.0.1")`];
    const child = spawn(l.command[0], [...l.command.slice(1), ...agent], {
      env: { PATH: `${bin}:${process.env.PATH}`, ...l.environment, BOTFLEET_PORT: String(port), OPENCLAW_GATEWAY_TOKEN: "t", ANTHROPIC_API_KEY: "k", DISCORD_BOT_TOKEN: "d" },
    });
    try {
      const during = await getText(`http://127.0.0.1:${port}${openclaw.healthPath}`);
      expect(during).toEqual({ status: 200, text: expect.stringMatching(/^botfleet: INSTALLING PLUGINS: /) });
      writeFileSync(join(dir, "go"), "");
      let body = during.text;
      for (let i = 0; i < 200 && body !== "agent"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        body = (await getText(`http://127.0.0.1:${port}/`)).text;
      }
      expect(body).toBe("agent");
    } finally {
      child.kill();
    }
  });

  test("keeps a plugin already installed with the pinned integrity", () => {
    const r = launchWithPlugins(pinned, pinned);
    expect(r.calls).toBe("");
    expect(r.stdout).toBe("agent ran");
  });

  test("does not start the agent when the installed plugin is not the pinned one", () => {
    const r = launchWithPlugins(undefined, "sha512-tampered");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAILED: plugin @openclaw/discord@2026.9.6 installed with integrity sha512-tampered");
    expect(r.stdout).toBe("");
  });

  test("the plugin script passes shellcheck as POSIX sh", () => {
    const script = containerLaunch(discordBot, openclaw, { trustedProxies: [] }, "").environment.BOTFLEET_PLUGIN_SCRIPT;
    const r = run("shellcheck", ["-s", "sh", "-S", "style", "-"], { input: script });
    expect(r.output).toBe("");
  });

  test("a bot without external channels gets no plugin script", () => {
    expect(containerLaunch(bot, openclaw, { trustedProxies: [] }, "").environment).not.toHaveProperty("BOTFLEET_PLUGIN_SCRIPT");
  });
});
