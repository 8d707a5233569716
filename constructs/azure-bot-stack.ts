import { DataAzurermKeyVault } from "@cdktf/provider-azurerm/lib/data-azurerm-key-vault";
import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import { StorageAccount } from "@cdktf/provider-azurerm/lib/storage-account";
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { TimeProvider } from "@cdktf/provider-time/lib/provider";
import type { Construct } from "constructs";
import type { Bot, Fleet } from "../config/load";
import { azureBotNames, azureSharedNames, type AzureBotNames, type AzureSharedNames } from "../config/names";
import type { AgentRuntime } from "../runtimes/runtime";
import { BlobStateContainer } from "./blob-state-container";
import { FleetStack, fleetTags } from "./fleet-stack";
import { KeyVaultBotSecrets } from "./key-vault-bot-secrets";
import { RoleGrant } from "./role-grant";

/** Days a deleted state blob or container can be undeleted (Azure Blob soft delete). */
export const STATE_SOFT_DELETE_DAYS = 14;

/**
 * What every Azure bot stack starts with, whatever runs the bot: the region's Key Vault looked up
 * by name (no dependency on the shared stack), and the bot's own resource group, identity, storage
 * account with the blob container of its state, and secrets in the vault, each secret readable by this bot's
 * identity only (a role assignment per secret, never one on the vault). A compromised bot reaches
 * its own secrets and state and nothing of any other bot.
 */
export abstract class AzureBotStack extends FleetStack {
  protected readonly shared: AzureSharedNames;
  protected readonly names: AzureBotNames;
  protected readonly tags: Record<string, string>;
  protected readonly identity: UserAssignedIdentity;
  protected readonly vault: DataAzurermKeyVault;
  protected readonly resourceGroup: ResourceGroup;
  protected readonly storage: StorageAccount;
  /** The durable copy of the bot's state, which only the bot's identity may read and write. */
  protected readonly stateStore: BlobStateContainer;
  protected readonly secrets: KeyVaultBotSecrets;
  /** The bot identity's role on each of its secrets. */
  protected readonly secretGrants: RoleGrant[];

  constructor(scope: Construct, fleet: Fleet, bot: Bot, runtime: AgentRuntime) {
    super(scope, bot.name, fleet, { bot, runtime });
    this.shared = azureSharedNames(fleet.name, bot.region, fleet.azure.uniqueSuffix);
    this.names = azureBotNames(fleet.name, bot.name, fleet.azure.uniqueSuffix);
    this.tags = fleetTags(fleet.name, bot.name);

    new AzurermProvider(this, "azurerm", { features: [{}] });
    new RandomProvider(this, "random", {});
    new TimeProvider(this, "time", {});

    this.vault = new DataAzurermKeyVault(this, "key-vault", { resourceGroupName: this.shared.resourceGroup, name: this.shared.keyVault });

    this.resourceGroup = new ResourceGroup(this, "resource-group", { name: this.names.resourceGroup, location: bot.region, tags: this.tags });
    const inGroup = { location: bot.region, resourceGroupName: this.resourceGroup.name, tags: this.tags };
    this.identity = new UserAssignedIdentity(this, "identity", { ...inGroup, name: this.names.identity });

    // The bot's own account: no fixed fee (Standard LRS bills by use). HTTPS and TLS 1.2 only,
    // nothing public (policy BF-STO-1). The bot reaches its container with its identity, no key.
    this.storage = new StorageAccount(this, "state-storage", {
      ...inGroup,
      name: this.names.storageAccount,
      accountKind: "StorageV2",
      accountTier: "Standard",
      accountReplicationType: "LRS",
      httpsTrafficOnlyEnabled: true,
      minTlsVersion: "TLS1_2",
      allowNestedItemsToBePublic: false,
      crossTenantReplicationEnabled: false,
      // No bot holds a key role; the key stays on for the provider, which reads the account's
      // data-plane properties with it unless the provider itself is switched to Entra ID.
      sharedAccessKeyEnabled: true,
      // A backstop behind state-sync's own retention: a snapshot deleted by it or by hand, or the
      // whole container, can be undeleted for 14 days (azurerm v4.55.0
      // internal/services/storage/storage_account_resource.go:470-512, days 1 to 365).
      blobProperties: { deleteRetentionPolicy: { days: STATE_SOFT_DELETE_DAYS }, containerDeleteRetentionPolicy: { days: STATE_SOFT_DELETE_DAYS } },
    });
    this.stateStore = new BlobStateContainer(this, "state", {
      storageAccountId: this.storage.id,
      blobEndpoint: `https://${this.names.storageAccount}.blob.core.windows.net`,
      name: this.names.stateContainer,
      principalId: this.identity.principalId,
    });

    this.secrets = new KeyVaultBotSecrets(this, "secrets", {
      keyVaultId: this.vault.id,
      secretName: this.names.secret,
      secrets: runtime.secrets(bot),
      tags: this.tags,
    });
    // Key Vault's RBAC takes roles at the scope of an individual secret (Microsoft Learn, "Azure
    // role-based access control for Key Vault data plane operations"), so no bot reads another's.
    this.secretGrants = Object.entries(this.secrets.secrets).map(
      ([key, secret]) =>
        new RoleGrant(this, `reads-${key}`, {
          scope: secret.resourceVersionlessId,
          role: "Key Vault Secrets User",
          principalId: this.identity.principalId,
          reason: `bot ${bot.name} reads its own secret ${this.names.secret(key)}`,
        }),
    );
  }
}
