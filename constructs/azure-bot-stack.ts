import { DataAzurermKeyVault } from "@cdktf/provider-azurerm/lib/data-azurerm-key-vault";
import { DataAzurermUserAssignedIdentity } from "@cdktf/provider-azurerm/lib/data-azurerm-user-assigned-identity";
import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import type { Construct } from "constructs";
import type { Bot, Fleet } from "../config/load";
import { azureBotNames, azureSharedNames, type AzureBotNames, type AzureSharedNames } from "../config/names";
import type { AgentRuntime } from "../runtimes/runtime";
import { FleetStack, fleetTags } from "./fleet-stack";
import { KeyVaultBotSecrets } from "./key-vault-bot-secrets";

/**
 * What every Azure bot stack starts with, whatever runs the bot: the region's identity and Key
 * Vault looked up by name (no dependency on the shared stack), the bot's resource group, and its
 * secrets in the vault.
 */
export abstract class AzureBotStack extends FleetStack {
  protected readonly shared: AzureSharedNames;
  protected readonly names: AzureBotNames;
  protected readonly tags: Record<string, string>;
  protected readonly identity: DataAzurermUserAssignedIdentity;
  protected readonly vault: DataAzurermKeyVault;
  protected readonly resourceGroup: ResourceGroup;
  protected readonly secrets: KeyVaultBotSecrets;

  constructor(scope: Construct, fleet: Fleet, bot: Bot, runtime: AgentRuntime) {
    super(scope, bot.name, fleet, { bot, runtime });
    this.shared = azureSharedNames(fleet.name, bot.region, fleet.azure.uniqueSuffix);
    this.names = azureBotNames(fleet.name, bot.name);
    this.tags = fleetTags(fleet.name, bot.name);

    new AzurermProvider(this, "azurerm", { features: [{}] });
    new RandomProvider(this, "random", {});

    const lookup = { resourceGroupName: this.shared.resourceGroup };
    this.identity = new DataAzurermUserAssignedIdentity(this, "bot-identity", { ...lookup, name: this.shared.identity });
    this.vault = new DataAzurermKeyVault(this, "key-vault", { ...lookup, name: this.shared.keyVault });

    this.resourceGroup = new ResourceGroup(this, "resource-group", { name: this.names.resourceGroup, location: bot.region, tags: this.tags });
    this.secrets = new KeyVaultBotSecrets(this, "secrets", {
      keyVaultId: this.vault.id,
      secretName: this.names.secret,
      secrets: runtime.secrets(bot),
      tags: this.tags,
    });
  }
}
