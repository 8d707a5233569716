/**
 * What a resource takes with it when a plan replaces or destroys it: the bot's state snapshots,
 * its Key Vault and the secrets set by hand, a public address, its identity and grants. A loss of
 * state or of secrets set by hand needs the pull request's consent (scripts/review.ts,
 * docs/review.md#data-loss-needs-consent); the others are named so that nobody is surprised.
 */
import type { Json } from "../tfjson/terraform-json";

export type LossKind = "state" | "secrets" | "address" | "identity" | "images" | "logs" | "generated";

export interface Loss {
  /** The resource's Terraform address. */
  readonly address: string;
  readonly kind: LossKind;
  /** What goes, as the review says it. */
  readonly text: string;
  /** How to keep it first (state and secrets). */
  readonly keep?: string;
  /** Only if the plan replaces it: the provider decides at plan time, or the table does not know the attribute. */
  readonly maybe?: true;
}

/** Kinds whose loss fails the pull-request check unless the pull request accepts it. */
export const CONSENT_KINDS: ReadonlySet<LossKind> = new Set(["state", "secrets"]);

const str = (v: Json): string => (typeof v === "string" ? v : "<computed>");

/** Finds another resource's body in the same stack by its address. */
export type Lookup = (address: string) => Json | undefined;

/** The `name` of the resource or data source a reference such as `${azurerm_storage_account.state-storage.id}` points at. */
function nameOf(v: Json, lookup: Lookup): string {
  const target = /^\$\{((?:data\.)?[\w-]+\.[\w-]+)\.\w+\}$/.exec(str(v))?.[1];
  const body = target ? lookup(target) : undefined;
  return body && typeof body === "object" && !Array.isArray(body) && typeof body.name === "string" ? body.name : (target ?? str(v));
}

/** How long the container's account keeps a deleted container (blob_properties.container_delete_retention_policy). */
function containerSoftDelete(account: Json, lookup: Lookup): string {
  const target = /^\$\{([\w-]+\.[\w-]+)\.\w+\}$/.exec(str(account))?.[1];
  const body = target ? lookup(target) : undefined;
  const days = (body as any)?.blob_properties?.container_delete_retention_policy?.days;
  return typeof days === "number" ? ` (restorable for ${days} days by container soft delete while its account exists)` : "";
}

type Describe = (body: Record<string, Json>, lookup: Lookup) => Omit<Loss, "address"> | undefined;

const LOSSES: Record<string, Describe> = {
  // Blob and container soft delete keep what is deleted inside an account, not the account itself.
  azurerm_storage_account: (b) => ({
    kind: "state",
    text: `storage account ${str(b.name)} and every blob in it: the bot's state snapshots and their pointer (soft delete does not cover a deleted account)`,
    keep: `az storage blob download-batch --auth-mode login --account-name ${str(b.name)} -s state -d ./state-backup`,
  }),
  azurerm_storage_container: (b, lookup) => ({
    kind: "state",
    text: `blob container ${str(b.name)} of storage account ${nameOf(b.storage_account_id, lookup)}: the bot's state snapshots and their pointer${containerSoftDelete(b.storage_account_id, lookup)}`,
    keep: `az storage blob download-batch --auth-mode login --account-name ${nameOf(b.storage_account_id, lookup)} -s ${str(b.name)} -d ./state-backup`,
  }),
  // The VM bot's desired release is written whole at every deploy: a replacement loses nothing.
  azurerm_storage_blob: () => undefined,
  // force_destroy false: the provider refuses to delete a bucket that holds objects (google v6.50.0
  // resource_storage_bucket.go:1234), so the apply stops there until they are moved away.
  google_storage_bucket: (b) => ({
    kind: "state",
    text: `bucket gs://${str(b.name)}: the bot's state snapshots and their old versions${b.force_destroy === false ? " (force_destroy is off: the apply stops at the bucket while it holds any object)" : ""}`,
    keep: `gcloud storage cp -r gs://${str(b.name)}/botfleet-state ./state-backup`,
  }),
  // The region's vault has purge protection (constructs/azure-shared-stack.ts): a destroyed vault
  // stays soft-deleted 90 days with its secrets, its name reserved; a new one starts empty.
  azurerm_key_vault: (b) => ({
    kind: "secrets",
    text: `Key Vault ${str(b.name)} and every secret in it, the values set by hand among them (soft-deleted for ${typeof b.soft_delete_retention_days === "number" ? b.soft_delete_retention_days : 90} days; the new vault starts empty)`,
    keep: `for each secret set by you: az keyvault secret show --vault-name ${str(b.name)} --name <secret> --query value -o tsv, and set it again after the deploy`,
  }),
  // Written write-only (value_wo), the value is the operator's. A generated one (value) is
  // written again from Terraform's state, which keeps it: nothing is lost. A destroyed secret is
  // soft-deleted, not purged, in a vault with purge protection (azurerm v4.55.0
  // key_vault_secret_resource.go:458-461).
  azurerm_key_vault_secret: (b, lookup) =>
    "value_wo" in b
      ? {
          kind: "secrets",
          text: `Key Vault secret ${str(b.name)}: the value set by you (soft-deleted, recoverable for the vault's retention days)`,
          keep: `az keyvault secret show --vault-name ${nameOf(b.key_vault_id, lookup)} --name ${str(b.name)} --query value -o tsv`,
        }
      : undefined,
  google_secret_manager_secret: (b) => ({
    kind: "secrets",
    text: `Secret Manager secret ${str(b.secret_id)} and all its versions, any value set by you among them`,
    keep: `gcloud secrets versions access latest --secret ${str(b.secret_id)}`,
  }),
  azurerm_orchestrated_virtual_machine_scale_set: (b) => ({
    kind: "address",
    text: `VM scale set ${str(b.name)}: its instance, its public IP (point the domain's DNS record at the new one) and what the agent wrote since state-sync's last snapshot`,
  }),
  azurerm_container_app: (b) => ({ kind: "address", text: `Container App ${str(b.name)}: its revisions, and its FQDN if its environment changes` }),
  azurerm_container_app_environment: (b) => ({ kind: "address", text: `Container Apps environment ${str(b.name)}: its default domain, so every app's FQDN in it` }),
  // Deletion protection defaults on and is checked at delete (google v6.50.0
  // resource_cloud_run_v2_service.go:1773): false must be applied before a replace or destroy.
  google_cloud_run_v2_service: (b) => ({
    kind: "address",
    text: `Cloud Run service ${str(b.name)}: its URL (https://${str(b.name)}-<project number>.${str(b.location)}.run.app) and revisions${b.deletion_protection === false ? "" : "; deletion_protection must be false and applied first, or the apply fails"}`,
  }),
  azurerm_user_assigned_identity: (b) => ({ kind: "identity", text: `managed identity ${str(b.name)}: a new principal; grants made outside botfleet are lost` }),
  google_service_account: (b) => ({ kind: "identity", text: `service account ${str(b.account_id)}: a new principal; grants made outside botfleet are lost` }),
  azurerm_container_registry: (b) => ({ kind: "images", text: `container registry ${str(b.name)} and every image pushed to it` }),
  google_artifact_registry_repository: (b) => ({ kind: "images", text: `Artifact Registry repository ${str(b.repository_id)} and every image pushed to it` }),
  azurerm_log_analytics_workspace: (b) => ({ kind: "logs", text: `Log Analytics workspace ${str(b.name)} and the logs in it` }),
  random_password: () => ({ kind: "generated", text: "a generated password or token (a new one is generated)" }),
};

/** What replacing or destroying the resource at `address` (type.name) with this body loses. */
export function lossOf(address: string, body: Json, lookup: Lookup = () => undefined): Loss | undefined {
  const type = address.split(".")[0];
  const describe = LOSSES[type];
  if (!describe || body === null || typeof body !== "object" || Array.isArray(body)) return undefined;
  const loss = describe(body, lookup);
  return loss && { address, ...loss };
}
