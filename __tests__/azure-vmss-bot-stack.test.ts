import { decodeCustomData } from "../tfjson/terraform-json";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { gunzipSync, gzipSync } from "node:zlib";
import { App } from "cdktf";
import { parse } from "yaml";
import { buildFleet } from "../constructs/fleet";
import { azureSharedNames } from "../config/names";
import { STATE_SYNC_COMMAND, STATE_SYNC_IMAGE } from "../bootstrap/state-sync";
import { shellQuote } from "../bootstrap/templates";
import { CUSTOM_DATA_CACHE_KEY, renderVmBootstrap } from "../bootstrap/azure-vm";
import { openclaw } from "../runtimes/openclaw";
import { cacheFile } from "../scripts/disk-cache";
import { exampleFleet, fleetFrom, resources, synthFleet, type StackJson } from "./support/fleet";

const fleet = exampleFleet();
const { stacks } = synthFleet(fleet);
const alpha = stacks["bot-alpha"];
const [scaleSet] = resources(alpha, "azurerm_orchestrated_virtual_machine_scale_set");
const cloudConfig = decodeCustomData(scaleSet.os_profile.custom_data);
const files: Record<string, string> = Object.fromEntries((parse(cloudConfig).write_files as { path: string; content: string }[]).map((f) => [f.path, f.content]));

describe("bot-alpha: the scale set", () => {
  test("runs exactly one instance, with no way to get a second", () => {
    expect(scaleSet.instances).toBe(1);
    expect(scaleSet.platform_fault_domain_count).toBe(1);
    expect(scaleSet).not.toHaveProperty("rolling_upgrade_policy");
    expect(scaleSet).not.toHaveProperty("sku_profile");
  });

  test("is an Ubuntu 24.04 LTS VM of the tier's size with a 30 GB Standard SSD", () => {
    expect(scaleSet.source_image_reference).toEqual({ publisher: "Canonical", offer: "ubuntu-24_04-lts", sku: "server", version: "latest" });
    expect(scaleSet.sku_name).toBe("Standard_B2s");
    expect(resources(stacks["bot-beta"], "azurerm_orchestrated_virtual_machine_scale_set")[0].sku_name).toBe("Standard_B2s");
    expect(scaleSet.os_disk).toEqual({ caching: "ReadWrite", storage_account_type: "StandardSSD_LRS", disk_size_gb: 30 });
  });

  // The 2.0 extension is "Rich Health States": a 2xx whose body lacks "ApplicationHealthState":
  // "Healthy" is Unknown, and Unknown instances are repaired, so every bot was reimaged in a loop
  // (Azure/applicationhealth-extension-linux main/health.go, 2.0 line). 1.0 is binary: exactly
  // 200 is healthy (v1.0.7 main/health.go), which is what Caddy's /health answers.
  test("probes Caddy's plain-HTTP /health in binary mode (exactly 200 is healthy), so a gateway's plain health body keeps the bot healthy", () => {
    const health = scaleSet.extension[0];
    expect(health).toMatchObject({ publisher: "Microsoft.ManagedServices", type: "ApplicationHealthLinux", type_handler_version: "1.0" });
    const settings = JSON.parse(health.settings);
    expect(settings).toMatchObject({ protocol: "http", port: 80, requestPath: "/health" });
    // v1.0.7 main/handlersettings.go: intervalInSeconds x numberOfProbes may not exceed 120 s, or
    // the extension refuses its settings; within that, the longest run of failures before a
    // state change, so an agent restart (a rotated secret) is not taken for a failure.
    expect(settings.intervalInSeconds * settings.numberOfProbes).toBe(120);
  });

  // azurerm v4.55.0 reads settings back with Go's json.Marshal (sorted keys, compact) into the
  // `extension` set, whose hash covers the raw string (orchestrated_virtual_machine_scale_set.go:195,
  // 261-266, 1605; vendor/github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema/serialize.go:90-119):
  // only this exact text plans empty once deployed.
  test("writes the health extension's settings in the form the provider reads them back, so a deployed bot plans empty", () => {
    expect(scaleSet.extension[0].settings).toBe('{"intervalInSeconds":15,"numberOfProbes":8,"port":80,"protocol":"http","requestPath":"/health"}');
  });

  test("repairs by reimage after a grace period that covers the first boot with margin (Azure allows 10-90 minutes)", () => {
    expect(scaleSet.automatic_instance_repair).toEqual({ enabled: true, action: "Reimage", grace_period: "PT30M" });
    const minutes = Number(/^PT(\d+)M$/.exec(scaleSet.automatic_instance_repair.grace_period)![1]);
    expect(minutes).toBeGreaterThanOrEqual(10);
    expect(minutes).toBeLessThanOrEqual(90);
  });

  test("has a Standard public IP per instance, the bot's own identity and boot diagnostics", () => {
    const ip = scaleSet.network_interface[0].ip_configuration[0];
    expect(ip.subnet_id).toBe("${data.azurerm_subnet.bot-subnet.id}");
    expect(ip.public_ip_address).toEqual([{ name: "pip", sku_name: "Standard_Regional", idle_timeout_in_minutes: 30 }]);
    expect(scaleSet.identity).toEqual({ type: "UserAssigned", identity_ids: ["${azurerm_user_assigned_identity.identity.id}"] });
    expect(scaleSet.boot_diagnostics).toEqual({});
  });

  test("admin credential is a generated password kept in Key Vault; SSH refuses passwords", () => {
    expect(scaleSet.os_profile.linux_configuration.admin_password).toBe("${random_password.admin-password.result}");
    expect(parse(cloudConfig).ssh_pwauth).toBe(false);
  });

  // cloud-init uncompresses gzip user data (cloud-init docs, User-data formats: "Compressed
  // content"); without it the scripts and the state-sync engine came to about 61 KB of Azure's 64.
  test("custom data is the gzipped cloud-config and stays under Azure's 64 KB limit, even with the longest persona a fleet file allows", () => {
    expect([...Buffer.from(scaleSet.os_profile.custom_data, "base64").subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(scaleSet.os_profile.custom_data.length).toBeLessThan(65536);
    const longest = fleetFrom(
      `name: demo\nbots:\n  - name: bot-long\n    persona:\n      name: ${"N".repeat(50)}\n      theme: ${JSON.stringify('A calm & "quoted" researcher. '.repeat(130).slice(0, 4000))}\n    channels:\n      telegram:\n        allowFrom: [${Array.from({ length: 50 }, (_, i) => `"${100000000 + i}"`).join(", ")}]\n`,
    );
    const customData = resources(synthFleet(longest).stacks["bot-long"], "azurerm_orchestrated_virtual_machine_scale_set")[0].os_profile.custom_data;
    expect(customData.length).toBeLessThan(65536);
  });

  // The custom data is cached by content (scripts/disk-cache.js); what ships must be what the
  // renderer produced and the policy checked, whatever the cache holds.
  describe("custom data from the cache", () => {
    // A bot of its own (the process id in its persona), so that no other test reads its entry.
    const own = fleetFrom(`name: demo\nbots:\n  - name: bot-cache\n    persona:\n      name: "Cache test ${process.pid}"\n`);
    const render = () => renderVmBootstrap(own, own.bots[0], openclaw);

    test("is the renderer's cloud-config gzipped by this Node's zlib, on a miss and on a hit", () => {
      for (const { cloudConfig, customData } of [render(), render()]) expect(customData).toBe(gzipSync(Buffer.from(cloudConfig, "utf8")).toString("base64"));
    });

    test("an entry that does not unzip to the cloud-config (edited, truncated, from another machine) is replaced, not shipped", () => {
      const { cloudConfig } = render();
      const file = cacheFile("botfleet-custom-data", `${CUSTOM_DATA_CACHE_KEY}\0${cloudConfig}`);
      const edited = gzipSync(Buffer.from(cloudConfig.replace('"mode": "token"', '"mode": "none"'), "utf8")).toString("base64");
      expect(gunzipSync(Buffer.from(edited, "base64")).toString("utf8")).toContain('"mode": "none"');
      for (const kept of [edited, edited.slice(0, 1000), "not base64 gzip"]) {
        writeFileSync(file, kept);
        expect(gunzipSync(Buffer.from(render().customData, "base64")).toString("utf8")).toBe(cloudConfig);
        expect(readFileSync(file, "utf8")).toBe(gzipSync(Buffer.from(cloudConfig, "utf8")).toString("base64"));
      }
    });
  });
});

describe("bot-alpha: logs (issue 36)", () => {
  const shared = stacks["azure-shared-eastus2"];
  const [rule] = resources(shared, "azurerm_monitor_data_collection_rule");
  const agent = scaleSet.extension.find((e: { type: string }) => e.type === "AzureMonitorLinuxAgent");

  test("the Azure Monitor Agent runs as the bot's own identity, its settings in the form the provider reads them back", () => {
    expect(agent).toMatchObject({ name: "AzureMonitorLinuxAgent", publisher: "Microsoft.Azure.Monitor", type_handler_version: "1.36", auto_upgrade_minor_version_enabled: true });
    // Known at plan (built from names, like the ID the identity gets), sorted and compact as Go's json.Marshal writes it.
    const [identity] = resources(alpha, "azurerm_user_assigned_identity");
    const [group] = resources(alpha, "azurerm_resource_group");
    expect(agent.settings).toBe(
      `{"authentication":{"managedIdentity":{"identifier-name":"mi_res_id","identifier-value":"/subscriptions/\${data.azurerm_client_config.client.subscription_id}/resourceGroups/${group.name}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${identity.name}"}}}`,
    );
  });

  // Issue 36: a VM that stays unhealthy after repeated repairs gets its repairs suspended by Azure,
  // which only the scale set's activity log says (the VM may log nothing).
  test("an activity log alert on the scale set's automatic repairs changing state, to the fleet's action group, in the one location azurerm accepts", () => {
    const [alert] = resources(alpha, "azurerm_monitor_activity_log_alert");
    expect(alert).toMatchObject({
      name: "bot-alpha automatic repairs state changed",
      location: "global",
      scopes: ["${azurerm_orchestrated_virtual_machine_scale_set.scale-set.id}"],
      criteria: {
        category: "Administrative",
        operation_name: "Microsoft.Compute/virtualMachineScaleSets/setOrchestrationServiceState/action",
        level: "Informational",
        status: "Succeeded",
      },
      action: [{ action_group_id: "${data.azurerm_monitor_action_group.action-group.id}" }],
    });
    expect(alert.description).toMatch(/Runbook: docs\/runbooks\.md#vm-repairs-state$/);
  });

  test("the scale set is associated with the region's syslog rule, found by its ID", () => {
    const [association] = resources(alpha, "azurerm_monitor_data_collection_rule_association");
    expect(association).toMatchObject({
      name: "botfleet-syslog",
      target_resource_id: "${azurerm_orchestrated_virtual_machine_scale_set.scale-set.id}",
      data_collection_rule_id:
        "/subscriptions/${data.azurerm_client_config.client.subscription_id}/resourceGroups/rg-demo-eastus2/providers/Microsoft.Insights/dataCollectionRules/dcr-demo-eastus2-vm-syslog",
    });
    expect(rule.name).toBe("dcr-demo-eastus2-vm-syslog");
  });

  test("the rule sends facility daemon from Info and the kernel's warnings to the region's workspace", () => {
    expect(rule.kind).toBe("Linux");
    expect(rule.data_sources.syslog.map((s: { facility_names: string[]; log_levels: string[] }) => [s.facility_names, s.log_levels[0]])).toEqual([
      [["daemon"], "Info"],
      [["kern"], "Warning"],
    ]);
    expect(rule.destinations.log_analytics).toEqual([{ name: "workspace", workspace_resource_id: "${azurerm_log_analytics_workspace.container-apps_logs_31C3D425.id}" }]);
    expect(rule.data_flow).toEqual([{ streams: ["Microsoft-Syslog"], destinations: ["workspace"] }]);
  });

  test("the workspace keeps the Terraform address it had when only Container Apps used it, so no deployed fleet loses it", () => {
    expect(Object.keys(shared.resource.azurerm_log_analytics_workspace)).toEqual(["container-apps_logs_31C3D425"]);
    const acaOnly = synthFleet(fleetFrom("name: tf\nbots:\n  - name: bot-one\n    target: azure-container-apps\n")).stacks["azure-shared-eastus2"];
    expect(Object.keys(acaOnly.resource.azurerm_log_analytics_workspace)).toEqual(["container-apps_logs_31C3D425"]);
    expect(acaOnly.resource.azurerm_monitor_data_collection_rule).toBeUndefined();
  });
});

describe("bot-alpha: secrets", () => {
  const secrets = resources(alpha, "azurerm_key_vault_secret");
  const byName = Object.fromEntries(secrets.map((s) => [s.name, s]));

  test("every secret the bot needs exists in the shared vault", () => {
    expect(Object.keys(byName).sort()).toEqual(["bot-alpha--gateway-token", "bot-alpha--llm-api-key", "bot-alpha--search-api-key", "bot-alpha--telegram-bot-token", "bot-alpha--vm-admin-password"]);
    for (const s of secrets) expect(s.key_vault_id).toBe("${data.azurerm_key_vault.key-vault.id}");
  });

  test("the gateway token is generated; other secrets take their first value write-only from a sensitive variable, else the placeholder, and Terraform never writes them again", () => {
    expect(byName["bot-alpha--gateway-token"].value).toMatch(/^\$\{random_password\..*\.result\}$/);
    expect(byName["bot-alpha--gateway-token"].lifecycle).toEqual({ ignore_changes: ["value", "tags"] });
    // azurerm v4.55.0 internal/services/keyvault/key_vault_secret_resource.go: value_wo is
    // WriteOnly, needs value_wo_version, and is written only when that version changes.
    expect(byName["bot-alpha--llm-api-key"]).toMatchObject({ value_wo: "${var.llm_api_key}", value_wo_version: 1 });
    expect(byName["bot-alpha--llm-api-key"]).not.toHaveProperty("value");
    expect(alpha.variable.llm_api_key).toMatchObject({ type: "string", sensitive: true, nullable: false, default: "BOTFLEET_UNSET" });
    expect(alpha.variable.telegram_bot_token).toMatchObject({ sensitive: true, default: "BOTFLEET_UNSET" });
    expect(byName["bot-alpha--telegram-bot-token"].tags).toMatchObject({ env: "TELEGRAM_BOT_TOKEN", required: "true" });
    expect(byName["bot-alpha--search-api-key"].tags).toMatchObject({ env: "BRAVE_API_KEY", required: "false" });
  });

  // azurerm v4.55.0 key_vault_secret_resource.go reads tags and content type from the latest
  // version (399, 420); `az keyvault secret set --file` writes a version tagged file-encoding
  // only, with no content type. tags is Optional, not Computed (vendored
  // go-azure-helpers/resourcemanager/commonschema/tags.go:44-53): unset, it would still plan the
  // tag's removal, so it is ignored after create; an unset content_type equals the "" read back.
  test("after a value is set by hand (az keyvault secret set), the next plan changes no secret", () => {
    for (const s of secrets.filter((s) => s.name !== "bot-alpha--vm-admin-password")) {
      expect(s).not.toHaveProperty("content_type");
      expect(s.lifecycle.ignore_changes).toContain("tags");
    }
    expect(byName["bot-alpha--llm-api-key"].lifecycle).toEqual({ ignore_changes: ["tags"] });
  });

  test("no secret value appears anywhere in the synthesized output", () => {
    const text = JSON.stringify([stacks["bot-alpha"], stacks["bot-beta"], stacks["azure-shared-eastus2"]]);
    // Literal values only in outputs, which name addresses (url, state-store), never a credential.
    const withoutOutputs = JSON.stringify([stacks["bot-alpha"], stacks["bot-beta"], stacks["azure-shared-eastus2"]].map(({ output, ...rest }) => rest));
    expect(withoutOutputs).not.toMatch(/"value":"(?!BOTFLEET_UNSET|\$\{)/);
    for (const stack of ["bot-alpha", "bot-beta"]) expect(Object.keys(stacks[stack].output).sort()).toEqual(["identity", "state-store", "url"]);
    expect(text).not.toMatch(/sk-[A-Za-z0-9]{10,}|\d{8,10}:[A-Za-z0-9_-]{30,}/);
    expect(JSON.parse(files["/etc/botfleet/agent-config.json"]).channels.telegram.botToken).toEqual({ source: "env", provider: "default", id: "TELEGRAM_BOT_TOKEN" });
  });
});

describe("bot-alpha: one bot, one key ring", () => {
  test("runs as its own identity, which may read its own secrets (not the admin password) and its own state container, nothing else", () => {
    const [identity] = resources(alpha, "azurerm_user_assigned_identity");
    expect(identity).toMatchObject({ name: "id-bot-alpha", resource_group_name: "${azurerm_resource_group.resource-group.name}" });
    const secretAddress = (name: string) => Object.entries(alpha.resource.azurerm_key_vault_secret).find(([, s]) => (s as { name: string }).name === name)![0];
    const grants = resources(alpha, "azurerm_role_assignment").map((r) => [r.role_definition_name, r.scope, r.principal_id]);
    const own = "${azurerm_user_assigned_identity.identity.principal_id}";
    expect(grants.sort()).toEqual(
      [
        ...["gateway-token", "llm-api-key", "search-api-key", "telegram-bot-token"].map((k) => [
          "Key Vault Secrets User",
          `\${azurerm_key_vault_secret.${secretAddress(`bot-alpha--${k}`)}.resource_versionless_id}`,
          own,
        ]),
        ["Storage Blob Data Contributor", "${azurerm_storage_container.state_container_1883D0F8.id}", own],
      ].sort(),
    );
    expect(JSON.stringify(grants)).not.toContain(secretAddress("bot-alpha--vm-admin-password"));
    expect(JSON.stringify(alpha)).not.toMatch(/data\.azurerm_user_assigned_identity|data\.azurerm_storage_account/);
  });

  test("its own storage account holds its state's durable copy: HTTPS and TLS 1.2 only, nothing public", () => {
    expect(resources(alpha, "azurerm_storage_account")[0]).toMatchObject({
      name: "stbotalpha428602",
      https_traffic_only_enabled: true,
      min_tls_version: "TLS1_2",
      allow_nested_items_to_be_public: false,
      account_replication_type: "LRS",
      // Issue 33: deleted snapshots (and the container) can be undeleted for two weeks.
      blob_properties: { delete_retention_policy: { days: 14 }, container_delete_retention_policy: { days: 14 } },
    });
    expect(resources(alpha, "azurerm_storage_share")).toEqual([]);
    expect(resources(stacks["bot-beta"], "azurerm_storage_account")[0].name).not.toBe("stbotalpha428602");
  });
});

describe("bot-alpha: independence from the shared stack", () => {
  test("looks shared resources up by the names the shared stack gives them", () => {
    const names = azureSharedNames("demo", "eastus2");
    expect(Object.values(alpha.data.azurerm_subnet)[0]).toMatchObject({ name: names.botSubnet, virtual_network_name: names.virtualNetwork, resource_group_name: names.resourceGroup });
    expect(Object.values(alpha.data.azurerm_key_vault)[0]).toMatchObject({ name: names.keyVault, resource_group_name: names.resourceGroup });
    const shared = stacks["azure-shared-eastus2"];
    expect(resources(shared, "azurerm_key_vault")[0].name).toBe(names.keyVault);
  });

  test("cdktf.out/manifest.json lists no stack dependencies for any stack, so `cdktf deploy bot-alpha` runs alone", () => {
    const outdir = mkdtempSync(join(tmpdir(), "botfleet-synth-"));
    const app = new App({ outdir });
    buildFleet(app, fleet);
    app.synth();
    const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")) as { stacks: Record<string, StackJson> };
    expect(Object.keys(manifest.stacks).sort()).toEqual(["azure-shared-eastus2", "bot-alpha", "bot-beta", "bot-delta", "bot-epsilon", "bot-gamma", "gcp-shared-us-central1"]);
    for (const stack of Object.values(manifest.stacks)) expect(stack.dependencies).toEqual([]);
  });
});

describe("bot-alpha: the decoded cloud-init", () => {
  const boot = files["/usr/local/lib/botfleet/boot.sh"];

  test("runs the boot script once, which runs the eight steps in order and ends with READY", () => {
    expect(parse(cloudConfig).runcmd).toEqual([["/usr/local/lib/botfleet/boot.sh"]]);
    expect(boot).toContain("STEPS=(docker sysbox sandbox caddy state secrets config plugins agent)");
    expect(boot).toMatch(/log "READY: bot bot-alpha/);
  });

  test("1. Docker from Ubuntu's packages, with the bridge pinned", () => {
    expect(boot).toMatch(/retry "install Docker and tools" apt_get install -y --no-install-recommends docker\.io/);
    expect(boot).toContain("DOCKER_BRIDGE_CIDR='172.17.0.1/16'");
  });

  test("2. Sysbox 0.7.1 (0.7.0 fails on Ubuntu 24.04 with kernel 6.8 and containerd 2), checked against its SHA-256, degraded mode on failure", () => {
    expect(boot).toContain("SYSBOX_URL='https://downloads.nestybox.com/sysbox/releases/v0.7.1/sysbox-ce_0.7.1-0.linux_amd64.deb'");
    expect(boot).toContain("SYSBOX_SHA256='9d6d5484f980d0a17f86c492c1262015c2afb66280bdb97215b79fde6a0261c5'");
    expect(boot).toContain("sha256sum -c --status");
    expect(boot).toContain("sysbox: DEGRADED");
  });

  // The sandbox failing at boot put the gateway on the VM's Docker; every later agent start then
  // started the sandbox daemon too (Wants=), whose container took 127.0.0.1:18789 first: "port is
  // already allocated" at every start and reboot, /health 502, the VM reimaged.
  test("the agent unit never pulls in the sandbox daemon: boot.sh enables its unit only while the sandbox is on", () => {
    const unit = files["/etc/systemd/system/botfleet-agent.service"];
    expect(unit).not.toMatch(/^(Wants|Requires|BindsTo|Requisite)=.*botfleet-sandbox/m);
    expect(unit).toMatch(/^After=.*botfleet-sandbox\.service/m);
    expect(files["/etc/systemd/system/botfleet-sandbox.service"]).toMatch(/^WantedBy=multi-user\.target$/m);
    expect(files["/etc/systemd/system/botfleet-sandbox-retry.service"]).toContain("ExecStart=/usr/local/lib/botfleet/boot.sh sandbox agent");
    expect(files["/etc/systemd/system/botfleet-sandbox-retry.service"]).toContain("ConditionPathExists=/var/lib/botfleet/sandbox-off");
    expect(files["/etc/systemd/system/botfleet-sandbox-retry.timer"]).toMatch(/^OnUnitActiveSec=1h$/m);
  });

  // Docker >= 27.4 refuses --icc=false without br_netfilter, which a Sysbox container cannot load.
  test("the sandbox daemon's unit loads br_netfilter on the VM before every start", () => {
    expect(files["/etc/systemd/system/botfleet-sandbox.service"]).toContain("ExecStartPre=/bin/sh -c '[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || exec modprobe br_netfilter'");
  });

  test("3. Caddy from its official apt repository with the rendered Caddyfile", () => {
    expect(boot).toContain("https://dl.cloudsmith.io/public/caddy/stable/deb/debian any-version main");
    expect(files["/etc/botfleet/Caddyfile"]).toContain("alpha.bots.example.com {");
    expect(files["/etc/botfleet/Caddyfile"]).toContain("reverse_proxy 127.0.0.1:18789");
  });

  // Issue 14: SQLite in WAL mode over SMB (nobrl) corrupts; the live state stays on the VM's disk.
  test("4. state on the VM's own disk, its durable copy kept by the same state-sync engine and image as the containers; no mount, no storage key", () => {
    expect(Object.keys(files).filter((p) => /mount|storage-key|smb/.test(p))).toEqual([]);
    expect(cloudConfig).not.toMatch(/cifs|file\.core\.windows\.net|listKeys/);
    const sync = files["/usr/local/lib/botfleet/state-sync.sh"];
    expect(sync).toContain("--network host");
    expect(sync).toContain("--user '1000:1000'");
    expect(sync).toContain("--volume '/var/lib/botfleet/state:/botfleet/state'");
    expect(sync).toContain("--env 'STATE_SYNC_STORE=azure:https://stbotalpha428602.blob.core.windows.net/state'");
    expect(sync).toContain(`${shellQuote(STATE_SYNC_IMAGE)} ${STATE_SYNC_COMMAND.map(shellQuote).join(" ")}`);
    const unit = files["/etc/systemd/system/botfleet-state-sync.service"];
    expect(unit).toContain("ExecStart=/usr/local/lib/botfleet/state-sync.sh");
    expect(unit).toContain("ExecStartPre=/usr/bin/install -d -o 1000 -g 1000 -m 0700 /var/lib/botfleet/state");
    expect(files["/usr/local/lib/botfleet/run-agent.sh"]).toContain("--volume '/var/lib/botfleet/state:/home/node/.openclaw'");
    const [blob] = resources(alpha, "azurerm_storage_container");
    expect(blob).toMatchObject({ name: "state", container_access_type: "private", storage_account_id: "${azurerm_storage_account.state-storage.id}" });
    expect(resources(alpha, "azurerm_role_assignment")).toContainEqual(
      expect.objectContaining({ role_definition_name: "Storage Blob Data Contributor", principal_id: "${azurerm_user_assigned_identity.identity.principal_id}" }),
    );
  });

  test("5. secrets from Key Vault with the managed identity through IMDS, no Azure CLI", () => {
    const fetch = files["/usr/local/lib/botfleet/fetch-secrets.sh"];
    expect(fetch).toContain('KEY_VAULT_URL="${KEY_VAULT_URL:-https://kv-demo-9541b8.vault.azure.net}"');
    expect(fetch).toContain("fetch 'bot-alpha--gateway-token' 'OPENCLAW_GATEWAY_TOKEN' required");
    expect(fetch).toContain("fetch 'bot-alpha--search-api-key' 'BRAVE_API_KEY' optional");
    expect(files["/usr/local/lib/botfleet/common.sh"]).toContain("/metadata/identity/oauth2/token");
    expect(cloudConfig).not.toMatch(/\baz (login|keyvault secret show)/);
  });

  test("6. the agent config is merged into the state directory, keeping what the agent stored", () => {
    expect(boot).toContain(`jq -S -s '(.[0] | delpaths([["agents","list"]])) * .[1]' "$target" "$managed"`);
    const config = JSON.parse(files["/etc/botfleet/agent-config.json"]);
    expect(config.gateway).toEqual({
      mode: "local",
      bind: "lan",
      port: 18789,
      auth: { mode: "token" },
      trustedProxies: ["172.17.0.1"],
      controlUi: { allowedOrigins: ["https://alpha.bots.example.com"] },
    });
  });

  test("7. the gateway is published on 127.0.0.1 only, from the pinned image, restarted always", () => {
    const run = files["/usr/local/lib/botfleet/run-agent.sh"];
    // On the VM's Docker on its loopback; on the sandbox daemon inside that daemon's namespace,
    // which its container publishes on the VM's loopback only.
    expect(run.match(/--publish \S+/g)).toEqual(["--publish '18789:18789'", "--publish '127.0.0.1:18789:18789'"]);
    expect(files["/usr/local/lib/botfleet/sandbox-daemon.sh"].match(/--publish \S+/g)).toEqual(["--publish '127.0.0.1:18789:18789'"]);
    expect(run).not.toMatch(/\s-p\s|--network[= ]host|docker\.sock/);
    expect(run).toContain("'ghcr.io/openclaw/openclaw:2026.9.6'");
    // One hostname at every start: OpenClaw takes back a dead gateway's owner lease only on the same host.
    expect(run).toMatch(/^ {2}--hostname botfleet-agent$/m);
    const unit = files["/etc/systemd/system/botfleet-agent.service"];
    expect(unit).toContain("Restart=always");
    expect(unit).toContain("ExecStartPre=/usr/local/lib/botfleet/fetch-secrets.sh");
  });
});
