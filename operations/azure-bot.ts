import { azureBotNames, azureSharedNames } from "../config/names";
import { AzureBlobStore } from "./azure-blob-store";
import { azureCredential } from "./azure-credential";
import { KeyVaultSecrets } from "./key-vault-secrets";
import type { BotRef, BotSecrets, BotStore } from "./types";

/** An Azure bot's store: the `state` container of its own storage account (constructs/blob-state-container.ts). */
export function azureBotStore({ fleet, bot }: BotRef, env: NodeJS.ProcessEnv): BotStore {
  const names = azureBotNames(fleet.name, bot.name, fleet.azure.uniqueSuffix);
  return new AzureBlobStore(names.storageAccount, names.stateContainer, azureCredential(env), env);
}

/** An Azure bot's secrets: `<bot>--<key>` in its region's vault (constructs/key-vault-bot-secrets.ts). */
export function azureBotSecrets({ fleet, bot }: BotRef, env: NodeJS.ProcessEnv): BotSecrets {
  const vault = azureSharedNames(fleet.name, bot.region, fleet.azure.uniqueSuffix).keyVault;
  return new KeyVaultSecrets(vault, azureBotNames(fleet.name, bot.name, fleet.azure.uniqueSuffix).secret, azureCredential(env), env);
}
