import { gunzipSync, gzipSync } from "node:zlib";
import { mebibytes, MEMORY_RESTART } from "../contracts";
import { cachedText } from "../scripts/disk-cache";
import type { Bot, Fleet } from "../config/load";
import type { Tier } from "../config/schema";
import { azureBotNames, azureSharedNames } from "../config/names";
import { posix } from "node:path";
import { rememberRenderedCloudInit } from "../tfjson/rendered-cloud-init";
import { CHANNEL_FAILURE_WINDOW_MINUTES, NOT_READY_MINUTES, requestedSandbox, UNSET_SECRET, WAITING_FOR_SECRETS, type AgentRuntime } from "../runtimes/runtime";
import { stringifyCloudConfig } from "./cloud-config";
import { PAIR_SCRIPT } from "./container";
import { render, shellQuote } from "./templates";
import { vmRelease, type VmRelease } from "./vm-release";
import {
  STATE_AGENT_FILE,
  STATE_PAIRING_DONE,
  STATE_PAIRING_FILE,
  STATE_READY_FILE,
  STATE_STATUS_FILE,
  STATE_SYNC_COMMAND,
  STATE_SYNC_IMAGE,
  STATE_SYNC_MOUNT,
  stateSyncContainer,
} from "./state-sync";

/** The agent's live state on the VM's own disk (never a network filesystem: issue 14). */
export const VM_STATE_DIR = "/var/lib/botfleet/state";

/** Docker's bridge on every bot VM; the gateway trusts its gateway address as the proxy. */
export const DOCKER_BRIDGE_CIDR = "172.17.0.1/16";
export const DOCKER_BRIDGE_IP = DOCKER_BRIDGE_CIDR.split("/")[0];

/**
 * Sysbox 0.7.1 (2026-07-31): 0.7.0 fails on Ubuntu 24.04 with kernel 6.8 and containerd 2.x, as
 * Ubuntu ships them now ("mount through procfd: operation not permitted", nestybox/sysbox#1013,
 * fixed by release PR #1024); 0.6.7 breaks with runc >= 1.3.3 (#972, #973). The SHA-256 is the
 * one every published installer that pins 0.7.1 agrees on (no copy of the release notes was
 * reachable from here); a download that does not match is not installed.
 */
export const SYSBOX = {
  url: "https://downloads.nestybox.com/sysbox/releases/v0.7.1/sysbox-ce_0.7.1-0.linux_amd64.deb",
  sha256: "9d6d5484f980d0a17f86c492c1262015c2afb66280bdb97215b79fde6a0261c5",
} as const;

/**
 * The agent's sandbox daemon: Docker-in-Docker under sysbox-runc (no --privileged; root in there
 * is an unprivileged user on the host). Its only API is a unix socket in a host directory that
 * the agent's group may enter; the gateway mounts that directory, never the host's Docker socket.
 */
export const SANDBOX = {
  /** docker's official dind image, pinned by version; its static `docker` CLI is lent to the gateway. */
  image: "docker:28.5.1-dind",
  socketDir: "/run/botfleet/sandbox",
  /** Not docker.sock: that name means the host's socket to every check (BF-SOCK-1, the tests). */
  socketName: "engine.sock",
  /** Where the gateway sees the socket directory. */
  gatewaySocketDir: "/run/botfleet-sandbox",
  /** The inner daemon's /var/lib/docker (images, the built sandbox image) on the VM's disk. */
  dataDir: "/var/lib/botfleet/sandbox-docker",
  /** The docker CLI copied out of the dind image: the published gateway image has none. */
  cli: "/var/lib/botfleet/sandbox-cli/docker",
  /** Exists (with the reason) while the sandbox is off at run time: Sysbox or its daemon failed. */
  offMarker: "/var/lib/botfleet/sandbox-off",
  /**
   * The daemon's own bridge, apart from the VM's (DOCKER_BRIDGE_CIDR), which its container sits on.
   * It runs with --icc=false (dockerd reference, "--icc": no traffic between containers on the
   * default bridge), so a sandbox given a network cannot reach the gateway's container directly.
   * Its container gets the agent tier's limits (AGENT_LIMITS) for the gateway and its sandboxes
   * together; bind sources are made before it starts, since Docker creates a missing `-v` source
   * as an empty root-owned directory (docs.docker.com, "Bind mounts").
   */
  bridgeCidr: "172.18.0.1/16",
} as const;

/**
 * Each tool sandbox container's share, inside the agent's (AGENT_LIMITS, which the sandbox daemon
 * holds for the gateway and its sandboxes together): a runaway tool cannot take the gateway's.
 */
export const SANDBOX_LIMITS: Record<Tier, { cpus: string; memory: string; pids: number }> = {
  light: { cpus: "0.5", memory: "512m", pids: 256 },
  standard: { cpus: "1", memory: "1g", pids: 256 },
  performance: { cpus: "1", memory: "2g", pids: 256 },
};

/** Addresses the agent's containers must not reach: identity tokens, and the host agent channel. */
export const IMDS_ADDRESS = "169.254.169.254";
export const WIRE_SERVER_ADDRESS = "168.63.129.16";

/** Azure's limit on custom data, which is base64-encoded. */
export const CUSTOM_DATA_LIMIT = 65536;

export const LIB_DIR = "/usr/local/lib/botfleet";
/** Exists while a required secret is missing; Caddy's /health then answers the waiting text. */
export const WAITING_MARKER = "/run/botfleet/waiting-for-secrets";
export const ETC_DIR = "/etc/botfleet";

/**
 * Day 2 on the VM (templates/vm/update.sh, docs/day-2.md): the release the VM runs, where it keeps
 * the previous one and the state from before an update, its status (Caddy serves it to local
 * callers at /botfleet/status), the marker that keeps the scale set's repair off during an update,
 * and the blobs in the bot's state container (desired release, status, last good release).
 */
export const RELEASE = {
  file: `${ETC_DIR}/release.json`,
  dir: "/var/lib/botfleet/releases",
  statusDir: "/var/lib/botfleet/status",
  updatingMarker: "/run/botfleet/updating",
  updatingText: "botfleet: UPDATING",
  blobPrefix: "botfleet-release",
  desiredBlob: "botfleet-release/desired.json",
  /**
   * The health gate: the gateway healthy 3 checks in a row (5 s apart) within this many seconds of
   * its start: 18 to 38 s measured on 2 shared cores (docs/targets/azure-vmss.md, Boot timeline),
   * about 2.5 times that at a B-series VM's baseline CPU.
   */
  healthSeconds: 180,
  healthChecks: 3,
  /** The agent restarts gracefully (snapshot first) at this share of its container's memory limit, at this many updater runs (a minute apart) in a row. */
  memoryRestartPercent: MEMORY_RESTART.percent,
  memoryRestartChecks: MEMORY_RESTART.checks,
  /** A chat channel's failure lines within this many minutes make the bot degraded in its status. */
  channelWindowMinutes: CHANNEL_FAILURE_WINDOW_MINUTES,
  notReadyMinutes: NOT_READY_MINUTES,
} as const;

/**
 * The agent container's share of the VM, per tier (light and standard on a B2s, 2 vCPU / 4 GiB;
 * performance on a D2s_v3, 2 / 8 GiB), leaving room for Docker, Caddy and the host; and a process
 * cap against fork bombs. The pinned gateway in its container (containers/gateway-memory): about
 * 1.0 GB resident idle, 1.6 to 1.75 GB through a busy session; killed at its second agent turn
 * under 1536m, so no tier gives it less than 2 GiB (and a B1ms, 2 GiB in all, cannot host it).
 */
export const AGENT_LIMITS: Record<Tier, { cpus: string; memory: string; pids: number }> = {
  light: { cpus: "0.9", memory: "2560m", pids: 512 },
  standard: { cpus: "1.8", memory: "3g", pids: 1024 },
  performance: { cpus: "1.8", memory: "6g", pids: 1024 },
};

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
  /** `cloudConfig` gzipped and base64-encoded, as the scale set's custom data. */
  readonly customData: string;
  /** The same files as a release, which Terraform writes as the bot's desired release. */
  readonly release: VmRelease;
}

/** Renders the cloud-init of an Azure VM that runs `bot` with `runtime` behind Caddy. */
export function renderVmBootstrap(fleet: Fleet, bot: Bot, runtime: AgentRuntime): VmBootstrap {
  const shared = azureSharedNames(fleet.name, bot.region, fleet.azure.uniqueSuffix);
  const names = azureBotNames(fleet.name, bot.name, fleet.azure.uniqueSuffix);
  const image = bot.image ?? runtime.image;
  const secrets = runtime.secrets(bot).map((s) => ({ ...s, vaultName: names.secret(s.key) }));
  const requested = requestedSandbox(bot, runtime);
  const sandbox = requested &&
    runtime.toolSandbox && {
      ...SANDBOX,
      sandboxImage: runtime.toolSandbox.image,
      dockerfile: `${ETC_DIR}/sandbox-image.Dockerfile`,
      socket: `${SANDBOX.socketDir}/${SANDBOX.socketName}`,
      daemonHost: `unix://${SANDBOX.socketDir}/${SANDBOX.socketName}`,
      mount: `${SANDBOX.socketDir}:${SANDBOX.gatewaySocketDir}:ro`,
      cliMount: `${SANDBOX.cli}:/usr/local/bin/docker:ro`,
      dockerHost: `${runtime.toolSandbox.dockerHostEnv}=unix://${SANDBOX.gatewaySocketDir}/${SANDBOX.socketName}`,
      dataMount: `${SANDBOX.dataDir}:/var/lib/docker`,
      socketMount: `${SANDBOX.socketDir}:${SANDBOX.socketDir}`,
      // The gateway's bind sources, at their VM paths inside the daemon's container.
      stateMount: `${VM_STATE_DIR}:${VM_STATE_DIR}`,
      cliDaemonMount: `${SANDBOX.cli}:${SANDBOX.cli}:ro`,
      // Inside the daemon's own network namespace; the daemon's container publishes it on 127.0.0.1.
      innerPublish: `${runtime.port}:${runtime.port}`,
      mode: requested.mode,
      network: requested.network,
      offConfig: `${ETC_DIR}/agent-config.no-sandbox.json`,
      offMarkerDir: posix.dirname(SANDBOX.offMarker),
      offMarkerFile: posix.basename(SANDBOX.offMarker),
    };
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
    botResourceGroup: names.resourceGroup,
    identityName: names.identity,
    keyVaultName: shared.keyVault,
    stateDir: VM_STATE_DIR,
    stateReadyFile: STATE_READY_FILE,
    stateAgentFile: STATE_AGENT_FILE,
    statePairingFile: STATE_PAIRING_FILE,
    statePairingDone: STATE_PAIRING_DONE,
    pairingCommand: runtime.pairingCommand ? runtime.pairingCommand.map(shellQuote).join(" ") : false,
    stateContainer: names.stateContainer,
    syncImage: STATE_SYNC_IMAGE,
    syncCommand: STATE_SYNC_COMMAND,
    syncVolume: `${VM_STATE_DIR}:${STATE_SYNC_MOUNT}`,
    syncEnvironment: Object.entries(stateSyncContainer(runtime, { store: `azure:https://${names.storageAccount}.blob.core.windows.net/${names.stateContainer}` }).environment).map(
      ([k, v]) => `${k}=${v}`,
    ),
    unsetPlaceholder: UNSET_SECRET,
    waitingMarker: WAITING_MARKER,
    waitingMarkerDir: posix.dirname(WAITING_MARKER),
    waitingMarkerFile: posix.basename(WAITING_MARKER),
    waitingText: WAITING_FOR_SECRETS,
    imdsAddress: IMDS_ADDRESS,
    wireServerAddress: WIRE_SERVER_ADDRESS,
    firewallRules: `${ETC_DIR}/agent-firewall.rules`,
    limits: AGENT_LIMITS[bot.tier],
    dockerBridgeCidr: DOCKER_BRIDGE_CIDR,
    sysbox: SYSBOX,
    secrets,
    environment: Object.entries(runtime.environment(bot, mebibytes(AGENT_LIMITS[bot.tier].memory))).map(([k, v]) => `${k}=${v}`),
    publish: `127.0.0.1:${runtime.port}:${runtime.port}`,
    volume: `${VM_STATE_DIR}:${runtime.stateDir}`,
    // The state directory sits in the runtime user's home; its cache beside it stays writable.
    homeCache: `${posix.dirname(runtime.stateDir)}/.cache`,
    user: `${runtime.uid}:${runtime.gid}`,
    agentStateDir: runtime.stateDir,
    sandbox: sandbox ?? false,
    configCheck: runtime.configCheck ? { entrypoint: runtime.configCheck[0], args: runtime.configCheck.slice(1) } : false,
    releaseFile: RELEASE.file,
    releasesDir: RELEASE.dir,
    statusDir: RELEASE.statusDir,
    updatingMarker: RELEASE.updatingMarker,
    updatingMarkerFile: posix.basename(RELEASE.updatingMarker),
    updatingText: RELEASE.updatingText,
    releaseBlobBase: `https://${names.storageAccount}.blob.core.windows.net/${names.stateContainer}/${RELEASE.blobPrefix}`,
    healthSeconds: RELEASE.healthSeconds,
    healthChecks: RELEASE.healthChecks,
    memoryRestartPercent: RELEASE.memoryRestartPercent,
    memoryRestartChecks: RELEASE.memoryRestartChecks,
    channelWindowMinutes: RELEASE.channelWindowMinutes,
    notReadyMinutes: RELEASE.notReadyMinutes,
    channelFailures: runtime.logSignals.channelDisconnect,
    sandboxOffMarker: SANDBOX.offMarker,
    stateStatusFile: STATE_STATUS_FILE,
  };
  const gateway = { publicOrigin: bot.domain ? `https://${bot.domain}` : undefined, trustedProxies: [DOCKER_BRIDGE_IP] };
  const agentConfig = runtime.config(bot, { ...gateway, sandbox: requested && { ...requested, limits: SANDBOX_LIMITS[bot.tier] } });
  // With the sandbox off at run time (Sysbox failed) the agent starts from this one instead.
  const sandboxFiles: VmFile[] = sandbox
    ? [
        { path: `${LIB_DIR}/sandbox-daemon.sh`, permissions: "0755", content: render("vm/sandbox-daemon.sh", context) },
        { path: sandbox.dockerfile, permissions: "0644", content: runtime.toolSandbox!.dockerfile },
        { path: sandbox.offConfig, permissions: "0644", content: JSON.stringify(runtime.config(bot, gateway), null, 2) + "\n" },
        { path: "/etc/systemd/system/botfleet-sandbox.service", permissions: "0644", content: render("vm/botfleet-sandbox.service", context) },
        { path: "/etc/systemd/system/botfleet-sandbox-retry.service", permissions: "0644", content: render("vm/botfleet-sandbox-retry.service", context) },
        { path: "/etc/systemd/system/botfleet-sandbox-retry.timer", permissions: "0644", content: render("vm/botfleet-sandbox-retry.timer", context) },
      ]
    : [];

  const rendered: VmFile[] = [
    { path: `${LIB_DIR}/common.sh`, permissions: "0644", content: render("vm/common.sh", context) },
    { path: `${LIB_DIR}/fetch-secrets.sh`, permissions: "0755", content: render("vm/fetch-secrets.sh", context) },
    { path: `${LIB_DIR}/state-sync.sh`, permissions: "0755", content: render("vm/state-sync.sh", context) },
    { path: `${LIB_DIR}/run-agent.sh`, permissions: "0755", content: render("vm/run-agent.sh", context) },
    ...(runtime.pairingCommand ? [{ path: `${LIB_DIR}/pair.sh`, permissions: "0644", content: PAIR_SCRIPT }] : []),
    { path: `${LIB_DIR}/install-plugins.sh`, permissions: "0755", content: render("vm/install-plugins.sh", context) },
    { path: `${LIB_DIR}/boot.sh`, permissions: "0755", content: render("vm/boot.sh", context) },
    { path: `${LIB_DIR}/update.sh`, permissions: "0755", content: render("vm/update.sh", context) },
    { path: `${ETC_DIR}/Caddyfile`, permissions: "0644", content: render("vm/Caddyfile", context) },
    { path: `${ETC_DIR}/agent-firewall.rules`, permissions: "0644", content: render("vm/agent-firewall.rules", context) },
    { path: `${ETC_DIR}/agent-config.json`, permissions: "0644", content: JSON.stringify(agentConfig, null, 2) + "\n" },
    ...sandboxFiles,
    { path: "/etc/systemd/system/botfleet-firewall.service", permissions: "0644", content: render("vm/botfleet-firewall.service", context) },
    { path: "/etc/systemd/system/botfleet-state-sync.service", permissions: "0644", content: render("vm/botfleet-state-sync.service", context) },
    { path: "/etc/systemd/system/botfleet-agent.service", permissions: "0644", content: render("vm/botfleet-agent.service", context) },
    { path: "/etc/systemd/system/botfleet-update.service", permissions: "0644", content: render("vm/botfleet-update.service", context) },
    { path: "/etc/systemd/system/botfleet-update.timer", permissions: "0644", content: render("vm/botfleet-update.timer", context) },
  ];
  const release = vmRelease(bot.name, image, RELEASE.file, rendered);
  const files = [...rendered, release.manifest];

  const document = {
    // The admin password exists for the Serial Console only; SSH never takes it (and port 22 is closed).
    ssh_pwauth: false,
    disable_root: true,
    write_files: files.map((f) => ({ path: f.path, permissions: f.permissions, owner: "root:root", content: f.content })),
    runcmd: [[`${LIB_DIR}/boot.sh`]],
  };
  const cloudConfig = "#cloud-config\n" + stringifyCloudConfig(document);
  // Gzipped, as cloud-init takes user data ("Compressed content: content found to be gzip
  // compressed will be uncompressed", cloud-init docs, User-data formats): the scripts, the
  // state-sync engine and the agent config would otherwise crowd Azure's 64 KB limit.
  const customData = gzippedCustomData(cloudConfig);
  if (customData.length > CUSTOM_DATA_LIMIT)
    throw new Error(
      `bot ${bot.name}: the rendered cloud-init is ${customData.length} bytes base64-encoded, over Azure's custom data limit of ${CUSTOM_DATA_LIMIT}; shorten persona.theme or the allowlists`,
    );
  rememberRenderedCloudInit(customData, { config: document, files: Object.fromEntries(files.map((f) => [f.path, f.content])) });
  return { files, cloudConfig, customData, release };
}

/** zlib's options for the custom data (its default level). */
const GZIP_OPTIONS = { level: 6 } as const;

/** What the custom data's cache entries are keyed by, besides the cloud-config itself. */
export const CUSTOM_DATA_CACHE_KEY = `zlib ${process.versions.zlib} ${process.platform} ${process.arch} ${JSON.stringify(GZIP_OPTIONS)}`;

/**
 * `cloudConfig` gzipped and base64-encoded, cached by content (scripts/disk-cache.js): gzip was a
 * tenth of a 100-bot synth, and most synths follow an edit to one bot or none. A kept entry is
 * used only if it unzips to `cloudConfig` (a quarter of gzip's cost), so that what the policy
 * checks is what ships, whatever the cache holds.
 */
function gzippedCustomData(cloudConfig: string): string {
  return cachedText(
    "botfleet-custom-data",
    `${CUSTOM_DATA_CACHE_KEY}\0${cloudConfig}`,
    () => gzipSync(Buffer.from(cloudConfig, "utf8"), GZIP_OPTIONS).toString("base64"),
    (kept) => {
      try {
        return gunzipSync(Buffer.from(kept, "base64")).toString("utf8") === cloudConfig;
      } catch {
        return false;
      }
    },
  );
}
