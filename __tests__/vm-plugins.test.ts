import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { renderVmBootstrap } from "../bootstrap/azure-vm";
import { openclaw } from "../runtimes/openclaw";
import { OPENCLAW_PLUGINS } from "../runtimes/openclaw-pins";
import { exampleFleet } from "./support/fleet";
import { layOutVmFiles } from "./support/vm";

/**
 * install-plugins.sh as rendered, with `docker` a stub standing in for the image's installer: it
 * records its calls, and its install record holds what INSTALLED_INTEGRITY says the registry gave.
 */
const fleet = exampleFleet();
const discordBot = fleet.bots.find((b) => b.name === "bot-beta")!;
const telegramBot = fleet.bots.find((b) => b.name === "bot-alpha")!;
const pinned = OPENCLAW_PLUGINS.discord.integrity;

function scratch(bot = discordBot) {
  const root = layOutVmFiles(renderVmBootstrap(fleet, bot, openclaw), "botfleet-plugins-");
  const bin = join(root, "stub-bin");
  mkdirSync(bin);
  writeFileSync(
    join(bin, "docker"),
    `#!/bin/bash
echo "docker $*" >> "${root}/calls.log"
case "$*" in
  *installedIndex*) [ -f "${root}/record" ] && printf '{"install":{"integrity":"%s"}}' "$(cat "${root}/record")" ;;
  *" plugins install "*) printf '%s' "$INSTALLED_INTEGRITY" > "${root}/record" ;;
esac
exit 0
`,
  );
  chmodSync(join(bin, "docker"), 0o755);
  return root;
}

function run(root: string, installed = pinned) {
  const r = spawnSync("bash", [join(root, "usr/local/lib/botfleet/install-plugins.sh")], {
    env: {
      PATH: `${join(root, "stub-bin")}:${process.env.PATH}`,
      BOTFLEET_ROOT: root,
      BOTFLEET_LIB: join(root, "usr/local/lib/botfleet"),
      RETRY_BASE_DELAY: "0",
      RETRY_ATTEMPTS: "2",
      INSTALLED_INTEGRITY: installed,
    },
    encoding: "utf8",
  });
  const calls = existsSync(join(root, "calls.log")) ? readFileSync(join(root, "calls.log"), "utf8") : "";
  return { status: r.status, log: r.stderr, calls };
}

test("installs the pinned Discord plugin with the image's own installer, into the state, as the agent's user", () => {
  const root = scratch();
  const r = run(root);
  expect(r.status).toBe(0);
  expect(r.log).toContain("plugins: installed @openclaw/discord@2026.9.6 (discord)");
  // On the daemon that runs the gateway: the sandbox daemon while the tool sandbox is on.
  expect(r.calls).toContain(
    `docker --host unix:///run/botfleet/sandbox/engine.sock run --rm --user 1000:1000 --volume ${root}/var/lib/botfleet/state:/home/node/.openclaw --env OPENCLAW_STATE_DIR=/home/node/.openclaw --env OPENCLAW_GATEWAY_PORT=18789 --env NODE_OPTIONS=--max-old-space-size=1280 --entrypoint node ghcr.io/openclaw/openclaw:2026.9.6 openclaw.mjs plugins install npm:@openclaw/discord@2026.9.6 --pin --force --accept-capabilities`,
  );
});

test("a second run keeps the installed plugin", () => {
  const root = scratch();
  run(root);
  const second = run(root);
  expect(second.status).toBe(0);
  expect(second.log).toContain("already installed");
  expect(second.calls.match(/plugins install/g)).toHaveLength(1);
});

test("an install whose integrity is not the pinned one stops the boot", () => {
  const r = run(scratch(), "sha512-tampered");
  expect(r.status).not.toBe(0);
  expect(r.log).toContain(`plugins: @openclaw/discord@2026.9.6 installed with integrity sha512-tampered, pinned ${pinned}`);
});

test("a bot without external channels installs nothing", () => {
  const r = run(scratch(telegramBot));
  expect(r.status).toBe(0);
  expect(r.calls).toBe("");
  expect(r.log).toContain("plugins: 0 pinned plugin(s) in place");
});
