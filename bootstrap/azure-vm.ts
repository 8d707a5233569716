import { stringify } from "yaml";
import type { Bot, Fleet } from "../config/load";
import { azureBotNames, azureSharedNames } from "../config/names";
import { UNSET_SECRET, type AgentRuntime } from "../runtimes/runtime";
import { render } from "./templates";

/** Docker's bridge on every bot VM; the gateway trusts its gateway address as the proxy. */
export const DOCKER_BRIDGE_CIDR = "172.17.0.1/16";
export const DOCKER_BRIDGE_IP = DOCKER_BRIDGE_CIDR.split("/")[0];

/** Sysbox 0.7.0: supports Ubuntu 24.04 and current runc (0.6.7 breaks with runc >= 1.3.3). */
export const SYSBOX = {
  url: "https://downloads.nestybox.com/sysbox/releases/v0.7.0/sysbox-ce_0.7.0-0.linux_amd64.deb",
  sha256: "eeff273671467b8fa351ab3d40709759462dc03d9f7b50a1b207b37982ce40a9",
} as const;

/** Azure's limit on custom data, which is base64-encoded. */
export const CUSTOM_DATA_LIMIT = 65536;

export const LIB_DIR = "/usr/local/lib/botfleet";
export const ETC_DIR = "/etc/botfleet";

export interface VmFile {
  readonly path: string;
  readonly permissions: string;
  readonly content: string;
}

export interface VmBootstrap {
  /** Every file cloud-init writes, in order. */
  readonly files: readonly VmFile[];
  /** The `#cloud-config` document. */
  readonly cloudConfig: string;
  /** `cloudConfig` base64-encoded, as the scale set's custom data. */
  readonly customData: string;
}

/** Renders the cloud-init of an Azure VM that runs `bot` with `runtime` behind Caddy. */
export function renderVmBootstrap(fleet: Fleet, bot: Bot, runtime: AgentRuntime): VmBootstrap {
  const shared = azureSharedNames(fleet.name, bot.region, fleet.azure.uniqueSuffix);
  const names = azureBotNames(fleet.name, bot.name);
  const image = bot.image ?? runtime.image;
  const secrets = runtime.secrets(bot).map((s) => ({ ...s, vaultName: names.secret(s.key) }));
  const context = {
    bot: bot.name,
    runtime: runtime.id,
    domain: bot.domain ?? false,
    port: runtime.port,
    healthPath: runtime.healthPath,
    gatewayHealthUrl: `http://127.0.0.1:${runtime.port}${runtime.healthPath}`,
    uid: runtime.uid,
    gid: runtime.gid,
    configFile: runtime.configFile,
    // The stored config without the runtime's retired keys, with the managed settings laid over it.
    plugins: runtime.plugins(bot),
    stopTimeout: runtime.stopTimeoutSeconds,
    // systemd waits for `docker stop` itself, plus a margin.
    unitStopTimeout: runtime.stopTimeoutSeconds + 15,
    mergeFilter: `(.[0] | delpaths(${JSON.stringify(runtime.retiredConfigPaths)})) * .[1]`,
    image,
    entrypoint: runtime.command[0],
    args: runtime.command.slice(1),
    sharedResourceGroup: shared.resourceGroup,
    identityName: shared.identity,
    keyVaultName: shared.keyVault,
    storageAccount: shared.storageAccount,
    stateShare: shared.stateShare,
    stateDirectory: names.stateDirectory,
    unsetPlaceholder: UNSET_SECRET,
    dockerBridgeCidr: DOCKER_BRIDGE_CIDR,
    sysbox: SYSBOX,
    secrets,
    environment: Object.entries(runtime.environment(bot)).map(([k, v]) => `${k}=${v}`),
    publish: `127.0.0.1:${runtime.port}:${runtime.port}`,
    volume: `/var/lib/botfleet/state:${runtime.stateDir}`,
    user: `${runtime.uid}:${runtime.gid}`,
    stateDir: runtime.stateDir,
  };
  const agentConfig = runtime.config(bot, {
    publicOrigin: bot.domain ? `https://${bot.domain}` : undefined,
    trustedProxies: [DOCKER_BRIDGE_IP],
  });

  const files: VmFile[] = [
    { path: `${LIB_DIR}/common.sh`, permissions: "0644", content: render("vm/common.sh", context) },
    { path: `${LIB_DIR}/fetch-secrets.sh`, permissions: "0755", content: render("vm/fetch-secrets.sh", context) },
    { path: `${LIB_DIR}/storage-key.sh`, permissions: "0755", content: render("vm/storage-key.sh", context) },
    { path: `${LIB_DIR}/run-agent.sh`, permissions: "0755", content: render("vm/run-agent.sh", context) },
    { path: `${LIB_DIR}/install-plugins.sh`, permissions: "0755", content: render("vm/install-plugins.sh", context) },
    { path: `${LIB_DIR}/boot.sh`, permissions: "0755", content: render("vm/boot.sh", context) },
    { path: `${ETC_DIR}/Caddyfile`, permissions: "0644", content: render("vm/Caddyfile", context) },
    { path: `${ETC_DIR}/agent-config.json`, permissions: "0644", content: JSON.stringify(agentConfig, null, 2) + "\n" },
    { path: "/etc/systemd/system/botfleet-storage-key.service", permissions: "0644", content: render("vm/botfleet-storage-key.service", context) },
    { path: "/etc/systemd/system/var-lib-botfleet-state.mount", permissions: "0644", content: render("vm/state.mount", context) },
    { path: "/etc/systemd/system/botfleet-agent.service", permissions: "0644", content: render("vm/botfleet-agent.service", context) },
  ];

  const cloudConfig =
    "#cloud-config\n" +
    stringify(
      {
        // The admin password exists for the Serial Console only; SSH never takes it (and port 22 is closed).
        ssh_pwauth: false,
        disable_root: true,
        write_files: files.map((f) => ({ path: f.path, permissions: f.permissions, owner: "root:root", content: f.content })),
        runcmd: [[`${LIB_DIR}/boot.sh`]],
      },
      { lineWidth: 0, blockQuote: "literal" },
    );
  const customData = Buffer.from(cloudConfig, "utf8").toString("base64");
  if (customData.length > CUSTOM_DATA_LIMIT)
    throw new Error(
      `bot ${bot.name}: the rendered cloud-init is ${customData.length} bytes base64-encoded, over Azure's custom data limit of ${CUSTOM_DATA_LIMIT}; shorten persona.theme or the allowlists`,
    );
  return { files, cloudConfig, customData };
}
