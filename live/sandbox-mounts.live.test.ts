import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderVmBootstrap, SANDBOX, VM_STATE_DIR } from "../bootstrap/azure-vm";
import { openclaw } from "../runtimes/openclaw";
import { exampleFleet } from "../__tests__/support/fleet";
import { layOutVmFiles } from "../__tests__/support/vm";
import { liveInstall, requirePrivateNetwork } from "./support";

/**
 * Why the gateway runs on the sandbox daemon (issue 20), with OpenClaw's own code. Before it mounts
 * a workspace into a sandbox container, the pinned gateway finds its own container on the daemon
 * behind DOCKER_HOST (`docker inspect`, then `docker exec` of an identity probe) and translates
 * its paths into that daemon's bind sources (dist/docker-*.mjs: discoverSourceNamespace,
 * translateSandboxMountSources, prepareSandboxMountPlan, openclaw 2026.9.6).
 *
 * Here the real prepareSandboxMountPlan runs in a process set up as the gateway's container is:
 * a private mount namespace (`unshare -m`) with the gateway's state directory at its container
 * path and /etc/hostname bind-mounted from a Docker-style `containers/<id>/hostname`. `docker` is
 * a stand-in for the daemon (no Docker engine here): it answers `inspect` with the mounts
 * run-agent.sh gives the gateway, taken from run-agent.sh's own command line, and runs `exec`'s
 * probe in the same namespace, as the daemon that runs the gateway would. Stand-in, not proven:
 * a real dockerd's answers, Sysbox.
 */
requirePrivateNetwork();

const fleet = exampleFleet();
const bot = fleet.bots.find((b) => b.name === "bot-alpha")!;
const CONTAINER_ID = "5f".repeat(32);

/** The docker arguments run-agent.sh starts the gateway with (sandbox on or off at run time). */
function gatewayArgv(sandboxOff: boolean): string[] {
  const root = layOutVmFiles(renderVmBootstrap(fleet, bot, openclaw), "botfleet-live-mounts-");
  const bin = join(root, "stub-bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "docker"), `#!/usr/bin/env node\nrequire("fs").writeFileSync(${JSON.stringify(join(root, "argv.json"))}, JSON.stringify(process.argv.slice(2)));\n`);
  chmodSync(join(bin, "docker"), 0o755);
  if (sandboxOff) {
    mkdirSync(join(root, "var/lib/botfleet"), { recursive: true });
    writeFileSync(join(root, SANDBOX.offMarker), "Sysbox is not installed\n");
  }
  writeFileSync(join(root, "secrets.env"), "");
  const r = spawnSync("bash", [join(root, "usr/local/lib/botfleet/run-agent.sh")], {
    env: { PATH: `${bin}:${process.env.PATH}`, BOTFLEET_ROOT: root, BOTFLEET_LIB: join(root, "usr/local/lib/botfleet"), SECRETS_ENV_FILE: join(root, "secrets.env") },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`run-agent.sh: ${r.stderr}`);
  return JSON.parse(readFileSync(join(root, "argv.json"), "utf8"));
}

/** `docker inspect`'s Mounts and HostConfig.Tmpfs for a container started with `argv`. */
function inspectOf(argv: string[]) {
  const mounts: { Type: string; Source: string; Destination: string; RW: boolean }[] = [];
  const tmpfs: Record<string, string> = {};
  argv.forEach((arg, i) => {
    if (arg === "--volume") {
      const [source, destination, mode] = argv[i + 1].split(":");
      mounts.push({ Type: "bind", Source: source, Destination: destination, RW: mode !== "ro" });
    }
    if (arg === "--tmpfs") {
      const [destination, ...options] = argv[i + 1].split(":");
      tmpfs[destination] = options.join(":");
    }
  });
  return { Id: CONTAINER_ID, Mounts: mounts, Tmpfs: tmpfs };
}

/**
 * The real prepareSandboxMountPlan, in a gateway-like mount namespace, against a stand-in daemon
 * that runs the gateway's container (`runsGateway`) or does not know it (another daemon).
 */
function mountPlan(argv: string[], runsGateway: boolean) {
  const install = liveInstall();
  const work = mkdtempSync(join(tmpdir(), "botfleet-live-ns-"));
  const dist = join(install.pkg, "dist");
  const chunk = readdirSync(dist).find((f) => /^docker-.*\.mjs$/.test(f) && readFileSync(join(dist, f), "utf8").includes("async function discoverSourceNamespace("));
  if (!chunk) throw new Error(`no dist/docker-*.mjs with discoverSourceNamespace in ${dist}`);
  const bin = join(work, "bin");
  mkdirSync(bin);
  writeFileSync(join(work, "inspect.json"), JSON.stringify(inspectOf(argv)));
  writeFileSync(
    join(bin, "docker"),
    `#!/bin/bash
echo "docker $*" >> ${work}/calls.log
case "$1" in
  inspect) ${runsGateway ? `[ "\${@: -1}" = ${CONTAINER_ID} ] && exec cat ${work}/inspect.json` : ""}
    echo "Error: No such container: \${@: -1}" >&2; exit 1 ;;
  exec) [ "$2" = ${CONTAINER_ID} ] || exit 1; shift 2; exec "$@" ;;
esac
exit 1
`,
  );
  chmodSync(join(bin, "docker"), 0o755);
  const stateDir = inspectOf(argv).Mounts.find((m) => m.Source === VM_STATE_DIR)!.Destination;
  mkdirSync(join(work, "containers", CONTAINER_ID), { recursive: true });
  writeFileSync(join(work, "containers", CONTAINER_ID, "hostname"), CONTAINER_ID.slice(0, 12) + "\n");
  writeFileSync(
    join(work, "plan.mjs"),
    `const m = await import(${JSON.stringify(join(dist, chunk))});
const { x: DOCKER_SANDBOX_ENGINE, _: prepareSandboxMountPlan } = m;
try {
  const plan = await prepareSandboxMountPlan({
    engine: DOCKER_SANDBOX_ENGINE,
    workspaceDir: ${JSON.stringify(`${stateDir}/sandboxes/agent-main`)},
    agentWorkspaceDir: ${JSON.stringify(`${stateDir}/workspace`)},
    workdir: "/workspace",
    workspaceAccess: "none",
    tmpfs: ["/tmp", "/var/tmp", "/run"],
  });
  process.stdout.write(JSON.stringify({ binds: plan.binds }));
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e.message) }));
}
`,
  );
  // The gateway's view: its state at the container path (on a tmpfs over /home, this namespace's
  // alone), and Docker's /etc/hostname bind mount, which names the container.
  const script = `set -e
mount -t tmpfs tmpfs /home
mkdir -p ${stateDir}/sandboxes/agent-main ${stateDir}/workspace
mount --bind ${work}/containers/${CONTAINER_ID}/hostname /etc/hostname
exec "$0" ${work}/plan.mjs`;
  const r = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script, install.node], {
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: "/home/node", DOCKER_HOST: `unix://${SANDBOX.gatewaySocketDir}/${SANDBOX.socketName}` },
    encoding: "utf8",
    timeout: 60000,
  });
  if (r.status !== 0) throw new Error(`unshare: ${r.status} ${r.stderr}`);
  return { ...(JSON.parse(r.stdout) as { binds?: string[]; error?: string }), calls: readFileSync(join(work, "calls.log"), "utf8") };
}

const daemonScript = () => {
  const file = renderVmBootstrap(fleet, bot, openclaw).files.find((f) => f.path.endsWith("/sandbox-daemon.sh"))!.content;
  return file.replace(/\\\n\s*/g, " ").replace(/'/g, "");
};

test("on the sandbox daemon, which runs the gateway, OpenClaw maps a sandbox's workspace to a bind source that daemon has", () => {
  const argv = gatewayArgv(false);
  expect(argv.slice(0, 3)).toEqual(["--host", `unix://${SANDBOX.socketDir}/${SANDBOX.socketName}`, "run"]);
  const plan = mountPlan(argv, true);
  expect(plan.error).toBeUndefined();
  // It inspected the container /etc/hostname names, and ran its identity probe in it.
  expect(plan.calls).toContain(`docker inspect --type container --format`);
  expect(plan.calls).toMatch(new RegExp(`docker exec ${CONTAINER_ID} \\S+node -e`));
  expect(plan.binds).toEqual([`${VM_STATE_DIR}/sandboxes/agent-main:/workspace:z`]);
  // The daemon resolves that source in its own filesystem, where the state is bind-mounted at
  // the same path (sandbox-daemon.sh).
  expect(daemonScript()).toContain(`--volume ${VM_STATE_DIR}:${VM_STATE_DIR} `);
});

test("on a daemon that does not run the gateway (the VM's Docker beside the sandbox daemon) it refuses to mount anything", () => {
  const plan = mountPlan(gatewayArgv(false), false);
  expect(plan.binds).toBeUndefined();
  expect(plan.error).toContain("Cannot resolve sandbox bind sources from this Gateway container. Connect Docker to the daemon that runs the Gateway");
});

test("with the sandbox off the gateway runs on the VM's Docker, with no socket and no DOCKER_HOST", () => {
  const argv = gatewayArgv(true);
  expect(argv[0]).toBe("run");
  expect(argv.join(" ")).not.toMatch(/DOCKER_HOST|\/run\/botfleet/);
});
