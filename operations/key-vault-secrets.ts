import type { TokenCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import type { SecretSpec } from "../runtimes/runtime";
import { cloudError } from "./errors";
import type { BotSecrets, SecretState } from "./types";

/**
 * A vault's URL: `BOTFLEET_AZURE_VAULT_URL` (a template with `{vault}`, for another Azure cloud or
 * a stand-in), else Azure's public cloud.
 */
export function vaultUrl(vault: string, env: NodeJS.ProcessEnv): string {
  return (env.BOTFLEET_AZURE_VAULT_URL ?? "https://{vault}.vault.azure.net").replace("{vault}", vault);
}

/** A bot's secrets in its region's Key Vault (`<bot>--<key>`), through the Azure SDK for JavaScript. */
export class KeyVaultSecrets implements BotSecrets {
  readonly describe: string;
  private readonly client: SecretClient;
  private readonly role: string;

  constructor(
    vault: string,
    private readonly nameOf: (key: string) => string,
    credential: TokenCredential,
    env: NodeJS.ProcessEnv,
  ) {
    const url = vaultUrl(vault, env);
    // The SDK checks that the vault's authentication challenge names a resource in the vault's own
    // domain; a vault URL set by hand (a stand-in) is not one.
    this.client = new SecretClient(url, credential, { disableChallengeResourceVerification: env.BOTFLEET_AZURE_VAULT_URL !== undefined });
    this.describe = `Key Vault ${vault}`;
    this.role = `"Key Vault Secrets Officer" on the vault ${vault} (the shared stack grants it to its deployer)`;
  }

  async list(specs: readonly SecretSpec[]): Promise<SecretState[]> {
    return Promise.all(
      specs.map(async (spec) => {
        const name = this.nameOf(spec.key);
        const versions: Date[] = [];
        try {
          for await (const v of this.client.listPropertiesOfSecretVersions(name)) if (v.enabled !== false && v.createdOn) versions.push(v.createdOn);
        } catch (e) {
          if ((e as { statusCode?: number }).statusCode !== 404) throw cloudError(e, "azure", `listing the versions of ${name} in ${this.describe}`, this.role);
        }
        versions.sort((a, b) => a.getTime() - b.getTime());
        return { ...spec, name, versions: versions.length, lastSet: versions[versions.length - 1] };
      }),
    );
  }

  async set(spec: SecretSpec, value: string): Promise<{ version: string }> {
    const name = this.nameOf(spec.key);
    try {
      const secret = await this.client.setSecret(name, value);
      return { version: secret.properties.version ?? "" };
    } catch (e) {
      throw cloudError(e, "azure", `setting ${name} in ${this.describe}`, this.role);
    }
  }
}
