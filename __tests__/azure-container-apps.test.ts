import { consoleLogQuery } from "../constructs/container-app-alerts";
import { azureSharedNames } from "../config/names";
import { openclaw } from "../runtimes/openclaw";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { STATE_SYNC_COMMAND, STATE_SYNC_IMAGE, STATE_SYNC_MOUNT, STATE_SYNC_SOURCE, withoutCommentLines } from "../bootstrap/state-sync";
import { exampleFleet, fleetFrom, resources, synthFleet, type StackJson } from "./support/fleet";

const fleet = exampleFleet();
const { stacks } = synthFleet(fleet);
const delta = stacks["bot-delta"];
const shared = stacks["azure-shared-eastus2"];
const [app] = resources(delta, "azurerm_container_app");
const [container, sidecar] = app.template.container;
const names = azureSharedNames("demo", "eastus2");
const identityRef = "${azurerm_user_assigned_identity.identity.id}";
// The same identity, spelled from values known at plan (see the CustomizeDiff test).
const identityAtPlan = "/subscriptions/${data.azurerm_client_config.client.subscription_id}/resourceGroups/rg-demo-bot-delta/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-bot-delta";

/** One Container Apps bot in a fleet of its own. */
function appOf(botExtra: string, azureExtra = ""): { app: StackJson; stacks: Record<string, StackJson> } {
  const s = synthFleet(fleetFrom(`name: tf\nazure:\n  addressSpace: 10.0.0.0/16\n${azureExtra}bots:\n  - name: bot-one\n    target: azure-container-apps\n${botExtra}`)).stacks;
  return { app: resources(s["bot-one"], "azurerm_container_app")[0], stacks: s };
}

describe("bot-delta: the container app", () => {
  test("runs a single revision with exactly one replica, of the tier's size, on the Consumption profile", () => {
    expect(app.revision_mode).toBe("Single");
    expect(app.template.min_replicas).toBe(1);
    expect(app.template.max_replicas).toBe(1);
    expect(container).toMatchObject({ cpu: 1.5, memory: "3Gi" });
    expect(app.workload_profile_name).toBe("Consumption");
    expect(appOf("    tier: light\n").app.template.container[0]).toMatchObject({ cpu: 1.25, memory: "2.5Gi" });
  });

  test("runs the pinned image, pulled with the managed identity, in the public environment", () => {
    expect(container.image).toBe(openclaw.image);
    expect(app.identity).toEqual({ type: "UserAssigned", identity_ids: [identityRef] });
    expect(app.registry).toEqual([{ server: `${names.containerRegistry}.azurecr.io`, identity: identityAtPlan }]);
    expect(resources(delta, "azurerm_user_assigned_identity")[0]).toMatchObject({ name: "id-bot-delta", resource_group_name: "${azurerm_resource_group.resource-group.name}" });
    expect(delta.data.azurerm_container_app_environment.environment.name).toBe(names.containerAppsEnvironment);
  });

  test("gets every secret as a versionless Key Vault reference through the identity, and no value", () => {
    expect(app.secret.map((s: StackJson) => s.name).sort()).toEqual(["discord-bot-token", "gateway-token", "llm-api-key", "search-api-key"]);
    for (const s of app.secret) {
      expect(s.key_vault_secret_id).toBe(`\${data.azurerm_key_vault.key-vault.vault_uri}secrets/bot-delta--${s.name}`);
      expect(s.identity).toBe(identityAtPlan);
      expect(s).not.toHaveProperty("value");
    }
    // Referenced by address, so the app must come after the secrets it names.
    expect(app.depends_on.filter((d: string) => d.startsWith("azurerm_key_vault_secret."))).toHaveLength(4);
    const refs = container.env.filter((e: StackJson) => e.secret_name);
    expect(refs.map((e: StackJson) => [e.name, e.secret_name]).sort()).toEqual(
      [
        ["BRAVE_API_KEY", "search-api-key"],
        ["DISCORD_BOT_TOKEN", "discord-bot-token"],
        ["OPENCLAW_GATEWAY_TOKEN", "gateway-token"],
        ["ANTHROPIC_API_KEY", "llm-api-key"],
      ].sort(),
    );
    for (const e of refs) expect(e).not.toHaveProperty("value");
    for (const s of resources(delta, "azurerm_key_vault_secret")) expect(s.value ?? s.value_wo).toMatch(/^(\$\{var\.[a-z_]+\}|\$\{random_password\.[\w-]+\.result\})$/);
  });

  // azurerm v4.55.0 internal/services/containerapps/container_app_resource.go, CustomizeDiff:
  // `secret` is a set, and at plan an unknown string inside a set decodes as "". A secret with an
  // identity but an empty key_vault_secret_id is refused: "must supply key vault secret id when
  // specifying identity". Values that are resource attributes are unknown until apply; literals,
  // variables and these stacks' data sources (whose arguments are all literals) are known.
  test("every secret's Key Vault reference is known at plan, so the provider's CustomizeDiff accepts it", () => {
    const atPlan = (value: string | undefined) => (value === undefined || /\$\{(?!data\.|var\.)/.test(value) ? "" : value);
    for (const stack of [delta, appOf("    internalOnly: true\n", "  containerAppsSubnet: 10.0.2.0/27\n").stacks["bot-one"]])
      for (const data of Object.values(stack.data as Record<string, Record<string, object>>).flatMap((byId) => Object.values(byId))) expect(JSON.stringify(data)).not.toMatch(/\$\{(?!data\.)/);
    for (const s of app.secret as { name: string; key_vault_secret_id?: string; identity?: string }[]) {
      const id = atPlan(s.key_vault_secret_id);
      const identity = atPlan(s.identity);
      expect([s.name, id !== "" || identity === ""]).toEqual([s.name, true]);
      expect([s.name, identity !== "" || id === ""]).toEqual([s.name, true]);
    }
  });

  test("tells the agent its stable https address (the Control UI's allowed origin) and outputs it, not the revision's", () => {
    const origin = container.env.find((e: StackJson) => e.name === "BOTFLEET_PUBLIC_ORIGIN");
    expect(origin.value).toBe("https://bot-delta.${data.azurerm_container_app_environment.environment.default_domain}");
    const config = JSON.parse(container.env.find((e: StackJson) => e.name === "BOTFLEET_AGENT_CONFIG").value.replace(/\$\$\{/g, "${"));
    expect(config.gateway.controlUi.allowedOrigins).toEqual(["${BOTFLEET_PUBLIC_ORIGIN}"]);
    // Reachable from the environment only: Container Apps names such an app <app>.internal.<domain>.
    const closed = resources(appOf("").stacks["bot-one"], "azurerm_container_app")[0].template.container[0].env;
    expect(closed.find((e: StackJson) => e.name === "BOTFLEET_PUBLIC_ORIGIN").value).toBe("https://bot-one.internal.${data.azurerm_container_app_environment.environment.default_domain}");
    expect(delta.output.url.value).toBe("https://${azurerm_container_app.app.ingress[0].fqdn}");
  });

  test("with a secret unset, the app serves the waiting text instead of failing its revision, and says how to set it and restart", () => {
    const env = Object.fromEntries(container.env.filter((e: StackJson) => e.value !== undefined).map((e: StackJson) => [e.name, e.value]));
    expect(env.BOTFLEET_WAITING_SERVER).toMatch(/^'node' '-e' /);
    expect(env.BOTFLEET_SECRET_HINT).toContain("then restart: az containerapp revision restart -g rg-demo-bot-delta -n bot-delta --revision");
  });

  // Issue 14: SQLite in WAL mode on SMB (nobrl) with overlapping revisions corrupts the state.
  test("keeps the agent's live state on the replica's EmptyDir volume, never an Azure Files share", () => {
    expect(app.template.volume).toEqual([{ name: "state", storage_type: "EmptyDir" }]);
    expect(resources(delta, "azurerm_storage_share")).toEqual([]);
    expect(resources(delta, "azurerm_container_app_environment_storage")).toEqual([]);
    expect(container.volume_mounts).toEqual([{ name: "state", path: "/home/node/.openclaw" }]);
    expect(sidecar.volume_mounts).toEqual([{ name: "state", path: STATE_SYNC_MOUNT }]);
  });

  test("keeps the durable copy in the bot's own private blob container, which only the bot's identity may use", () => {
    const [blob] = resources(delta, "azurerm_storage_container");
    expect(blob).toEqual({ name: "state", storage_account_id: "${azurerm_storage_account.state-storage.id}", container_access_type: "private" });
    expect(resources(delta, "azurerm_storage_account")[0].name).toBe("stbotdeltafb056c");
    const grants = resources(delta, "azurerm_role_assignment").filter((g) => g.role_definition_name === "Storage Blob Data Contributor");
    expect(grants).toEqual([
      expect.objectContaining({
        // Scoped to the container itself, not the account.
        scope: expect.stringMatching(/^\$\{azurerm_storage_container\.state_container_[0-9A-F]+\.id\}$/),
        principal_id: "${azurerm_user_assigned_identity.identity.principal_id}",
        principal_type: "ServicePrincipal",
      }),
    ]);
    const other = appOf("").stacks["bot-one"];
    expect(resources(other, "azurerm_storage_account")[0].name).not.toBe(resources(delta, "azurerm_storage_account")[0].name);
  });

  test("runs the state-sync sidecar from the pinned Node image with the engine's source, the bot's identity and its container", () => {
    expect(sidecar).toMatchObject({ name: "state-sync", image: STATE_SYNC_IMAGE, cpu: 0.25, memory: "0.5Gi" });
    expect(sidecar.command).toEqual(STATE_SYNC_COMMAND);
    expect(gunzipSync(Buffer.from(sidecar.command[3], "base64")).toString("utf8")).toBe(withoutCommentLines(STATE_SYNC_SOURCE));
    const env = Object.fromEntries(sidecar.env.map((e: StackJson) => [e.name, e.value]));
    expect(env).toMatchObject({
      STATE_SYNC_MAIN: "1",
      STATE_SYNC_DIR: STATE_SYNC_MOUNT,
      STATE_SYNC_STORE: "azure:https://stbotdeltafb056c.blob.core.windows.net/state",
      STATE_SYNC_OWNER: "1000:1000",
      STATE_SYNC_CLIENT_ID: "${azurerm_user_assigned_identity.identity.client_id}",
    });
    expect(container.env).toContainEqual({ name: "BOTFLEET_STATE_READY", value: "/home/node/.openclaw/.botfleet-state-ready" });
    // The app's total stays a combination the Consumption profile allows (memory = 2 x vCPU).
    for (const tier of ["light", "standard", "performance"]) {
      const [agent, sync] = appOf(`    tier: ${tier}\n`).app.template.container;
      expect(parseFloat(agent.memory) + parseFloat(sync.memory)).toBe(2 * (agent.cpu + sync.cpu));
    }
  });

  // Measured on the container suite's Container Apps stand-in: the final snapshot at state-sync's
  // 0.25 vCPU took 24 s of the 30 s grace for a 28 MB state; both containers exit once done.
  test("gives a stopping replica 120 s between SIGTERM and SIGKILL for the final snapshot", () => {
    expect(app.template.termination_grace_period_seconds).toBe(120);
  });

  test("probes liveness, readiness and startup on the runtime's health path", () => {
    for (const probe of ["liveness_probe", "readiness_probe", "startup_probe"]) expect(container[probe]).toEqual([expect.objectContaining({ transport: "HTTP", port: 18789, path: "/healthz" })]);
  });
});

describe("bot-delta: ingress", () => {
  test("listens on the runtime's port, HTTPS only, admitting only the fleet file's ranges", () => {
    expect(app.ingress).toMatchObject({ target_port: 18789, allow_insecure_connections: false, external_enabled: true });
    expect(app.ingress.ip_security_restriction).toEqual([{ name: "allow-1", action: "Allow", ip_address_range: "203.0.113.0/24", description: "from the fleet file" }]);
  });

  test("is closed to the internet by default, open to all only with publicAccess", () => {
    const closed = appOf("").app;
    expect(closed.ingress.external_enabled).toBe(false);
    expect(closed.ingress).not.toHaveProperty("ip_security_restriction");
    const open = appOf("    publicAccess: true\n").app;
    expect(open.ingress.external_enabled).toBe(true);
    expect(open.ingress).not.toHaveProperty("ip_security_restriction");
  });

  test("turns several ranges into rules of one action", () => {
    const rules = appOf('    allowedIpRanges: ["198.51.100.7/32", "203.0.113.0/24"]\n').app.ingress.ip_security_restriction;
    expect(rules.map((r: StackJson) => [r.action, r.ip_address_range])).toEqual([
      ["Allow", "198.51.100.7/32"],
      ["Allow", "203.0.113.0/24"],
    ]);
    const denied = appOf('    publicAccess: true\n    deniedIpRanges: ["192.0.2.0/24"]\n').app.ingress.ip_security_restriction;
    expect(denied.map((r: StackJson) => r.action)).toEqual(["Deny"]);
  });

  test("internalOnly puts the bot in the internal environment, in its delegated subnet behind an internal load balancer", () => {
    const { app: internal, stacks: s } = appOf("    internalOnly: true\n", "  containerAppsSubnet: 10.0.2.0/27\n");
    expect(internal.ingress.external_enabled).toBe(true);
    expect(s["bot-one"].data.azurerm_container_app_environment.environment.name).toBe("cae-tf-eastus2-internal");
    const environments = resources(s["azure-shared-eastus2"], "azurerm_container_app_environment");
    const inner = environments.find((e) => e.name === "cae-tf-eastus2-internal")!;
    expect(inner.internal_load_balancer_enabled).toBe(true);
    expect(inner.infrastructure_subnet_id).toMatch(/^\$\{azurerm_subnet\.container-apps_subnet_[0-9A-F]+\.id\}$/);
    const subnet = resources(s["azure-shared-eastus2"], "azurerm_subnet").find((n) => n.name === "snet-container-apps")!;
    expect(subnet.address_prefixes).toEqual(["10.0.2.0/27"]);
    expect(subnet.delegation[0].service_delegation.name).toBe("Microsoft.App/environments");
  });
});

describe("azure-shared-eastus2: what Container Apps bots share", () => {
  test("a Log Analytics workspace with the configured retention and daily cap", () => {
    expect(resources(shared, "azurerm_log_analytics_workspace")).toEqual([expect.objectContaining({ name: "log-demo-eastus2", retention_in_days: 30, daily_quota_gb: 1, sku: "PerGB2018" })]);
    const custom = appOf("", "  logRetentionDays: 90\n  logDailyCapGb: 0.5\n").stacks["azure-shared-eastus2"];
    expect(resources(custom, "azurerm_log_analytics_workspace")[0]).toMatchObject({ retention_in_days: 90, daily_quota_gb: 0.5 });
  });

  test("a registry without admin user, which each bot's own identity pulls from with AcrPull granted in the bot's stack", () => {
    expect(resources(shared, "azurerm_container_registry")).toEqual([expect.objectContaining({ name: names.containerRegistry, admin_enabled: false, anonymous_pull_enabled: false })]);
    expect(resources(shared, "azurerm_role_assignment").filter((r) => r.role_definition_name === "AcrPull")).toEqual([]);
    const pull = resources(delta, "azurerm_role_assignment").find((r) => r.role_definition_name === "AcrPull")!;
    expect(pull).toMatchObject({ scope: "${data.azurerm_container_registry.registry.id}", principal_id: "${azurerm_user_assigned_identity.identity.principal_id}" });
  });

  // Container Apps resolves Key Vault references and pulls with the identity when it provisions
  // the revision: the grants made in this stack must have taken effect first.
  test("the app waits, once, for its identity's grants to take effect", () => {
    const [sleep] = resources(delta, "time_sleep");
    expect(sleep.create_duration).toBe("5m");
    const grants = Object.keys(delta.resource.azurerm_role_assignment).map((id) => `azurerm_role_assignment.${id}`);
    expect([...sleep.depends_on].sort()).toEqual(grants.sort());
    expect(app.depends_on).toContain("time_sleep.role-propagation");
  });

  test("a grant added by a later deploy makes the app wait again: the sleep's triggers name every grant", () => {
    const [sleep] = resources(delta, "time_sleep");
    const grants = Object.keys(delta.resource.azurerm_role_assignment).map((id) => `\${azurerm_role_assignment.${id}.id}`);
    expect(Object.values(sleep.triggers as Record<string, string>).sort()).toEqual(grants.sort());
  });

  test("the public environment only, when no bot is internal-only", () => {
    expect(resources(shared, "azurerm_container_app_environment").map((e) => e.name)).toEqual([names.containerAppsEnvironment]);
    expect(resources(shared, "azurerm_subnet").map((s) => s.name)).toEqual(["snet-bots"]);
  });

  test("nothing of Container Apps in a region without such bots", () => {
    const vmOnly = synthFleet(fleetFrom("name: tf\nbots:\n  - name: bot-one\n")).stacks["azure-shared-eastus2"];
    // The region's Log Analytics workspace is every Azure bot's (RegionLogs), VM bots' too.
    for (const type of ["azurerm_container_app_environment", "azurerm_container_registry", "azurerm_monitor_action_group"]) expect(vmOnly.resource[type]).toBeUndefined();
  });
});

describe("bot-delta: alerts", () => {
  const queries = resources(delta, "azurerm_monitor_scheduled_query_rules_alert_v2");

  test("go to the action group with the configured e-mail", () => {
    expect(resources(shared, "azurerm_monitor_action_group")[0].email_receiver).toEqual([{ name: "operator", email_address: "ops@example.com", use_common_alert_schema: true }]);
    const group = "${data.azurerm_monitor_action_group.action-group.id}";
    expect(resources(delta, "azurerm_monitor_metric_alert")[0].action).toEqual([{ action_group_id: group }]);
    for (const q of queries) expect(q.action.action_groups).toEqual([group]);
  });

  test("alert on replica restarts by metric, and by log query on botfleet's alarms, auth failures, disconnects and volume", () => {
    const [restarts] = resources(delta, "azurerm_monitor_metric_alert");
    expect(restarts.criteria).toEqual([{ metric_namespace: "Microsoft.App/containerApps", metric_name: "RestartCount", aggregation: "Maximum", operator: "GreaterThanOrEqual", threshold: 3 }]);
    expect(restarts.scopes).toEqual(["${azurerm_container_app.app.id}"]);
    expect(queries.map((q) => [q.name, q.criteria[0].threshold, q.window_duration]).sort()).toEqual([
      ["bot-delta agent memory restarts", 1, "PT1H"],
      ["bot-delta bot not ready", 1, "PT15M"],
      ["bot-delta channel disconnects", 5, "PT15M"],
      ["bot-delta config refused", 1, "PT15M"],
      ["bot-delta gateway auth failures", 10, "PT15M"],
      ["bot-delta release rolled back", 1, "PT15M"],
      ["bot-delta restore drill failed", 1, "PT1H"],
      ["bot-delta state lease lost", 1, "PT15M"],
      ["bot-delta state snapshots failing", 1, "PT15M"],
      ["bot-delta unusual message volume", 500, "PT1H"],
    ]);
    // Each names its runbook, whose section exists (__tests__/alarms.test.ts).
    for (const q of queries) expect(q.description).toMatch(/Runbook: docs\/runbooks\.md#[a-z-]+$/);
    // Named by its ID, not looked up: the data source keeps the workspace's shared keys in the
    // bot's state (issue 37).
    for (const q of queries)
      expect(q.scopes).toEqual([
        "/subscriptions/${data.azurerm_client_config.client.subscription_id}/resourceGroups/rg-demo-eastus2/providers/Microsoft.OperationalInsights/workspaces/log-demo-eastus2",
      ]);
    for (const stack of Object.values(stacks)) expect(stack.data?.azurerm_log_analytics_workspace).toBeUndefined();
    expect(queries.find((q) => q.name === "bot-delta gateway auth failures")!.criteria[0].query).toBe(consoleLogQuery("bot-delta", openclaw.logSignals.authFailure));
  });

  // RestartCount is the replica's restart count since it started, sampled every minute (Azure
  // Monitor, supported metrics of Microsoft.App/containerApps): a Total over a window sums that
  // count once a minute, so one restart kept the alert firing for good.
  test("the restart alert reads the replica's restart count (its maximum), never a sum of samples", () => {
    const [restarts] = resources(delta, "azurerm_monitor_metric_alert");
    expect(restarts.criteria[0].aggregation).toBe("Maximum");
    expect(restarts.window_size).toBe("PT5M");
  });

  // ContainerAppConsoleLogs_CL exists only after the environment's first console line; Azure
  // validates a query at creation unless skip_query_validation is set (azurerm v4.55.0
  // internal/services/monitor/monitor_scheduled_query_rules_alert_v2_resource.go).
  test("log alerts are created even before the first bot of the region has logged a line", () => {
    for (const q of queries) {
      expect(q.criteria[0].query).toMatch(/^ContainerAppConsoleLogs_CL\n/);
      expect(q.skip_query_validation).toBe(true);
    }
  });

  test("thresholds come from the fleet file", () => {
    const s = appOf("", "  alerts:\n    email: a@example.com\n    restartThreshold: 7\n    messageVolumeThreshold: 42\n").stacks["bot-one"];
    expect(resources(s, "azurerm_monitor_metric_alert")[0].criteria[0].threshold).toBe(7);
    expect(resources(s, "azurerm_monitor_scheduled_query_rules_alert_v2").find((q) => q.name.endsWith("unusual message volume"))!.criteria[0].threshold).toBe(42);
  });

  test("exist only when an e-mail is set", () => {
    const { stacks: s } = appOf("");
    expect(s["bot-one"].resource.azurerm_monitor_metric_alert).toBeUndefined();
    expect(s["bot-one"].resource.azurerm_monitor_scheduled_query_rules_alert_v2).toBeUndefined();
    expect(s["azure-shared-eastus2"].resource.azurerm_monitor_action_group).toBeUndefined();
  });

  test("the log queries match the agent's documented log lines, and not ordinary ones", () => {
    const matches = (patterns: readonly string[], line: string) => patterns.some((p) => line.includes(p));
    const s = openclaw.logSignals;
    expect(matches(s.authFailure, "[ws] unauthorized conn=3f2a remote=10.0.0.4 client=openclaw-control-ui webchat reason=token_mismatch")).toBe(true);
    expect(matches(s.channelDisconnect, "[telegram] getUpdates conflict: Call to 'getUpdates' failed! (409: Conflict: terminated by other getUpdates request); retrying in 30s.")).toBe(true);
    expect(matches(s.authFailure, "[ws] connected conn=3f2a client=openclaw-control-ui")).toBe(false);
    expect(consoleLogQuery('a"b', ['x"y', "p\\q"])).toBe('ContainerAppConsoleLogs_CL\n| where ContainerAppName_s == "a\\"b"\n| where Log_s contains_cs "x\\"y" or Log_s contains_cs "p\\\\q"');
  });
});

describe("the engine as it travels (withoutCommentLines)", () => {
  test("blanks whole-line comments only, line for line; keeps code after a comment's end and multi-line template literals whole", () => {
    const source = [
      "// a",
      "const a = 1; // kept",
      "/**",
      " * doc",
      " */",
      "const b = `",
      "// inside a literal",
      "/* also */",
      "`;",
      "/* one */",
      "/* x */ const c = 3;",
      "/*",
      "*/ const d = 4;",
    ].join("\n");
    expect(withoutCommentLines(source).split("\n")).toEqual([
      "",
      "const a = 1; // kept",
      "",
      "",
      "",
      "const b = `",
      "// inside a literal",
      "/* also */",
      "`;",
      "",
      "/* x */ const c = 3;",
      "",
      "   const d = 4;",
    ]);
  });

  test("the engine keeps every code line at its line number, and what remains is valid JavaScript", () => {
    const packed = withoutCommentLines(STATE_SYNC_SOURCE).split("\n");
    const lines = STATE_SYNC_SOURCE.split("\n");
    expect(packed).toHaveLength(lines.length);
    packed.forEach((line, i) => {
      if (line !== "") expect(line).toBe(lines[i]);
    });
    expect(packed.join("\n").length).toBeLessThan(STATE_SYNC_SOURCE.length * 0.8);
    const file = join(mkdtempSync(join(tmpdir(), "botfleet-engine-")), "state-sync.mjs");
    writeFileSync(file, packed.join("\n"));
    const check = spawnSync(process.execPath, ["--check", file], { encoding: "utf8" });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
  });
});
