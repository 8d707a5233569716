import { KeyVaultSecret } from "@cdktf/provider-azurerm/lib/key-vault-secret";
import { Password } from "@cdktf/provider-random/lib/password";
import { Construct } from "constructs";
import { UNSET_SECRET, type SecretSpec } from "../runtimes/runtime";

export interface KeyVaultBotSecretsProps {
  readonly keyVaultId: string;
  /** Vault secret name for a secret key (`<bot>--<key>`). */
  readonly secretName: (key: string) => string;
  readonly secrets: readonly SecretSpec[];
  readonly tags: Record<string, string>;
}

/**
 * The bot's secrets in Key Vault. Terraform creates each one so the vault shows what the bot
 * expects; generated ones (the gateway token) get a random value, the rest a placeholder that the
 * operator overwrites with `az keyvault secret set`; Terraform never touches a value again. No value
 * ever appears in the synthesized configuration (generated values live only in state).
 */
export class KeyVaultBotSecrets extends Construct {
  /** The vault secrets by secret key. */
  readonly secrets: Record<string, KeyVaultSecret> = {};

  constructor(scope: Construct, id: string, props: KeyVaultBotSecretsProps) {
    super(scope, id);
    for (const secret of props.secrets) {
      const generated = secret.generated
        ? new Password(this, `${secret.key}-value`, { length: 48, special: false })
        : undefined;
      this.secrets[secret.key] = new KeyVaultSecret(this, secret.key, {
        keyVaultId: props.keyVaultId,
        name: props.secretName(secret.key),
        value: generated ? generated.result : UNSET_SECRET,
        contentType: "text/plain",
        tags: { ...props.tags, env: secret.env, required: String(secret.required) },
        // After creation the value belongs to the operator: a rotation with `az keyvault secret
        // set` is never reverted by the next deploy.
        lifecycle: { ignoreChanges: ["value"] },
      });
    }
  }
}
