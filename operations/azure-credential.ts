import { AzureCliCredential, ClientSecretCredential, ManagedIdentityCredential, WorkloadIdentityCredential, type TokenCredential } from "@azure/identity";

/**
 * The Azure identity the command acts as, chosen the way Terraform's azurerm provider chooses it
 * from the same variables: a service principal's secret (ARM_CLIENT_ID, ARM_CLIENT_SECRET,
 * ARM_TENANT_ID), workload identity federation (ARM_USE_OIDC with ARM_OIDC_TOKEN_FILE_PATH or
 * AZURE_FEDERATED_TOKEN_FILE), a managed identity (ARM_USE_MSI), else the Azure CLI's login.
 */
export function azureCredential(env: NodeJS.ProcessEnv): TokenCredential {
  const clientId = env.ARM_CLIENT_ID;
  const tenantId = env.ARM_TENANT_ID;
  if (clientId && tenantId && env.ARM_CLIENT_SECRET) return new ClientSecretCredential(tenantId, clientId, env.ARM_CLIENT_SECRET);
  const tokenFilePath = env.ARM_OIDC_TOKEN_FILE_PATH ?? env.AZURE_FEDERATED_TOKEN_FILE;
  if (env.ARM_USE_OIDC === "true" && clientId && tenantId && tokenFilePath) return new WorkloadIdentityCredential({ clientId, tenantId, tokenFilePath });
  if (env.ARM_USE_MSI === "true") return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
  return new AzureCliCredential(tenantId ? { tenantId } : {});
}
