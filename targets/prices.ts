/**
 * The price table behind the review's cost estimates. Pay-as-you-go list prices in USD for US East
 * (Azure) and us-central1 (Google Cloud), 730 hours a month, before free grants, discounts and
 * taxes. Prices change: check them, update the date, and the review says which date it used.
 */
export const PRICES = {
  asOf: "2026-11-01",
  currency: "USD",
  hoursPerMonth: 730,
  azure: {
    /** Linux VM per month, by size (pay-as-you-go). */
    vmPerMonth: { Standard_B1ms: 15.11, Standard_B2s: 30.37, Standard_D2s_v3: 70.08 } as Record<string, number>,
    /** Standard static public IPv4 per month. */
    publicIpPerMonth: 3.65,
    /** Managed OS disk per month, by type and the size tier a disk of that many GiB is billed at. */
    diskPerMonth: { StandardSSD_LRS: { 32: 2.4 } } as Record<string, Record<number, number>>,
    /** Container Apps Consumption, active usage, per second. */
    containerAppsVcpuSecond: 0.000024,
    containerAppsGibSecond: 0.000003,
    /** Container Registry, per day by SKU (storage included up to the SKU's quota). */
    registryPerDay: { Basic: 0.167 } as Record<string, number>,
    /** Billed by use, so not in the totals. */
    usage: {
      filesHotPerGib: "Azure Files hot: about $0.03 per GiB stored a month, plus transactions",
      logAnalyticsPerGb: "Log Analytics: about $2.30 per GB ingested (first 5 GB a month free), capped by azure.logDailyCapGb",
      keyVaultOperations: "Key Vault: $0.03 per 10,000 secret operations",
      blobPerGib: "Blob Storage hot: per GiB stored a month plus operations (state snapshots; not priced here)",
    },
  },
  gcp: {
    /** Cloud Run instance-based billing (CPU always allocated), per second. */
    cloudRunVcpuSecond: 0.000018,
    cloudRunGibSecond: 0.000002,
    /** Secret Manager: one active version per secret, per month. */
    secretVersionPerMonth: 0.06,
    usage: {
      storagePerGib: "Cloud Storage standard: about $0.020 per GiB stored a month, plus operations",
      artifactRegistryPerGib: "Artifact Registry: $0.10 per GiB stored a month beyond 0.5 GiB",
      cloudLoggingPerGib: "Cloud Logging: $0.50 per GiB ingested beyond the project's free 50 GiB a month, kept 30 days",
    },
  },
} as const;

/**
 * Resource types that cost nothing by themselves (their use may: see `usage` above). A type in
 * neither list is shown as "not in the price table", never silently counted as free.
 */
export const NO_CHARGE_TYPES = new Set([
  "azurerm_resource_group",
  "azurerm_virtual_network",
  "azurerm_subnet",
  "azurerm_network_security_group",
  "azurerm_subnet_network_security_group_association",
  "azurerm_user_assigned_identity",
  "azurerm_role_assignment",
  "azurerm_key_vault",
  "azurerm_key_vault_secret",
  "azurerm_storage_account",
  "azurerm_storage_share",
  "azurerm_storage_container",
  "azurerm_container_app_environment",
  "azurerm_container_app_environment_storage",
  "azurerm_log_analytics_workspace",
  "azurerm_monitor_action_group",
  "random_password",
  "time_sleep",
  "google_project_service",
  "google_service_account",
  "google_service_account_iam_member",
  "google_project_iam_member",
  "google_iam_workload_identity_pool",
  "google_iam_workload_identity_pool_provider",
  "google_artifact_registry_repository",
  "google_secret_manager_secret_iam_member",
  "google_secret_manager_secret_version",
  "google_storage_bucket",
  "google_storage_bucket_iam_member",
  "google_cloud_run_v2_service_iam_member",
  "google_monitoring_notification_channel",
]);

export const SECONDS_PER_MONTH = PRICES.hoursPerMonth * 3600;
export const DAYS_PER_MONTH = PRICES.hoursPerMonth / 24;

/** Azure bills a managed disk at the smallest size tier that holds it. */
export function diskTier(gib: number): number {
  return [4, 8, 16, 32, 64, 128, 256, 512, 1024].find((t) => t >= gib) ?? gib;
}

/** "512Mi", "2Gi", "1G" as GiB; NaN for anything else. */
export function gibibytes(memory: unknown): number {
  const m = /^(\d+(?:\.\d+)?)(Mi|Gi|M|G)$/.exec(String(memory));
  if (!m) return NaN;
  const n = Number(m[1]);
  return { Mi: n / 1024, Gi: n, M: (n * 1e6) / 2 ** 30, G: (n * 1e9) / 2 ** 30 }[m[2] as "Mi" | "Gi" | "M" | "G"];
}
