import { mkdirSync, mkdtempSync, readFileSync, statSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { containerLaunch, terraformLiteral } from "../bootstrap/container";
import { openclaw } from "../runtimes/openclaw";
import { nanobot } from "../runtimes/nanobot";
import { UNSET_SECRET, WAITING_FOR_SECRETS } from "../runtimes/runtime";
import { fleetFrom } from "./support/fleet";
import { ALL_SET, bot, getText, HOSTILE, leaseUntil, STAND_IN_CHECK } from "./support/launcher";
import { freePort } from "./support/net";
import { requireTool, run } from "./support/tools";

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
      env: { PATH: process.env.PATH, ...l.environment, BOTFLEET_PORT: String(port), BOTFLEET_NOT_READY_SECONDS: "1", ...ALL_SET, TELEGRAM_BOT_TOKEN: UNSET_SECRET, ANTHROPIC_API_KEY: "" },
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
      // Issue 36: not ready for longer than BOTFLEET_NOT_READY_SECONDS (here 1 s), said for the not-ready alert.
      for (let i = 0; i < 100 && !stderr.includes("NOT READY"); i++) await new Promise((r) => setTimeout(r, 100));
      expect(stderr).toContain("botfleet: NOT READY for 0 min: waiting for secrets: ANTHROPIC_API_KEY TELEGRAM_BOT_TOKEN\n");
      // A stop reaches the waiting server at once.
      child.kill("SIGTERM");
      expect(await new Promise((r) => child.on("exit", (code) => r(code)))).toBe(0);
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
      env: { PATH: process.env.PATH, ...l.environment, BOTFLEET_PORT: String(port), BOTFLEET_STATE_READY: ready, BOTFLEET_NOT_READY_SECONDS: "1", ...ALL_SET },
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
      expect(stderr).toMatch(/botfleet: NOT READY for 0 min: waiting for the state: /);
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

  // The install ran in the foreground, and sh runs a trap only once its foreground command ends:
  // a stop during a minutes-long first install waited for it (Cloud Run kills after 10 s).
  test("a stop during the install ends the launcher at once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "botfleet-plugins-"));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "node"), `#!/bin/sh\ncase "$*" in\n  *installedIndex*) exit 0 ;;\n  "openclaw.mjs plugins install"*) sleep 60; exit 0 ;;\nesac\nexec ${process.execPath} "$@"\n`, {
      mode: 0o755,
    });
    const port = await freePort();
    const l = containerLaunch(discordBot, { ...openclaw, ...STAND_IN_CHECK, stateDir: join(dir, "state") }, { trustedProxies: [] }, "hint");
    const child = spawn(l.command[0], [...l.command.slice(1), process.execPath, "-e", ""], {
      env: { PATH: `${bin}:${process.env.PATH}`, ...l.environment, BOTFLEET_PORT: String(port), OPENCLAW_GATEWAY_TOKEN: "t", ANTHROPIC_API_KEY: "k", DISCORD_BOT_TOKEN: "d" },
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      expect((await getText(`http://127.0.0.1:${port}/`)).text).toMatch(/^botfleet: INSTALLING PLUGINS: /);
      const stopped = Date.now();
      child.kill("SIGTERM");
      expect(await Promise.race([exited, new Promise((res) => setTimeout(() => res("still running"), 10_000))])).toBe(143);
      expect(Date.now() - stopped).toBeLessThan(3000);
    } finally {
      child.kill("SIGKILL");
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
