import { goJson } from "../constructs/provider-json";
import { tableStacks, visitAttributes } from "../scripts/table-fleets";

/**
 * An unchanged, deployed fleet must plan empty (issue 35). Each attribute below is one a provider
 * reads back in a form of its own (a JSON string re-marshalled, a string normalised, a duration or
 * quantity the API echoes as it stores it) or keeps in a set whose hash holds the raw value:
 * botfleet must emit exactly that form, or every plan shows a change forever. The forms and their
 * citations are docs/perpetual-diffs.md's (azurerm v4.55.0, google v6.50.0, tfe v0.71.0); every
 * value each of the four table fleets emits (scripts/table-fleets.ts) is checked, and each rule
 * must see at least one value, so a renamed attribute fails here instead of passing unseen.
 */

/** Every value emitted for "<type> <path>", paths as the force-new table's (visitAttributes). */
const stacks = tableStacks();
function emittedValues(): Map<string, unknown[]> {
  const values = new Map<string, unknown[]>();
  for (const stack of stacks) visitAttributes(stack, (type, path, value) => values.set(`${type} ${path}`, [...(values.get(`${type} ${path}`) ?? []), value]));
  return values;
}

const values = emittedValues();
const QUANTITY = /^(\d+)(Mi|Gi)$/;
/** A Kubernetes quantity as Cloud Run stores it: a whole GiB is written in Gi, never as n*1024 Mi. */
const canonicalQuantity = (v: unknown) => typeof v === "string" && QUANTITY.test(v) && !(v.endsWith("Mi") && Number(QUANTITY.exec(v)![1]) % 1024 === 0);
const AZURE_ID = (provider: string) => new RegExp(`^/subscriptions/\\$\\{[^}]+\\}/resourceGroups/[a-z0-9-]+/providers/${provider.replace(/\./g, "\\.")}/[a-z0-9-]+$`);

const FORMS: [string, string, (v: unknown) => boolean][] = [
  // Read back with json.Marshal into a set whose hash holds the string (orchestrated_virtual_machine_scale_set.go:1604-1610).
  ["azurerm_orchestrated_virtual_machine_scale_set extension.settings", "Go's json.Marshal bytes (sorted keys, compact)", (v) => typeof v === "string" && v === goJson(JSON.parse(v))],
  // Resources' limits map echoed raw (resource_cloud_run_v2_service.go), the API canonicalises quantities.
  ["google_cloud_run_v2_service template.containers.resources.limits.memory", "a canonical quantity", canonicalQuantity],
  ["google_cloud_run_v2_service template.containers.resources.limits.cpu", "whole vCPUs as digits", (v) => typeof v === "string" && /^\d+$/.test(v)],
  ["google_cloud_run_v2_service template.volumes.empty_dir.size_limit", "a canonical quantity", canonicalQuantity],
  // Protobuf Duration JSON, the form the APIs return.
  ["google_cloud_run_v2_service template.timeout", "seconds as `<n>s`", (v) => typeof v === "string" && /^\d+s$/.test(v)],
  ["google_monitoring_alert_policy alert_strategy.auto_close", "seconds as `<n>s`", (v) => typeof v === "string" && /^\d+s$/.test(v)],
  ["google_monitoring_alert_policy alert_strategy.notification_rate_limit.period", "seconds as `<n>s`", (v) => typeof v === "string" && /^\d+s$/.test(v)],
  // StateFunc upper-cases it (resource_storage_bucket.go:143-150).
  ["google_storage_bucket location", "upper case", (v) => typeof v === "string" && v === v.toUpperCase()],
  // Raw echo, ForceNew (monitor_scheduled_query_rules_alert_v2_resource.go:241-247, 707-708): azurerm's own ID form.
  [
    "azurerm_monitor_scheduled_query_rules_alert_v2 scopes",
    "azurerm's canonical workspace ID",
    (v) => Array.isArray(v) && v.every((id) => AZURE_ID("Microsoft.OperationalInsights/workspaces").test(id)),
  ],
  ["azurerm_monitor_scheduled_query_rules_alert_v2 evaluation_frequency", "an ISO 8601 duration the API echoes", (v) => typeof v === "string" && /^PT\d+[MH]$/.test(v)],
  ["azurerm_monitor_scheduled_query_rules_alert_v2 window_duration", "an ISO 8601 duration the API echoes", (v) => typeof v === "string" && /^PT\d+[MH]$/.test(v)],
  // Raw echo (monitor_data_collection_rule_association_resource.go:159).
  ["azurerm_monitor_data_collection_rule_association data_collection_rule_id", "azurerm's canonical rule ID", (v) => AZURE_ID("Microsoft.Insights/dataCollectionRules").test(String(v))],
  // Echoed in order: the ascending-severity order of the provider's test (monitor_data_collection_rule_resource_test.go:268-279).
  [
    "azurerm_monitor_data_collection_rule data_sources.syslog.log_levels",
    "a tail of Debug..Emergency, in order",
    (v) => Array.isArray(v) && ["Debug", "Info", "Notice", "Warning", "Error", "Critical", "Alert", "Emergency"].join(",").endsWith(v.join(",")),
  ],
  // Protocol normalised through protocolMap (network_security_group_resource.go:449, 506); the rest echoed in the API's enum casing.
  ["azurerm_network_security_group security_rule.protocol", "the API's enum casing", (v) => ["Tcp", "Udp", "Icmp", "Esp", "Ah", "*"].includes(String(v))],
  ["azurerm_network_security_group security_rule.access", "the API's enum casing", (v) => ["Allow", "Deny"].includes(String(v))],
  ["azurerm_network_security_group security_rule.direction", "the API's enum casing", (v) => ["Inbound", "Outbound"].includes(String(v))],
  // Read lower-cased (helpers/container_apps.go:484-485).
  ["azurerm_container_app ingress.transport", "lower case", (v) => typeof v === "string" && v === v.toLowerCase()],
  // Raw echo (container_apps.go:1534-1535), the API's own `<n>Gi` form.
  ["azurerm_container_app template.container.memory", "`<n>Gi`", (v) => typeof v === "string" && /^\d+(\.\d+)?Gi$/.test(v)],
  // Raw, ForceNew (resource_artifact_registry_repository.go:505-518, 1653-1667): no trailing slash, as the provider's test.
  ["google_artifact_registry_repository remote_repository_config.docker_repository.custom_repository.uri", "https, no trailing slash", (v) => /^https:\/\/[^/]+$/.test(String(v))],
  // Flattened to "DOCKER_HUB" when empty (:1645-1651).
  ["google_artifact_registry_repository remote_repository_config.docker_repository.public_repository", "DOCKER_HUB", (v) => v === "DOCKER_HUB"],
  // Default "" (resource_tfe_workspace.go:294-298).
  ["tfe_workspace working_directory", "empty, its default", (v) => v === ""],
];

test.each(FORMS)("%s: %s", (key, _form, ok) => {
  const seen = values.get(key) ?? [];
  expect(seen.length).toBeGreaterThan(0);
  expect(seen.filter((v) => !ok(v))).toEqual([]);
});

test("a rule catches a value out of form: 2048Mi, a trailing slash, an unsorted JSON object", () => {
  const rule = (key: string) => FORMS.find(([k]) => k === key)![2];
  expect(rule("google_cloud_run_v2_service template.containers.resources.limits.memory")("2048Mi")).toBe(false);
  expect(rule("google_artifact_registry_repository remote_repository_config.docker_repository.custom_repository.uri")("https://ghcr.io/")).toBe(false);
  expect(rule("azurerm_orchestrated_virtual_machine_scale_set extension.settings")('{"port":80,"intervalInSeconds":15}')).toBe(false);
  expect(rule("google_storage_bucket location")("us-central1")).toBe(false);
});

// A secret a person rewrites (`az keyvault secret set`, as the bots' hint says) gets a version
// whose tags are the CLI's own: every such secret ignores `tags`, and only the one Terraform alone
// writes (the VM admin password) sets a content type (docs/perpetual-diffs.md).
test("Key Vault secrets a person rewrites ignore their tags, and none but the admin password sets a content type", () => {
  const secrets = stacks.flatMap((stack) => Object.values((stack.resource?.azurerm_key_vault_secret ?? {}) as Record<string, Record<string, unknown>>));
  expect(secrets.length).toBeGreaterThan(0);
  for (const s of secrets.filter((x) => !String(x.name).endsWith("--vm-admin-password"))) {
    expect([s.name, (s.lifecycle as { ignore_changes?: string[] })?.ignore_changes]).toEqual([s.name, expect.arrayContaining(["tags"])]);
    expect([s.name, s.content_type]).toEqual([s.name, undefined]);
  }
});
