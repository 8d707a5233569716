import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { Fleet } from "../config/load";
import { AZURE_REGIONS, GCP_REGIONS } from "../config/regions";
import { GITHUB_DEPLOY_ENVIRONMENT } from "../config/schema";
import { exampleFleet, fleetFrom, ROOT, synthFleet, type StackJson } from "./support/fleet";

/**
 * What the providers (and, where they do not check, the clouds) accept, checked against every
 * name and bounded attribute in the synthesized output. Each rule names where it comes from:
 * the provider's Go source at the pinned tag (azurerm v4.55.0 = @cdktf/provider-azurerm 14.23.1,
 * google v6.50.0 = @cdktf/provider-google 16.12.1), read with
 * `git -C <mirror> show <tag>:<file>`, or the cloud's documentation when the provider passes the
 * value through unchecked and the API refuses it at apply time.
 *
 * Every resource and data source type in the output must appear in RULES: a new type is declared
 * with its rules, or with a note saying why it has no validated attribute botfleet sets.
 */

type Check = (value: unknown, resource: StackJson) => string | undefined;
interface Rule {
  /** Dotted path in the resource's JSON; arrays on the way are walked element by element. */
  readonly attribute: string;
  /** Provider file and tag, or the cloud's document, the rule comes from. */
  readonly source: string;
  readonly check: Check;
}

const AZ = (file: string) => `hashicorp/terraform-provider-azurerm v4.55.0 ${file}`;
const GO = (file: string) => `hashicorp/terraform-provider-google v6.50.0 ${file}`;

const str =
  (test: (s: string) => string | undefined): Check =>
  (v) =>
    typeof v === "string" ? test(v) : `is ${typeof v}, not a string`;
const matches = (re: RegExp): Check => str((s) => (re.test(s) ? undefined : `does not match ${re}`));
const length = (min: number, max: number): Check => str((s) => (s.length >= min && s.length <= max ? undefined : `is ${s.length} characters, not ${min}-${max}`));
const bytes = (max: number): Check => str((s) => (Buffer.byteLength(s) <= max ? undefined : `is ${Buffer.byteLength(s)} bytes, more than ${max}`));
const intBetween =
  (min: number, max: number): Check =>
  (v) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? undefined : `${String(v)} is not an integer in ${min}-${max}`;
const atLeast =
  (min: number): Check =>
  (v) =>
    typeof v === "number" && v >= min ? undefined : `${String(v)} is less than ${min}`;
const all =
  (...checks: Check[]): Check =>
  (v, r) =>
    checks
      .map((c) => c(v, r))
      .filter(Boolean)
      .join("; ") || undefined;
const oneOf = (...values: string[]): Check => str((s) => (values.includes(s) ? undefined : `is not one of ${values.join(", ")}`));
const notContaining = (chars: string): Check => str((s) => ([...chars].some((c) => s.includes(c)) ? `contains one of ${chars}` : undefined));
const notEnding = (chars: string): Check => str((s) => ([...chars].some((c) => s.endsWith(c)) ? `ends with one of "${chars}"` : undefined));
const noDoubleHyphen: Check = str((s) => (s.includes("--") ? 'contains "--"' : undefined));
const noTrailingHyphen: Check = str((s) => (s.endsWith("-") ? "ends with a hyphen" : undefined));
const map =
  (check: (key: string, value: unknown) => string | undefined, maxEntries: number): Check =>
  (v) => {
    if (v === null || typeof v !== "object") return "is not a map";
    const entries = Object.entries(v);
    const problems = entries.map(([k, x]) => check(k, x)).filter(Boolean);
    if (entries.length > maxEntries) problems.push(`has ${entries.length} entries, more than ${maxEntries}`);
    return problems.join("; ") || undefined;
  };

// go-azure-helpers resourcemanager/tags/validate.go (vendored in azurerm v4.55.0), used by commonschema.Tags().
const azureTags = (maxEntries = 50): Rule => ({
  attribute: "tags",
  source: AZ("vendor/github.com/hashicorp/go-azure-helpers/resourcemanager/tags/validate.go (Validate, ValidateWithMaximumElements)"),
  check: map((k, v) => (k.length > 512 ? `key ${k} is longer than 512` : typeof v === "string" && v.length > 256 ? `value of ${k} is longer than 256` : undefined), maxEntries),
});
// Labels: keys start with a lowercase letter; keys and values lowercase letters, digits, _ and -,
// at most 63 characters; at most 64 labels. The storage provider also checks bucket label keys
// (resource_storage_bucket.go labelKeyValidator); elsewhere only the API does.
const gcpLabels = (attribute = "labels"): Rule => ({
  attribute,
  source: "https://cloud.google.com/resource-manager/docs/labels-overview#requirements",
  check: map(
    (k, v) =>
      !/^[a-z][a-z0-9_-]{0,62}$/.test(k) ? `key ${k} is not a label key` : typeof v !== "string" || !/^[a-z0-9_-]{0,63}$/.test(v) ? `value ${String(v)} of ${k} is not a label value` : undefined,
    64,
  ),
});
const none = (why: string) => why;
/** An ISO 8601 duration of hours and minutes (PT1H30M) between two such durations. */
const durationBetween = (min: string, max: string): Check => {
  const minutes = (d: string) => {
    const m = /^PT(?:(\d+)H)?(?:(\d+)M)?$/.exec(d);
    return m && (m[1] || m[2]) ? Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0) : NaN;
  };
  return str((d) => (minutes(d) >= minutes(min) && minutes(d) <= minutes(max) ? undefined : `is not a duration between ${min} and ${max}`));
};

// commonschema.ResourceGroupName() -> go-azure-helpers resourcemanager/resourcegroups/validate.go ValidateName.
const RESOURCE_GROUP_NAME = all(length(1, 90), matches(/^[-\w._()]+$/), notEnding("."));
// azurerm internal/services/containerapps/validate/validate.go ManagedEnvironmentStorageName, also
// used for the app's template.volume.storage_name (helpers/container_apps.go).
// azurerm internal/services/keyvault/validate/vault_name.go VaultName; the rest from the Azure
// naming rules (Microsoft.KeyVault/vaults: start with a letter, end with a letter or digit, no "--").
const KEY_VAULT_NAME = all(matches(/^[a-zA-Z0-9-]{3,24}$/), matches(/^[a-zA-Z]/), matches(/[a-zA-Z0-9]$/), noDoubleHyphen);
const STORAGE_ACCOUNT_NAME = matches(/^[a-z0-9]{3,24}$/);
const MANAGED_ENVIRONMENT_NAME = all(matches(/^([a-zA-Z])[a-zA-Z0-9-]{0,58}[a-z]?$/), noTrailingHyphen);
const LOG_ANALYTICS_NAME = all(matches(/^[A-Za-z0-9][A-Za-z0-9-]+[A-Za-z0-9]$/), length(4, 63));
const NAMING_RULES = "https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules";
// Resources with an endpoint (vault, storage account, registry, container app): ARM refuses
// ReservedResourceName. The provider does not check it. The whole-name list is long; the test
// checks the parts botfleet's names can hit (fleet and bot names are inside them).
const RESERVED = "https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-reserved-resource-name";
const NOT_RESERVED: Check = str((s) =>
  /microsoft|windows/i.test(s)
    ? 'contains "microsoft" or "windows"'
    : /^login/i.test(s)
      ? 'starts with "login"'
      : /^(azure|skype|xbox|office|bing|excel|outlook|access)$/i.test(s)
        ? "is a reserved word"
        : undefined,
);

// The subject GitHub puts in its token for the deploy job: with `environment:` it is
// repo:<owner/name>:environment:<env>, otherwise repo:<owner/name>:ref:<ref>
// (https://docs.github.com/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect#example-subject-claims).
const DEPLOY_ENVIRONMENT = parse(readFileSync(join(ROOT, ".github/workflows/deploy.yml"), "utf8")).jobs.deploy.environment;
function githubSubjects(condition: string): string[] {
  const repository = /assertion\.repository == "([^"]+)"/.exec(condition)?.[1];
  const branch = /assertion\.ref == "refs\/heads\/([^"]+)"/.exec(condition)?.[1];
  if (!repository) return [];
  return [`repo:${repository}:environment:${DEPLOY_ENVIRONMENT}`, ...(branch ? [`repo:${repository}:ref:refs/heads/${branch}`] : [])];
}

export const RULES: Record<string, readonly Rule[] | string> = {
  // ---------------------------------------------------------------- azurerm
  azurerm_resource_group: [{ attribute: "name", source: AZ("vendor/github.com/hashicorp/go-azure-helpers/resourcemanager/resourcegroups/validate.go"), check: RESOURCE_GROUP_NAME }, azureTags()],
  azurerm_virtual_network: [
    // network/virtual_network_resource.go validates only non-empty; the cloud: 2-64, alphanumerics, _ . -, start alphanumeric, end alphanumeric or _.
    { attribute: "name", source: NAMING_RULES + " (Microsoft.Network/virtualNetworks)", check: matches(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}[a-zA-Z0-9_]$/) },
    azureTags(),
  ],
  azurerm_subnet: [
    { attribute: "name", source: NAMING_RULES + " (Microsoft.Network/virtualNetworks/subnets: 1-80)", check: matches(/^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,78}[a-zA-Z0-9_])?$/) },
    { attribute: "delegation.name", source: AZ("internal/services/network/subnet_resource.go (delegation.name: non-empty)"), check: length(1, 1000) },
  ],
  azurerm_network_security_group: [
    { attribute: "name", source: NAMING_RULES + " (Microsoft.Network/networkSecurityGroups: 1-80)", check: matches(/^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,78}[a-zA-Z0-9_])?$/) },
    { attribute: "security_rule.description", source: AZ("internal/services/network/network_security_group_resource.go (StringLenBetween(0, 140))"), check: length(0, 140) },
    { attribute: "security_rule.priority", source: AZ("internal/services/network/network_security_group_resource.go (IntBetween(100, 4096))"), check: intBetween(100, 4096) },
    { attribute: "security_rule.name", source: NAMING_RULES + " (securityRules: 1-80)", check: matches(/^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,78}[a-zA-Z0-9_])?$/) },
    azureTags(),
  ],
  azurerm_subnet_network_security_group_association: none("only resource IDs"),
  azurerm_key_vault: [
    {
      attribute: "name",
      source: AZ("internal/services/keyvault/validate/vault_name.go") + "; " + NAMING_RULES + " (Microsoft.KeyVault/vaults); " + RESERVED,
      check: all(KEY_VAULT_NAME, NOT_RESERVED),
    },
    { attribute: "soft_delete_retention_days", source: AZ("internal/services/keyvault/key_vault_resource.go (IntBetween(7, 90))"), check: intBetween(7, 90) },
    azureTags(),
  ],
  azurerm_key_vault_secret: [
    // NestedItemName checks the characters; the 127-character limit is Key Vault's (naming rules, vaults/secrets).
    {
      attribute: "name",
      source: AZ("internal/services/keyvault/validate/nested_item_name.go") + "; " + NAMING_RULES + " (vaults/secrets: 1-127)",
      check: all(matches(/^[0-9a-zA-Z-]+$/), length(1, 127)),
    },
    // Key Vault content types are at most 255 characters.
    { attribute: "content_type", source: "https://learn.microsoft.com/rest/api/keyvault/secrets/set-secret/set-secret (contentType) and Azure Key Vault service limits", check: length(0, 255) },
    { ...azureTags(15), source: AZ("internal/services/keyvault/key_vault_secret_resource.go (commonschema.TagsWithMaximumElements(15))") },
  ],
  azurerm_user_assigned_identity: [
    // managedidentity/user_assigned_identity_resource.go has no ValidateFunc; the cloud: 3-128, alphanumerics, - and _, starting alphanumeric.
    { attribute: "name", source: NAMING_RULES + " (Microsoft.ManagedIdentity/userAssignedIdentities)", check: matches(/^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/) },
    azureTags(),
  ],
  azurerm_storage_account: [
    { attribute: "name", source: AZ("internal/services/storage/validate/storage_account_name.go") + "; " + RESERVED, check: all(STORAGE_ACCOUNT_NAME, NOT_RESERVED) },
    azureTags(),
  ],
  azurerm_storage_container: [
    // StorageContainerName: [0-9a-z-], 3-63, no leading hyphen.
    { attribute: "name", source: AZ("internal/services/storage/validate/storage_container.go (StorageContainerName)"), check: all(matches(/^[0-9a-z-]{3,63}$/), matches(/^[0-9a-z]/)) },
  ],
  azurerm_storage_blob: [
    // name: StringIsNotEmpty (internal/services/storage/storage_blob_resource.go:52-56); the cloud: 1-1024 characters.
    { attribute: "name", source: AZ("internal/services/storage/storage_blob_resource.go (validation.StringIsNotEmpty)"), check: length(1, 1024) },
    {
      attribute: "storage_container_name",
      source: AZ("internal/services/storage/storage_blob_resource.go (validate.StorageContainerName)"),
      check: all(matches(/^[0-9a-z-]{3,63}$/), matches(/^[0-9a-z]/)),
    },
    { attribute: "type", source: AZ("internal/services/storage/storage_blob_resource.go (StringInSlice Append, Block, Page)"), check: matches(/^(Append|Block|Page)$/) },
  ],
  azurerm_role_assignment: none("role names and principal IDs only; no generated name"),
  azurerm_log_analytics_workspace: [
    { attribute: "name", source: AZ("internal/services/loganalytics/validate/log_analytics_workspace_name.go"), check: LOG_ANALYTICS_NAME },
    { attribute: "retention_in_days", source: AZ("internal/services/loganalytics/log_analytics_workspace_resource.go (IntBetween(30, 730))"), check: intBetween(30, 730) },
    { attribute: "daily_quota_gb", source: AZ("internal/services/loganalytics/log_analytics_workspace_resource.go (FloatAtLeast(-1.0))"), check: atLeast(-1) },
    azureTags(),
  ],
  azurerm_container_registry: [
    { attribute: "name", source: AZ("internal/services/containers/validate/container_registry_name.go") + "; " + RESERVED, check: all(matches(/^[a-zA-Z0-9]+$/), length(5, 50), NOT_RESERVED) },
    azureTags(),
  ],
  azurerm_container_app_environment: [{ attribute: "name", source: AZ("internal/services/containerapps/validate/validate.go (ManagedEnvironmentName)"), check: MANAGED_ENVIRONMENT_NAME }, azureTags()],
  azurerm_monitor_action_group: [
    // monitor_action_group_resource.go checks only non-empty; the cloud: 1-260, none of :<>+/&%\?| , no trailing space or period.
    { attribute: "name", source: NAMING_RULES + " (Microsoft.Insights/actionGroups)", check: all(length(1, 260), notContaining(":<>+/&%\\?|"), notEnding(" .")) },
    { attribute: "short_name", source: AZ("internal/services/monitor/monitor_action_group_resource.go (StringLenBetween(1, 12))"), check: length(1, 12) },
    { attribute: "email_receiver.name", source: AZ("internal/services/monitor/monitor_action_group_resource.go (email_receiver.name: non-empty)"), check: length(1, 1000) },
    azureTags(),
  ],
  azurerm_container_app: [
    {
      attribute: "name",
      source: AZ("internal/services/containerapps/validate/validate.go (ContainerAppName)") + "; " + RESERVED,
      check: all(matches(/^([a-z]$)|(^([a-z0-9])([a-z0-9-.]{0,30})([^A-Z\W])$)/), noDoubleHyphen, NOT_RESERVED),
    },
    { attribute: "secret.name", source: AZ("internal/services/containerapps/validate/validate.go (SecretName)"), check: all(matches(/^[a-z0-9][a-z0-9-]{0,251}[a-z0-9]?$/), noTrailingHyphen) },
    {
      // A literal ID must parse as https://<vault>/secrets/<name>[/<version>]; botfleet's vault and
      // secret names must be the ones the Key Vault rules above accept.
      attribute: "secret.key_vault_secret_id",
      source: AZ("internal/services/keyvault/validate/nested_item_id.go (NestedItemIdWithOptionalVersion) and parse/nested_item.go"),
      check: str((id) => {
        const m = /^https:\/\/([^./]+)\.vault\.azure\.net\/secrets\/([^/]+)(\/[^/]+)?\/?$/.exec(id);
        if (!m) return "is not https://<vault>.vault.azure.net/secrets/<name>[/<version>]";
        return KEY_VAULT_NAME(m[1], {}) ?? (/^[0-9a-zA-Z-]{1,127}$/.test(m[2]) ? undefined : `names the secret ${m[2]}, which Key Vault refuses`);
      }),
    },
    {
      attribute: "template.container.name",
      source: AZ("internal/services/containerapps/validate/validate.go (ContainerAppContainerName)"),
      check: matches(/^([a-z0-9]$)|(^([a-z0-9])([a-z0-9-.]{0,44})([^A-Z\W])$)/),
    },
    { attribute: "template.volume.name", source: AZ("internal/services/containerapps/helpers/container_apps.go (volume.name: non-empty)"), check: length(1, 1000) },
    { attribute: "ingress.ip_security_restriction.name", source: AZ("internal/services/containerapps/helpers/container_apps.go (ip_security_restriction.name: non-empty)"), check: length(1, 1000) },
    ...(["startup_probe", "liveness_probe", "readiness_probe"] as const).flatMap((probe) => [
      {
        attribute: `template.container.${probe}.interval_seconds`,
        source: AZ(`internal/services/containerapps/helpers/container_apps.go (${probe}.interval_seconds: IntBetween(1, 240))`),
        check: intBetween(1, 240),
      },
      { attribute: `template.container.${probe}.timeout`, source: AZ(`internal/services/containerapps/helpers/container_apps.go (${probe}.timeout: IntBetween(1, 240))`), check: intBetween(1, 240) },
      {
        attribute: `template.container.${probe}.failure_count_threshold`,
        source: AZ(`internal/services/containerapps/helpers/container_apps.go (${probe}.failure_count_threshold: IntBetween(1, 30))`),
        check: intBetween(1, 30),
      },
    ]),
    ...(["startup_probe", "liveness_probe"] as const).map((probe) => ({
      attribute: `template.container.${probe}.initial_delay`,
      source: AZ(`internal/services/containerapps/helpers/container_apps.go (${probe}.initial_delay: IntBetween(0, 60))`),
      check: intBetween(0, 60),
    })),
    {
      attribute: "template.container.readiness_probe.success_count_threshold",
      source: AZ("internal/services/containerapps/helpers/container_apps.go (readiness_probe.success_count_threshold: IntBetween(1, 10))"),
      check: intBetween(1, 10),
    },
    {
      attribute: "template.termination_grace_period_seconds",
      source: AZ("internal/services/containerapps/helpers/container_apps.go (termination_grace_period_seconds: IntBetween(0, 600))"),
      check: intBetween(0, 600),
    },
    azureTags(),
  ],
  azurerm_monitor_activity_log_alert: [
    // monitor_activity_log_alert_resource.go checks only non-empty; the cloud: 1-260, none of <>*%{}&:\?+/# , no trailing space or period.
    { attribute: "name", source: NAMING_RULES + " (Microsoft.Insights/activityLogAlerts)", check: all(length(1, 260), notContaining("<>*%{}&:\\?+/#"), notEnding(" .")) },
    // Its CustomizeDiff refuses other locations at plan (monitor_activity_log_alert_resource.go:400-417).
    { attribute: "location", source: AZ("internal/services/monitor/monitor_activity_log_alert_resource.go:400-417"), check: oneOf("global", "westeurope", "northeurope", "eastus2euap") },
    azureTags(),
  ],
  azurerm_monitor_metric_alert: [
    // monitor_metric_alert_resource.go checks only non-empty; the cloud: 1-260, none of *#&+:<>?@%{}\/ , no trailing space or period.
    { attribute: "name", source: NAMING_RULES + " (Microsoft.Insights/metricAlerts)", check: all(length(1, 260), notContaining("*#&+:<>?@%{}\\/"), notEnding(" .")) },
    azureTags(),
  ],
  azurerm_monitor_data_collection_rule: [
    { attribute: "name", source: AZ("internal/services/monitor/monitor_data_collection_rule_resource.go:207-212 (name: non-empty)"), check: length(1, 1000) },
    { attribute: "kind", source: AZ("internal/services/monitor/monitor_data_collection_rule_resource.go:859-870"), check: oneOf("Linux", "Windows", "AgentDirectToStore", "WorkspaceTransforms") },
    { attribute: "data_sources.syslog.name", source: AZ("internal/services/monitor/monitor_data_collection_rule_resource.go:759 (StringLenBetween(1, 32))"), check: length(1, 32) },
    {
      attribute: "data_sources.syslog.facility_names",
      source: AZ("internal/services/monitor/monitor_data_collection_rule_resource.go:761-770 and vendor/.../datacollectionrules/constants.go:528-588"),
      check: oneOf(..."* alert audit auth authpriv clock cron daemon ftp kern local0 local1 local2 local3 local4 local5 local6 local7 lpr mail mark news nopri ntp syslog user uucp".split(" ")),
    },
    {
      attribute: "data_sources.syslog.log_levels",
      source: AZ("internal/services/monitor/monitor_data_collection_rule_resource.go:772-781 and vendor/.../datacollectionrules/constants.go:644-668 (case-sensitive)"),
      check: oneOf("*", "Alert", "Critical", "Debug", "Emergency", "Error", "Info", "Notice", "Warning"),
    },
    azureTags(),
  ],
  azurerm_monitor_data_collection_rule_association: [
    { attribute: "name", source: AZ("internal/services/monitor/monitor_data_collection_rule_association_resource.go:41-48 (name: non-empty)"), check: length(1, 1000) },
  ],
  azurerm_monitor_scheduled_query_rules_alert_v2: [
    // monitor_scheduled_query_rules_alert_v2_resource.go checks only non-empty; the cloud: 1-260, none of *<>%{}&:\?/#| , no trailing space or period.
    { attribute: "name", source: NAMING_RULES + " (Microsoft.Insights/scheduledQueryRules)", check: all(length(1, 260), notContaining("*<>%{}&:\\?/#|"), notEnding(" .")) },
    azureTags(),
  ],
  azurerm_orchestrated_virtual_machine_scale_set: [
    {
      attribute: "name",
      source: AZ("internal/services/compute/validate/virtual_machine_name.go (VirtualMachineName)") + "; " + NAMING_RULES + " (virtualMachineScaleSets, Linux: 1-64)",
      check: all(
        length(1, 64),
        matches(/^[a-zA-Z0-9][a-zA-Z0-9._-]*\w$/),
        str((s) => (/^\d+$/.test(s) ? "is only digits" : undefined)),
      ),
    },
    // LinuxComputerNamePrefix: at most 58, no leading _, no trailing ., none of the special characters.
    {
      attribute: "automatic_instance_repair.grace_period",
      source: AZ('internal/services/compute/virtual_machine_scale_set.go (grace_period: ISO8601DurationBetween("PT10M", "PT90M"))'),
      check: durationBetween("PT10M", "PT90M"),
    },
    { attribute: "os_disk.disk_size_gb", source: AZ("internal/services/compute/orchestrated_virtual_machine_scale_set.go (os_disk.disk_size_gb: IntBetween(0, 4095))"), check: intBetween(0, 4095) },
    {
      attribute: "network_interface.ip_configuration.public_ip_address.idle_timeout_in_minutes",
      source: AZ("internal/services/compute/orchestrated_virtual_machine_scale_set.go (public_ip_address.idle_timeout_in_minutes: IntBetween(4, 32))"),
      check: intBetween(4, 32),
    },
    ...["extension.name", "extension.type_handler_version", "network_interface.name", "network_interface.ip_configuration.name", "network_interface.ip_configuration.public_ip_address.name"].map(
      (attribute) => ({
        attribute,
        source: AZ(`internal/services/compute/orchestrated_virtual_machine_scale_set.go (${attribute}: non-empty)`),
        check: length(1, 80),
      }),
    ),
    {
      attribute: "os_profile.linux_configuration.computer_name_prefix",
      source: AZ("internal/services/compute/validate/linux_computer_name.go (LinuxComputerNamePrefix)"),
      check: all(length(1, 58), matches(/^[^_]/), notEnding("."), notContaining("\\/\"[]:|<>+=;,?*@&~!#$%^()_{}'")),
    },
    azureTags(),
  ],
  // Data sources look shared resources up by the same names; where their schema checks less
  // than the resource's, the name must still be what the resource was created with.
  "data.azurerm_client_config": none("no arguments"),
  "data.azurerm_key_vault": [{ attribute: "name", source: AZ("internal/services/keyvault/key_vault_data_source.go (validate.VaultName)"), check: KEY_VAULT_NAME }],
  "data.azurerm_subnet": [{ attribute: "name", source: AZ("internal/services/network/subnet_data_source.go (non-empty)"), check: length(1, 80) }],
  "data.google_service_account": [
    {
      attribute: "account_id",
      source: GO("google/services/resourcemanager/data_source_google_service_account.go (no check) and resource_google_service_account.go (ValidateRFC1035Name(6, 30), the resource's)"),
      check: all(length(6, 30), matches(/^[a-z]([-a-z0-9]*[a-z0-9])?$/)),
    },
  ],
  "data.azurerm_container_registry": [
    {
      attribute: "name",
      source: AZ("internal/services/containers/container_registry_data_source.go (no check) and validate/container_registry_name.go (the resource's)"),
      check: all(matches(/^[a-zA-Z0-9]+$/), length(5, 50)),
    },
  ],
  "data.azurerm_container_app_environment": [
    {
      attribute: "name",
      source: AZ("internal/services/containerapps/container_app_environment_data_source.go (non-empty) and validate.go (ManagedEnvironmentName, the resource's)"),
      check: MANAGED_ENVIRONMENT_NAME,
    },
  ],
  "data.azurerm_monitor_action_group": [
    {
      attribute: "name",
      source: AZ("internal/services/monitor/monitor_action_group_data_source.go (non-empty)") + "; " + NAMING_RULES + " (actionGroups)",
      check: all(length(1, 260), notContaining(":<>+/&%\\?|")),
    },
  ],

  // ---------------------------------------------------------------- google
  google_project_service: none("service is one of the constant GCP_APIS"),
  google_project_iam_member: none("constant roles and a member built from an email"),
  google_service_account_iam_member: none("constant role; the member is built from the pool's name and the validated repository"),
  google_monitoring_notification_channel: [
    // resource_monitoring_notification_channel.go:74-106 checks nothing of these; the API: a display name of at most 512 characters.
    { attribute: "display_name", source: "https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.notificationChannels (displayName: at most 512 Unicode characters)", check: length(1, 512) },
    { attribute: "labels.email_address", source: GO("google/services/monitoring/resource_monitoring_notification_channel.go:95-106 (labels: no check)"), check: matches(/^[^@\s]+@[^@\s]+$/) },
    gcpLabels("user_labels"),
  ],
  google_monitoring_alert_policy: [
    // resource_monitoring_alert_policy.go:1018-1025 requires display_name and checks nothing more; the API: at most 512 characters.
    { attribute: "display_name", source: "https://cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies (displayName: at most 512 Unicode characters)", check: length(1, 512) },
    {
      attribute: "combiner",
      source: GO("google/services/monitoring/resource_monitoring_alert_policy.go:65-71 (AND, OR, AND_WITH_MATCHING_RESOURCE)"),
      check: oneOf("AND", "OR", "AND_WITH_MATCHING_RESOURCE"),
    },
    { attribute: "severity", source: GO("google/services/monitoring/resource_monitoring_alert_policy.go:1173-1180 (CRITICAL, ERROR, WARNING)"), check: oneOf("CRITICAL", "ERROR", "WARNING") },
    gcpLabels("user_labels"),
  ],
  google_artifact_registry_repository: [
    // resource_artifact_registry_repository.go does not validate repository_id; the API does.
    {
      attribute: "repository_id",
      source: "https://cloud.google.com/artifact-registry/docs/repositories/create-repos (names: lowercase letters, digits, hyphens; start with a letter, end with a letter or digit; at most 63)",
      check: matches(/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/),
    },
    gcpLabels(),
  ],
  google_iam_workload_identity_pool: [
    {
      attribute: "workload_identity_pool_id",
      source: GO("google/services/iambeta/resource_iam_workload_identity_pool.go (ValidateWorkloadIdentityPoolId)"),
      check: all(
        matches(/^[0-9a-z-]{4,32}$/),
        str((s) => (s.startsWith("gcp-") ? 'starts with "gcp-"' : undefined)),
      ),
    },
    { attribute: "display_name", source: GO("google/services/iambeta/resource_iam_workload_identity_pool.go (display_name: cannot exceed 32 characters)"), check: length(0, 32) },
    { attribute: "description", source: GO("google/services/iambeta/resource_iam_workload_identity_pool.go (description: cannot exceed 256 characters)"), check: length(0, 256) },
  ],
  google_iam_workload_identity_pool_provider: [
    {
      attribute: "workload_identity_pool_provider_id",
      source: GO("google/services/iambeta/resource_iam_workload_identity_pool_provider.go (ValidateWorkloadIdentityPoolProviderId)"),
      check: all(
        matches(/^[0-9a-z-]{4,32}$/),
        str((s) => (s.startsWith("gcp-") ? 'starts with "gcp-"' : undefined)),
      ),
    },
    { attribute: "display_name", source: GO("google/services/iambeta/resource_iam_workload_identity_pool_provider.go (display_name: cannot exceed 32 characters)"), check: length(0, 32) },
    {
      // google.subject may be at most 127 bytes after mapping: every subject GitHub presents for
      // the pinned repository (and branch) must fit, or the token exchange fails at deploy time.
      attribute: "attribute_mapping",
      source: "https://cloud.google.com/iam/docs/workload-identity-federation#mapping (google.subject: at most 127 bytes)",
      check: (mapping, resource) => {
        const subject = (mapping as Record<string, string>)["google.subject"];
        if (subject !== "assertion.sub") return `maps google.subject to ${subject}; derive its longest value before changing the mapping`;
        const long = githubSubjects(String(resource.attribute_condition)).filter((s) => Buffer.byteLength(s) > 127);
        return long.length > 0 ? `google.subject would be ${long.map((s) => `"${s}" (${Buffer.byteLength(s)} bytes)`).join(", ")}, more than 127 bytes` : undefined;
      },
    },
  ],
  google_service_account: [
    {
      attribute: "account_id",
      source: GO("google/services/resourcemanager/resource_google_service_account.go (verify.ValidateRFC1035Name(6, 30))"),
      check: all(length(6, 30), matches(/^[a-z]([-a-z0-9]*[a-z0-9])?$/)),
    },
    // The provider passes display_name through; IAM refuses more than 100 UTF-8 bytes.
    { attribute: "display_name", source: "https://cloud.google.com/iam/docs/reference/rest/v1/projects.serviceAccounts (displayName: at most 100 UTF-8 bytes)", check: bytes(100) },
    { attribute: "description", source: GO("google/services/resourcemanager/resource_google_service_account.go (StringLenBetween(0, 256))"), check: length(0, 256) },
  ],
  google_cloud_run_v2_service: [
    // The provider does not validate name; Cloud Run: lowercase letters, digits, hyphens, starting with a letter, at most 49 characters.
    {
      attribute: "name",
      source: "https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.services (name; service names are at most 49 characters)",
      check: matches(/^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$/),
    },
    { attribute: "description", source: GO("google/services/cloudrunv2/resource_cloud_run_v2_service.go (description: 512-character limit)"), check: length(0, 512) },
    // Env names: the provider's description says C_IDENTIFIER (the API checks it).
    {
      attribute: "template.containers.env.name",
      source: GO("google/services/cloudrunv2/resource_cloud_run_v2_service.go (env.name: must be a C_IDENTIFIER)"),
      check: matches(/^[A-Za-z_][A-Za-z0-9_]*$/),
    },
    {
      attribute: "template.timeout",
      source: GO("google/services/cloudrunv2/resource_cloud_run_v2_service.go (timeout: ValidateRegexp(^[0-9]+(?:\\.[0-9]{1,9})?s$))"),
      check: matches(/^[0-9]+(?:\.[0-9]{1,9})?s$/),
    },
    {
      // The provider checks period_seconds <= 240 only. Cloud Run shuts a container down when its
      // startup probe has not passed within failureThreshold * periodSeconds, "a maximum of 240
      // seconds" (Cloud Run docs, Configure container health checks for worker pools; the jobs
      // page said the same), and a service's default startup probe is 240 s x 1.
      attribute: "template.containers.startup_probe",
      source: "https://cloud.google.com/run/docs/configuring/workerpools/healthchecks (startup: failureThreshold * periodSeconds, a maximum of 240 seconds)",
      check: (v) => {
        const { period_seconds: period = 10, failure_threshold: failures = 3 } = v as { period_seconds?: number; failure_threshold?: number };
        return period * failures <= 240 ? undefined : `allows ${period} s x ${failures} = ${period * failures} s, more than 240`;
      },
    },
    gcpLabels(),
    gcpLabels("template.labels"),
  ],
  google_cloud_run_v2_service_iam_member: none("the service's own name and a constant role"),
  google_secret_manager_secret: [
    {
      attribute: "secret_id",
      source: "https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets/create (secretId: [a-zA-Z0-9_-], at most 255)",
      check: matches(/^[a-zA-Z0-9_-]{1,255}$/),
    },
    gcpLabels(),
    {
      attribute: "annotations",
      source: "https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets (annotations: keys 1-63, alphanumeric at both ends, - _ . inside; 16 KiB in all)",
      check: (v) =>
        map((k) => (/^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,61}[a-zA-Z0-9])?$/.test(k) ? undefined : `key ${k} is not an annotation key`), Infinity)(v, {}) ??
        (Buffer.byteLength(
          Object.entries(v as object)
            .flat()
            .join(""),
        ) > 16384
          ? "is larger than 16 KiB"
          : undefined),
    },
  ],
  google_secret_manager_secret_version: none("values only"),
  google_secret_manager_secret_iam_member: none("constant role; the member is the bot's service account"),
  google_storage_bucket: [
    {
      attribute: "name",
      source:
        "https://cloud.google.com/storage/docs/buckets#naming (3-63 without dots; lowercase letters, digits, - _ .; alphanumeric at both ends; not starting with goog; not containing google or close misspellings)",
      check: all(
        matches(/^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/),
        str((s) => (s.startsWith("goog") ? 'starts with "goog"' : /g[o0][o0]gle/.test(s) ? 'contains "google" or a close misspelling' : undefined)),
      ),
    },
    { ...gcpLabels(), source: GO("google/services/storage/resource_storage_bucket.go (labelKeyValidator)") + "; https://cloud.google.com/storage/docs/tags-and-labels#bucket-labels" },
  ],
  google_storage_bucket_iam_member: none("constant role; the member is the bot's service account"),

  // ---------------------------------------------------------------- others
  random_password: none("length and character-class counts are constants"),
  // Added by the issue-13 first-deploy work: only constant durations.
  time_sleep: none("create_duration is a constant duration"),
};

/** The values at a dotted path; arrays (cdktf writes blocks as arrays or objects) are walked. */
function valuesAt(value: unknown, path: readonly string[]): unknown[] {
  if (Array.isArray(value)) return value.flatMap((v) => valuesAt(v, path));
  if (path.length === 0) return value === undefined ? [] : [value];
  if (value === null || typeof value !== "object") return [];
  return valuesAt((value as Record<string, unknown>)[path[0]], path.slice(1));
}

/** A Terraform reference is checked where the value it refers to is set. */
const isReference = (v: unknown) => typeof v === "string" && v.includes("${");

interface Checked {
  readonly violations: string[];
  readonly undeclared: Set<string>;
  /** Rules (type + attribute) that met at least one value. */
  readonly applied: Set<string>;
}

function checkStacks(stacks: Record<string, StackJson>, into: Checked): void {
  for (const [stackName, stack] of Object.entries(stacks))
    for (const [kind, prefix] of [
      ["resource", ""],
      ["data", "data."],
    ] as const)
      for (const [type, byId] of Object.entries<Record<string, StackJson>>(stack[kind] ?? {})) {
        const rules = RULES[prefix + type];
        if (rules === undefined) {
          into.undeclared.add(prefix + type);
          continue;
        }
        if (typeof rules === "string") continue;
        for (const [id, resource] of Object.entries(byId))
          for (const rule of rules)
            for (const value of valuesAt(resource, rule.attribute.split("."))) {
              into.applied.add(`${prefix}${type}.${rule.attribute}`);
              if (isReference(value)) continue;
              const problem = rule.check(value, resource);
              if (problem) into.violations.push(`${stackName}: ${prefix}${type}.${id}.${rule.attribute} = ${JSON.stringify(value)} ${problem} [${rule.source}]`);
            }
      }
}

/** A name of exactly `length` characters: `tag`, then letters, with hyphens where names are cut. */
function longName(tag: string, length: number, hyphens: readonly number[]): string {
  const chars = [...tag.padEnd(length, "x")];
  for (const i of hyphens) if (i > tag.length && i < length - 1) chars[i] = "-";
  return chars.join("");
}

// Fleet names: 16 characters, a hyphen where Key Vault, pool and deployer names cut them (12).
const LONG_FLEET = longName("fleet", 16, [11]);
// The longest repository whose deploy subject fits google.subject's 127 bytes (see the rule).
const LONG_REPOSITORY = `${"o".repeat(39)}/${"r".repeat(127 - "repo:".length - `:environment:${DEPLOY_ENVIRONMENT}`.length - 40)}`;

/**
 * Every region of every target, with the longest names each target allows. With a uniqueSuffix
 * only the Azure bots of one region (a fleet with a suffix may have only one Azure region): the
 * suffix changes the shared Key Vault, storage and registry names, which a region with a
 * Container Apps bot has all of, and the bots' own storage accounts.
 */
function maximalFleet(uniqueSuffix?: string): Fleet {
  // Hyphens where names.ts cuts bot names (15 host name prefix, 19 service account, 24 or 25
  // environment storage), shifted from bot to bot so each cut meets a hyphen and a letter.
  const cuts = (i: number) => [14, 18, 23].map((at) => at + (i % 3));
  const bots = [
    ...AZURE_REGIONS.map((region, i) => ({ name: longName(`vm${i}`, 40, cuts(i)), target: "azure-vmss", region, runtime: i % 2 ? "nanobot" : "openclaw" })),
    ...AZURE_REGIONS.map((region, i) => ({
      name: longName(`ca${i}`, 32, cuts(i)),
      target: "azure-container-apps",
      region,
      runtime: i % 2 ? "nanobot" : "openclaw",
      ...(i % 2 ? { internalOnly: true } : { allowedIpRanges: ["203.0.113.0/24"] }),
    })),
    ...GCP_REGIONS.map((region, i) => ({ name: longName(`cr${i}`, 49 - LONG_FLEET.length - 1, cuts(i)), target: "gcp-cloud-run", region, runtime: i % 2 ? "nanobot" : "openclaw" })),
  ]
    .filter((b) => !uniqueSuffix || (b.target !== "gcp-cloud-run" && b.region === AZURE_REGIONS[0]))
    .map((b) => ({ ...b, model: "openrouter/anthropic/claude-haiku-4-5", channels: { telegram: { allowFrom: ["1"] }, discord: { allowFrom: ["2"] } } }));
  return fleetFrom(
    JSON.stringify({
      name: LONG_FLEET,
      azure: { containerAppsSubnet: "10.0.2.0/27", alerts: { email: "ops@example.com" }, ...(uniqueSuffix && { uniqueSuffix }) },
      gcp: { project: longName("project", 30, [12]), github: { repository: LONG_REPOSITORY, branch: "main" } },
      bots,
    }),
  );
}

/** The shortest names, in one region per target. */
function minimalFleet(): Fleet {
  return fleetFrom(
    JSON.stringify({
      name: "ab",
      azure: { alerts: { email: "ops@example.com" } },
      gcp: { project: "abcdef", github: { repository: "o/r" } },
      bots: [
        { name: "abc", target: "azure-vmss" },
        { name: "abd", target: "azure-container-apps", publicAccess: true },
        { name: "abe", target: "gcp-cloud-run", region: "us-central1" },
      ],
    }),
  );
}

describe("provider facts", () => {
  const fleets: Record<string, () => Fleet> = {
    "the example fleet": () => exampleFleet(),
    "16-character fleet, longest bot names, every region": () => maximalFleet(),
    "the same with an 8-character uniqueSuffix (Azure bots of one region)": () => maximalFleet("abcd1234"),
    "2-character fleet, 3-character bots": () => minimalFleet(),
  };
  const results: Record<string, Checked> = {};
  beforeAll(() => {
    for (const [label, fleet] of Object.entries(fleets)) {
      results[label] = { violations: [], undeclared: new Set(), applied: new Set() };
      checkStacks(synthFleet(fleet()).stacks, results[label]);
    }
  });

  test.each(Object.keys(fleets))("every name and bounded attribute of %s passes the provider's validation", (label) => {
    expect(results[label].violations).toEqual([]);
  });

  test("every resource and data source type in the output is declared in the table", () => {
    expect([...new Set(Object.values(results).flatMap((r) => [...r.undeclared]))].sort()).toEqual([]);
  });

  test("every rule of the table meets its attribute somewhere (none silently checks nothing)", () => {
    const applied = new Set(Object.values(results).flatMap((r) => [...r.applied]));
    const rules = Object.entries(RULES).flatMap(([type, rules]) => (typeof rules === "string" ? [] : rules.map((r) => `${type}.${r.attribute}`)));
    expect(rules.filter((r) => !applied.has(r))).toEqual([]);
  });

  test("the rules refuse what the providers refuse, and accept what they accept", () => {
    const check = (type: string, attribute: string, value: unknown, resource: StackJson = {}) => (RULES[type] as Rule[]).find((r) => r.attribute === attribute)!.check(value, resource);
    expect(check("azurerm_storage_container", "name", "-state")).toMatch(/does not match/);
    expect(check("azurerm_storage_container", "name", "state")).toBeUndefined();
    expect(check("google_service_account", "display_name", "x".repeat(101))).toMatch(/101 bytes/);
    expect(check("google_service_account", "display_name", "é".repeat(50))).toBeUndefined();
    expect(check("google_storage_bucket", "name", "googly-bot-state-123456")).toMatch(/goog/);
    expect(check("google_storage_bucket", "name", "ops-g00gle-bot-state-123456")).toMatch(/google/);
    expect(check("google_iam_workload_identity_pool", "workload_identity_pool_id", "gcp-pool")).toMatch(/gcp-/);
    expect(check("azurerm_storage_account", "name", "stmicrosoft9541b8")).toMatch(/microsoft/);
    expect(check("azurerm_container_app", "name", "login-bot")).toMatch(/login/);
    expect(check("azurerm_monitor_action_group", "short_name", "botfleet-demo")).toMatch(/13 characters/);
    expect(check("azurerm_orchestrated_virtual_machine_scale_set", "automatic_instance_repair.grace_period", "PT5M")).toMatch(/not a duration/);
    expect(check("azurerm_orchestrated_virtual_machine_scale_set", "automatic_instance_repair.grace_period", "PT1H30M")).toBeUndefined();
    expect(check("azurerm_orchestrated_virtual_machine_scale_set", "automatic_instance_repair.grace_period", "PT1H31M")).toMatch(/not a duration/);
    expect(check("azurerm_container_app", "secret.key_vault_secret_id", "https://kv-demo-9541b8.vault.azure.net/secrets/bot-delta--llm-api-key")).toBeUndefined();
    expect(check("azurerm_container_app", "secret.key_vault_secret_id", "https://kv-demo-9541b8.vault.azure.net/keys/x")).toMatch(/is not/);
    const condition = (repository: string) => ({ attribute_condition: `assertion.repository == "${repository}" && assertion.ref == "refs/heads/main"` });
    expect(check("google_iam_workload_identity_pool_provider", "attribute_mapping", { "google.subject": "assertion.sub" }, condition(LONG_REPOSITORY))).toBeUndefined();
    expect(check("google_iam_workload_identity_pool_provider", "attribute_mapping", { "google.subject": "assertion.sub" }, condition(`${LONG_REPOSITORY}r`))).toMatch(/128 bytes/);
  });

  test("the generated fleets are at the limits they claim", () => {
    const fleet = maximalFleet();
    expect(fleet.name).toHaveLength(16);
    const longest = (target: string) => Math.max(...fleet.bots.filter((b) => b.target === target).map((b) => b.name.length));
    expect([longest("azure-vmss"), longest("azure-container-apps"), longest("gcp-cloud-run")]).toEqual([40, 32, 32]);
    expect(new Set(fleet.bots.map((b) => `${b.target} ${b.region}`)).size).toBe(2 * AZURE_REGIONS.length + GCP_REGIONS.length);
    expect(fleet.gcp?.github?.repository).toHaveLength(99);
    // The loader assumes the same environment when it refuses over-long subjects.
    expect(DEPLOY_ENVIRONMENT).toBe(GITHUB_DEPLOY_ENVIRONMENT);
  });
});
