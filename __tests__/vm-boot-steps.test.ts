import { chmodSync, mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { renderVmBootstrap } from "../bootstrap/azure-vm";
import { nanobot } from "../runtimes/nanobot";
import { openclaw } from "../runtimes/openclaw";
import { exampleFleet, fleetFrom } from "./support/fleet";
import { requireTool } from "./support/tools";
import { layOutVmFiles } from "./support/vm";

/**
 * The rendered boot.sh, run step by step in a scratch root. What needs Azure or a real system
 * (apt-get, systemctl, dpkg-query, downloads) is a stub on PATH that records its calls; jq, caddy,
 * sha256sum, install and cmp are the real ones.
 */
const fleet = exampleFleet();
const bootstrap = renderVmBootstrap(fleet, fleet.bots[0], openclaw);

function scratch(options: { sysboxInstalled?: boolean } = {}) {
  const root = layOutVmFiles(bootstrap, "botfleet-boot-");
  const bin = join(root, "stub-bin");
  mkdirSync(bin);
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\necho "${name} $*" >> "${root}/calls.log"\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub("apt-get", "exit 0");
  stub("systemctl", "exit 0");
  stub("dpkg-query", options.sysboxInstalled ? "printf 'install ok installed'" : "exit 1");
  // A download that arrives but is not the published Sysbox package; any URL naming
  // "gateway-down" fails, as a health check of a gateway that is not running would.
  // "gateway-late" answers from its 5th check on, each check's time in gateway-checks.log.
  stub(
    "curl",
    `case "$*" in *gateway-down*) exit 7 ;; *gateway-late*) date +%s.%N >>"${root}/gateway-checks.log"; [ "$(wc -l <"${root}/gateway-checks.log")" -ge 5 ] || exit 7 ;; esac; while [ $# -gt 0 ]; do if [ "$1" = -o ]; then echo tampered > "$2"; fi; shift; done; exit 0`,
  );
  stub("docker", "exit 0");
  return { root, bin };
}

function boot(s: { root: string; bin: string }, ...steps: string[]) {
  return bootWith(s, {}, ...steps);
}

function bootWith(s: { root: string; bin: string }, env: Record<string, string>, ...steps: string[]) {
  const r = spawnSync("bash", [join(s.root, "usr/local/lib/botfleet/boot.sh"), ...steps], {
    env: { PATH: `${s.bin}:${process.env.PATH}`, BOTFLEET_ROOT: s.root, BOTFLEET_LIB: join(s.root, "usr/local/lib/botfleet"), RETRY_BASE_DELAY: "0", RETRY_ATTEMPTS: "2", ...env },
    encoding: "utf8",
  });
  return { status: r.status, log: r.stderr + r.stdout };
}

const calls = (root: string) => (existsSync(join(root, "calls.log")) ? readFileSync(join(root, "calls.log"), "utf8") : "");
const statePath = (root: string) => join(root, "var/lib/botfleet/state/openclaw.json");

test("config: writes the agent config on first boot", () => {
  const s = scratch();
  const r = boot(s, "config");
  expect(r.log).toContain("step config: done");
  expect(r.status).toBe(0);
  expect(JSON.parse(readFileSync(statePath(s.root), "utf8"))).toEqual(JSON.parse(readFileSync(join(s.root, "etc/botfleet/agent-config.json"), "utf8")));
});

test("config: a re-run keeps what the agent stored and restores botfleet's settings; twice gives the same file", () => {
  const s = scratch();
  boot(s, "config");
  const stored = JSON.parse(readFileSync(statePath(s.root), "utf8"));
  stored.gateway.bind = "loopback"; // drifted managed key
  stored.agents.defaults.workspace = "/home/node/.openclaw/workspace"; // the agent's own setting
  stored.meta = { lastTouchedVersion: "2026.9.6" };
  writeFileSync(statePath(s.root), JSON.stringify(stored));
  expect(boot(s, "config").status).toBe(0);
  const once = readFileSync(statePath(s.root), "utf8");
  expect(boot(s, "config").status).toBe(0);
  expect(readFileSync(statePath(s.root), "utf8")).toBe(once);
  const merged = JSON.parse(once);
  expect(merged.gateway.bind).toBe("lan");
  const managed = JSON.parse(readFileSync(join(s.root, "etc/botfleet/agent-config.json"), "utf8"));
  expect(merged.agents.defaults).toEqual({ model: { primary: "anthropic/claude-sonnet-5" }, sandbox: managed.agents.defaults.sandbox, workspace: "/home/node/.openclaw/workspace" });
  expect(merged.meta).toEqual({ lastTouchedVersion: "2026.9.6" });
});

test("config: a hand-edited JSON5 file is left alone, and the log says so", () => {
  const s = scratch();
  mkdirSync(dirname(statePath(s.root)), { recursive: true });
  writeFileSync(statePath(s.root), "{ // my notes\n gateway: { bind: 'lan' }, }\n");
  const r = boot(s, "config");
  expect(r.status).toBe(0);
  expect(r.log).toContain("is not plain JSON (hand-edited JSON5?); left unchanged");
  expect(readFileSync(statePath(s.root), "utf8")).toContain("// my notes");
});

test("docker: pins the bridge in daemon.json and keeps the other settings; a second run changes nothing", () => {
  const s = scratch();
  mkdirSync(join(s.root, "etc/docker"), { recursive: true });
  writeFileSync(join(s.root, "etc/docker/daemon.json"), JSON.stringify({ runtimes: { "sysbox-runc": { path: "/usr/bin/sysbox-runc" } }, bip: "172.20.0.1/16" }));
  expect(boot(s, "docker").status).toBe(0);
  const daemon = readFileSync(join(s.root, "etc/docker/daemon.json"), "utf8");
  expect(JSON.parse(daemon)).toEqual({ runtimes: { "sysbox-runc": { path: "/usr/bin/sysbox-runc" } }, bip: "172.17.0.1/16" });
  expect(calls(s.root)).toMatch(/apt-get .*install -y --no-install-recommends docker\.io jq curl ca-certificates/);
  const second = boot(s, "docker");
  expect(second.log).not.toContain("bridge pinned");
  expect(readFileSync(join(s.root, "etc/docker/daemon.json"), "utf8")).toBe(daemon);
});

test("sysbox: a download that fails its checksum is not installed, and the bot goes on degraded", () => {
  const s = scratch();
  const r = boot(s, "sysbox");
  expect(r.status).toBe(0);
  expect(r.log).toContain("sysbox: checksum mismatch");
  expect(r.log).toContain("sysbox: DEGRADED");
  expect(calls(s.root)).not.toMatch(/apt-get .*sysbox-ce\.deb/);
  expect(existsSync(join(s.root, "var/cache/botfleet/sysbox-ce.deb"))).toBe(false);
});

test("sysbox: already installed means nothing is downloaded", () => {
  const s = scratch({ sysboxInstalled: true });
  const r = boot(s, "sysbox");
  expect(r.log).toContain("sysbox: ready");
  expect(calls(s.root)).not.toContain("curl");
});

test("caddy: installs the rendered Caddyfile, validates it with the real caddy, and reloads", () => {
  requireTool("caddy", "caddy");
  const s = scratch();
  const r = boot(s, "caddy");
  expect(r.status).toBe(0);
  expect(readFileSync(join(s.root, "etc/caddy/Caddyfile"), "utf8")).toBe(readFileSync(join(s.root, "etc/botfleet/Caddyfile"), "utf8"));
  expect(calls(s.root)).toContain("systemctl reload-or-restart caddy");
});

test("an unknown step is refused with the list of steps", () => {
  const r = boot(scratch(), "dockr");
  expect(r.status).not.toBe(0);
  expect(r.log).toContain("unknown step dockr (steps: docker sysbox sandbox caddy state secrets config plugins agent)");
});

test("config: a state in the layout the runtime migrated away takes the managed settings, without the old form", () => {
  const s = scratch();
  mkdirSync(dirname(statePath(s.root)), { recursive: true });
  // What an older botfleet release wrote (agents.list) and the agent kept using.
  writeFileSync(statePath(s.root), JSON.stringify({ agents: { list: [{ id: "main", identity: { name: "Old name" } }] }, meta: { lastTouchedVersion: "2026.9.5" } }));
  expect(boot(s, "config").status).toBe(0);
  const merged = JSON.parse(readFileSync(statePath(s.root), "utf8"));
  expect(merged.agents).not.toHaveProperty("list");
  expect(merged.agents.entries.main.identity.name).toBe("Alpha");
});

// State that could not be made ready at boot used to stop boot.sh at the state step: the agent
// unit was never started and the bot stayed down until a reboot (issue 13, defect 7).
test("boot: when the state is not restored yet, the boot goes on and starts the agent unit, which waits for it and configures before every start", () => {
  requireTool("caddy", "caddy");
  const s = scratch();
  const r = bootWith(s, { STATE_WAIT_SECONDS: "0" });
  expect(r.log).toContain("state: not restored yet: state-sync waits for the lease or the store (journalctl -u botfleet-state-sync)");
  expect(r.log).toContain("step state: FAILED for now; botfleet-agent repeats it before every start (every 30 s)");
  expect(r.log).toContain("step config: skipped until the state is restored");
  expect(calls(s.root)).toContain("systemctl start botfleet-state-sync.service");
  expect(calls(s.root)).toContain("systemctl restart --no-block botfleet-agent.service");
  expect(r.log).toContain("READY: bot bot-alpha");
  expect(r.status).toBe(0);
  const unit = readFileSync(join(s.root, "etc/systemd/system/botfleet-agent.service"), "utf8");
  expect(unit).toMatch(/^ExecStartPre=\/usr\/local\/lib\/botfleet\/boot\.sh state config plugins$/m);
  expect(unit).toMatch(/^Wants=botfleet-state-sync\.service$/m);
  expect(unit).toMatch(/^After=docker\.service botfleet-firewall\.service botfleet-state-sync\.service /m);
  expect(unit).not.toMatch(/^Requires=.*state-sync/m);
  expect(unit).toMatch(/^Restart=always$/m);
});

// Issue 14: the agent never starts on state that state-sync has not restored.
test("state: waits for state-sync's ready file on the local disk, then the config is merged into the restored state", () => {
  const s = scratch();
  const stateDir = join(s.root, "var/lib/botfleet/state");
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(join(stateDir, "openclaw.json"), JSON.stringify({ meta: { restored: true } }));
  // A ready file whose lease has run out (state-sync lost it or froze) is not ready.
  writeFileSync(join(stateDir, ".botfleet-state-ready"), `${Math.floor(Date.now() / 1000) - 1}\n`);
  const stale = bootWith(s, { STATE_WAIT_SECONDS: "1" }, "state");
  expect(stale.status).not.toBe(0);
  expect(stale.log).toContain("state: not restored yet");
  writeFileSync(join(stateDir, ".botfleet-state-ready"), `${Math.floor(Date.now() / 1000) + 60}\n`);
  const r = boot(s, "state", "config");
  expect(r.log).toContain("state: restored on local disk at");
  expect(r.status).toBe(0);
  const merged = JSON.parse(readFileSync(statePath(s.root), "utf8"));
  expect(merged.meta).toMatchObject({ restored: true });
  expect(merged.gateway.bind).toBe("lan");
  expect(calls(s.root)).not.toMatch(/mount|storage-key/);
});

test("boot: a bot waiting for its secrets ends the boot READY and WAITING (not failed), naming them", () => {
  requireTool("caddy", "caddy");
  const s = scratch();
  mkdirSync(join(s.root, "run/botfleet"), { recursive: true });
  writeFileSync(join(s.root, "run/botfleet/waiting-for-secrets"), "bot-alpha--llm-api-key\n");
  // No state-sync runs here: the state step gives up at once instead of after its 60 s default.
  const r = bootWith(s, { GATEWAY_HEALTH_URL: "http://127.0.0.1/gateway-down", STATE_WAIT_SECONDS: "0" });
  expect(r.log).toContain("READY, WAITING FOR SECRETS: bot bot-alpha (openclaw) starts within 30 s of these being set in Key Vault kv-demo-9541b8: bot-alpha--llm-api-key");
  expect(r.log).not.toContain("FAILED: agent");
  expect(r.status).toBe(0);
});

test("agent: a gateway that never answers, with no secret missing, still fails the boot loudly", () => {
  const s = scratch();
  const r = bootWith(s, { GATEWAY_HEALTH_URL: "http://127.0.0.1/gateway-down", AGENT_HEALTH_SECONDS: "0" }, "agent");
  expect(r.log).toContain("FAILED: agent: not healthy");
  expect(r.status).not.toBe(0);
});

// A doubling backoff saw a gateway that answered after 33 s only at 62 s (2 + 4 + ... + 32).
test("agent: the gateway's health is checked at a steady pace, so READY comes as soon as it answers", () => {
  const s = scratch();
  const r = bootWith(s, { GATEWAY_HEALTH_URL: "http://127.0.0.1/gateway-late", POLL_INTERVAL: "1", RETRY_BASE_DELAY: "1", RETRY_ATTEMPTS: "12" }, "agent");
  expect(r.status).toBe(0);
  expect(r.log).not.toContain("FAILED");
  const checks = readFileSync(join(s.root, "gateway-checks.log"), "utf8").trim().split("\n").map(Number);
  expect(checks).toHaveLength(5);
  const pauses = checks.slice(1).map((t, i) => t - checks[i]);
  // A doubling pause would be 1, 2, 4 and 8 s; a steady one stays near 1 s, loose for a loaded machine.
  expect(pauses.every((p) => p < 4)).toBe(true);
});

const sandboxOff = (root: string) => join(root, "var/lib/botfleet/sandbox-off");

/** run-agent.sh with docker stubbed: the command lines it runs, the gateway's last. */
function runAgent(s: { root: string; bin: string }, ...args: string[]) {
  writeFileSync(join(s.root, "secrets.env"), "");
  const before = calls(s.root).length;
  const r = spawnSync("bash", [join(s.root, "usr/local/lib/botfleet/run-agent.sh"), ...args], {
    env: { PATH: `${s.bin}:${process.env.PATH}`, BOTFLEET_ROOT: s.root, BOTFLEET_LIB: join(s.root, "usr/local/lib/botfleet"), SECRETS_ENV_FILE: join(s.root, "secrets.env") },
    encoding: "utf8",
  });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return calls(s.root).slice(before).split("\n").filter(Boolean);
}
const runAgentLine = (s: { root: string; bin: string }) =>
  runAgent(s)
    .filter((l) => / run --rm --name botfleet-agent /.test(l))
    .pop()!;
const SANDBOX_DOCKER = "docker --host unix:///run/botfleet/sandbox/engine.sock";

test("sandbox: without Sysbox the tool sandbox is off, said in the log, and the agent gets the sandbox-off config and no socket", () => {
  const s = scratch();
  const r = boot(s, "sandbox", "config");
  expect(r.status).toBe(0);
  expect(r.log).toContain("sandbox: DEGRADED: tool sandbox OFF: Sysbox is not installed");
  expect(r.log).toContain("config: tool sandbox OFF: Sysbox is not installed");
  expect(readFileSync(sandboxOff(s.root), "utf8")).toContain("Sysbox is not installed");
  expect(calls(s.root)).toContain("systemctl disable --now botfleet-sandbox.service");
  expect(JSON.parse(readFileSync(statePath(s.root), "utf8")).agents.defaults.sandbox).toEqual({ mode: "off" });
  const run = runAgentLine(s);
  // On the VM's own Docker, published on its loopback only, as without a sandbox.
  expect(run).toMatch(/^docker run --rm --name botfleet-agent --publish 127\.0\.0\.1:18789:18789 /);
  expect(run).not.toContain("/run/botfleet");
  expect(run).not.toContain("DOCKER_HOST");
  // The image is pulled, and the plugins installed, on the same Docker as the gateway.
  expect(boot(s, "agent").status).toBe(0);
  expect(calls(s.root)).toMatch(/^docker pull ghcr\.io\/openclaw\/openclaw:2026\.9\.6$/m);
  expect(calls(s.root)).not.toMatch(/--host /);
  expect(bootstrap.files.find((f) => f.path.endsWith("/install-plugins.sh"))!.content).toMatch(/^ {2}agent_docker run --rm --user /m);
});

test("sandbox: with Sysbox the daemon starts, the image is built on it, and the agent gets the socket directory and DOCKER_HOST", () => {
  const s = scratch({ sysboxInstalled: true });
  // A previous boot had it off: a successful step turns it back on.
  mkdirSync(dirname(sandboxOff(s.root)), { recursive: true });
  writeFileSync(sandboxOff(s.root), "Sysbox is not installed\n");
  const r = boot(s, "sandbox", "config");
  expect(r.status).toBe(0);
  expect(r.log).toContain("sandbox: ready: tool sandbox non-main, network none, daemon under sysbox-runc on /run/botfleet/sandbox/engine.sock");
  expect(existsSync(sandboxOff(s.root))).toBe(false);
  expect(calls(s.root)).toContain("systemctl restart botfleet-sandbox.service");
  expect(calls(s.root)).toContain("docker --host unix:///run/botfleet/sandbox/engine.sock info");
  expect(JSON.parse(readFileSync(statePath(s.root), "utf8")).agents.defaults.sandbox).toMatchObject({ mode: "non-main", backend: "docker", docker: { network: "none" } });
  const run = runAgentLine(s);
  // OpenClaw's Docker sandbox works only on the daemon that runs the gateway (it inspects the
  // gateway's own container for its bind sources: dist/docker-*.mjs discoverSourceNamespace in
  // openclaw 2026.9.6), so the gateway runs on the sandbox daemon, published in its namespace.
  expect(run.startsWith(`${SANDBOX_DOCKER} run --rm --name botfleet-agent --publish 18789:18789 `)).toBe(true);
  expect(run).toContain("--volume /run/botfleet/sandbox:/run/botfleet-sandbox:ro");
  expect(run).toContain("--volume /var/lib/botfleet/sandbox-cli/docker:/usr/local/bin/docker:ro");
  expect(run).toContain("--env DOCKER_HOST=unix:///run/botfleet-sandbox/engine.sock");
  // Everything the gateway had before stays.
  expect(run).toMatch(/--cap-drop ALL --read-only/);
  expect(run).not.toMatch(/docker\.sock:|\/var\/run/);
  // The image is pulled on that daemon too (and the plugins installed: in_image's agent_docker).
  expect(boot(s, "agent").status).toBe(0);
  expect(calls(s.root)).toContain(`${SANDBOX_DOCKER} pull ghcr.io/openclaw/openclaw:2026.9.6\n`);
});

test("sandbox: the unit removes a leftover gateway on both daemons and stops it on the one it runs on", () => {
  const s = scratch({ sysboxInstalled: true });
  expect(runAgent(s, "--remove")).toEqual(["docker rm -f botfleet-agent", `${SANDBOX_DOCKER} rm -f botfleet-agent`]);
  expect(runAgent(s, "--stop")).toEqual([`${SANDBOX_DOCKER} stop --time 330 botfleet-agent`]);
  mkdirSync(dirname(sandboxOff(s.root)), { recursive: true });
  writeFileSync(sandboxOff(s.root), "Sysbox is not installed\n");
  expect(runAgent(s, "--stop")).toEqual(["docker stop --time 330 botfleet-agent"]);
  const unit = bootstrap.files.find((f) => f.path.endsWith("/botfleet-agent.service"))!.content;
  expect(unit).toContain("ExecStartPre=-/usr/local/lib/botfleet/run-agent.sh --remove");
  expect(unit).toContain("ExecStop=/usr/local/lib/botfleet/run-agent.sh --stop");
  expect(unit).not.toMatch(/\/usr\/bin\/docker/);
});

test("sandbox: the daemon publishes the gateway on the VM's loopback and sees the gateway's bind sources at the same paths", () => {
  const file = (suffix: string) => bootstrap.files.find((f) => f.path.endsWith(suffix))!.content;
  const daemon = file("/sandbox-daemon.sh")
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .join("\n")
    .replace(/'/g, "");
  expect(daemon).toMatch(/--runtime sysbox-runc /);
  expect(daemon).not.toContain("--privileged");
  expect(daemon).toContain("--publish 127.0.0.1:18789:18789");
  // Docker resolves a bind source in the filesystem of the daemon that runs the container: each
  // host path the gateway (or its sandboxes, through it) mounts must be there at the same path.
  const sources = [...runAgentLine(scratch({ sysboxInstalled: true })).matchAll(/--volume (\S+?):/g)].map((m) => m[1]);
  expect(sources).toEqual(["/var/lib/botfleet/state", "/run/botfleet/sandbox", "/var/lib/botfleet/sandbox-cli/docker"]);
  for (const source of sources) expect(daemon).toMatch(new RegExp(`--volume ${source}:${source}(:ro)? `));
  // Made before the daemon starts, owned as state-sync makes it: Docker would create it root's.
  const made = daemon.indexOf("install -d -o 1000 -g 1000 -m 0700 /var/lib/botfleet/state\n");
  expect(made).toBeGreaterThan(0);
  expect(made).toBeLessThan(daemon.indexOf("docker run"));
  // Its own bridge apart from the VM's, and no traffic between its containers (a sandbox with a
  // network must not reach the gateway's container directly).
  expect(daemon).toMatch(/dockerd --host unix:\/\/\/run\/botfleet\/sandbox\/engine\.sock --group 1000 --bip 172\.18\.0\.1\/16 --icc=false$/m);
});

test("sandbox: a daemon that never answers leaves the sandbox off, and the boot goes on", () => {
  const s = scratch({ sysboxInstalled: true });
  writeFileSync(join(s.bin, "docker"), `#!/bin/bash\necho "docker $*" >> "${s.root}/calls.log"\ncase "$*" in *info*) exit 1 ;; esac\nexit 0\n`);
  const r = boot(s, "sandbox");
  expect(r.status).toBe(0);
  expect(r.log).toContain("sandbox: DEGRADED: tool sandbox OFF: the sandbox daemon does not answer");
  expect(existsSync(sandboxOff(s.root))).toBe(true);
});

// Docker >= 27.4 refuses --icc=false without br_netfilter (moby v28.5.1 setup_bridgenetfiltering.go);
// a Sysbox container cannot load modules, and nothing else loaded it on the VM: the sandbox never came up.
test("sandbox: br_netfilter is loaded on the VM before the sandbox daemon starts; if it cannot be, the sandbox is off and says why", () => {
  const s = scratch({ sysboxInstalled: true });
  const absent = join(s.root, "proc-sys-net-bridge-absent");
  writeFileSync(join(s.bin, "modprobe"), `#!/bin/bash\necho "modprobe $*" >> "${s.root}/calls.log"\n`, { mode: 0o755 });
  expect(bootWith(s, { BR_NETFILTER_SYSCTL: absent }, "sandbox").status).toBe(0);
  const log = calls(s.root);
  expect(log).toContain("modprobe br_netfilter");
  expect(log.indexOf("modprobe br_netfilter")).toBeLessThan(log.indexOf("systemctl restart botfleet-sandbox.service"));
  expect(existsSync(sandboxOff(s.root))).toBe(false);

  const t = scratch({ sysboxInstalled: true });
  writeFileSync(join(t.bin, "modprobe"), "#!/bin/bash\necho 'modprobe: FATAL: Module br_netfilter not found' >&2\nexit 1\n", { mode: 0o755 });
  const r = bootWith(t, { BR_NETFILTER_SYSCTL: join(t.root, "absent") }, "sandbox");
  expect(r.status).toBe(0);
  expect(r.log).toContain("sandbox: DEGRADED: tool sandbox OFF: the br_netfilter kernel module does not load");
  expect(calls(t.root)).not.toContain("systemctl restart botfleet-sandbox.service");
});

test("sandbox: a sysbox-runc that cannot start a container leaves the sandbox off before its daemon starts", () => {
  const s = scratch({ sysboxInstalled: true });
  writeFileSync(join(s.bin, "docker"), `#!/bin/bash\necho "docker $*" >> "${s.root}/calls.log"\ncase "$*" in *"--runtime sysbox-runc"*) exit 125 ;; esac\nexit 0\n`);
  const r = boot(s, "sandbox");
  expect(r.status).toBe(0);
  expect(calls(s.root)).toContain("docker run --rm --runtime sysbox-runc --network none --entrypoint true docker:28.5.1-dind");
  expect(r.log).toContain("sandbox: DEGRADED: tool sandbox OFF: sysbox-runc cannot start a container");
  expect(calls(s.root)).not.toContain("systemctl restart botfleet-sandbox.service");
});

test("sandbox: a retry stops a gateway still running on the VM's Docker before the daemon takes its port", () => {
  const s = scratch({ sysboxInstalled: true });
  mkdirSync(dirname(sandboxOff(s.root)), { recursive: true });
  writeFileSync(sandboxOff(s.root), "could not build openclaw-sandbox:bookworm-slim\n");
  expect(boot(s, "sandbox").status).toBe(0);
  const log = calls(s.root);
  expect(log).toContain("systemctl stop botfleet-agent.service");
  expect(log.indexOf("systemctl stop botfleet-agent.service")).toBeLessThan(log.indexOf("systemctl restart botfleet-sandbox.service"));
  expect(log).toContain("systemctl enable --now botfleet-sandbox-retry.timer");
});

// sysbox-fs mounts with fusermount3 while the .deb depends on FUSE 2 (nestybox/sysbox#955, #1005).
test("sysbox: fuse3 goes in before the package, and the engine's packages are held once Sysbox is installed", () => {
  const s = scratch();
  // The stub download writes "tampered": pin its checksum, as if it were the published package.
  const boot = join(s.root, "usr/local/lib/botfleet/boot.sh");
  const digest = execFileSync("sha256sum", { input: "tampered\n" }).toString().split(" ")[0];
  writeFileSync(boot, readFileSync(boot, "utf8").replace(/^SYSBOX_SHA256=.*$/m, `SYSBOX_SHA256='${digest}'`));
  writeFileSync(join(s.bin, "apt-mark"), `#!/bin/bash\necho "apt-mark $*" >> "${s.root}/calls.log"\n`, { mode: 0o755 });
  const r = bootWith(s, {}, "sysbox");
  expect(r.log).toContain("sysbox: ready");
  const log = calls(s.root).split("\n");
  const at = (re: RegExp) => log.findIndex((l) => re.test(l));
  expect(at(/apt-get .*install -y --no-install-recommends fuse3$/)).toBeGreaterThan(-1);
  expect(at(/apt-get .*install -y --no-install-recommends fuse3$/)).toBeLessThan(at(/apt-get .*install -y .*sysbox-ce\.deb$/));
  expect(at(/^apt-mark hold docker\.io containerd runc$/)).toBeGreaterThan(at(/sysbox-ce\.deb$/));
});

test("sandbox: a bot with sandbox.mode off, and a nanobot bot, get no sandbox daemon, step or socket, and an explicit off", () => {
  const offFleet = fleetFrom('name: demo\nbots:\n  - name: bot-off\n    sandbox:\n      mode: "off"\n');
  const off = renderVmBootstrap(offFleet, offFleet.bots[0], openclaw);
  const epsilon = fleet.bots.find((b) => b.name === "bot-epsilon")!;
  for (const b of [off, renderVmBootstrap(fleet, epsilon, nanobot)]) {
    const paths = b.files.map((f) => f.path);
    expect(paths.filter((p) => p.includes("sandbox"))).toEqual([]);
    const file = (suffix: string) => b.files.find((f) => f.path.endsWith(suffix))!.content;
    expect(file("/boot.sh")).toContain("STEPS=(docker sysbox caddy state secrets config plugins agent)");
    expect(file("/run-agent.sh")).not.toMatch(/sandbox|DOCKER_HOST/);
  }
  expect(JSON.parse(off.files.find((f) => f.path.endsWith("/agent-config.json"))!.content).agents.defaults.sandbox).toEqual({ mode: "off" });
});
