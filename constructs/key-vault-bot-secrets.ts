import { KeyVaultSecret } from "@cdktf/provider-azurerm/lib/key-vault-secret";
import { Password } from "@cdktf/provider-random/lib/password";
import { Construct } from "constructs";
import type { SecretSpec } from "../runtimes/runtime";
import { secretFirstValue } from "./secret-first-value";

export interface KeyVaultBotSecretsProps {
  readonly keyVaultId: string;
  /** Vault secret name for a secret key (`<bot>--<key>`). */
  readonly secretName: (key: string) => string;
  readonly secrets: readonly SecretSpec[];
  readonly tags: Record<string, string>;
}

/**
 * The bot's secrets in Key Vault. Terraform creates each one so the vault shows what the bot
 * expects: generated ones (the gateway token) get a random value; every other one gets its first
 * value from an optional sensitive variable (`TF_VAR_<key>`), written write-only (`value_wo`, so
 * it is in neither the synthesized output nor the state), or else the placeholder, and is
 * overwritten later with `az keyvault secret set`. Terraform never writes a value again: the
 * write-only version stays 1, and a generated value's changes are ignored. The tags (the
 * variable it is read into, required or not) describe the first version only.
 */
export class KeyVaultBotSecrets extends Construct {
  /** The vault secrets by secret key. */
  readonly secrets: Record<string, KeyVaultSecret> = {};

  constructor(scope: Construct, id: string, props: KeyVaultBotSecretsProps) {
    super(scope, id);
    for (const secret of props.secrets) {
      const value = secret.generated
        ? { value: new Password(this, `${secret.key}-value`, { length: 48, special: false }).result }
        : { valueWo: secretFirstValue(scope, secret, "az keyvault secret set").stringValue, valueWoVersion: 1 };
      this.secrets[secret.key] = new KeyVaultSecret(this, secret.key, {
        keyVaultId: props.keyVaultId,
        name: props.secretName(secret.key),
        ...value,
        // Tags and content type belong to a version, and azurerm v4.55.0 reads both from the latest
        // one (key_vault_secret_resource.go:399, 420): after `az keyvault secret set`, which tags
        // its version file-encoding only, they would be rewritten at every plan. tags is Optional,
        // not Computed (vendored commonschema/tags.go:44-53), so leaving it out would plan its
        // removal all the same: it is ignored after create. No content type: an absent one reads
        // as "", which an unset Optional string equals (key_vault_secret_resource.go:82-85).
        tags: { ...props.tags, env: secret.env, required: String(secret.required) },
        lifecycle: { ignoreChanges: secret.generated ? ["value", "tags"] : ["tags"] },
      });
    }
  }
}
