import { SecretManagerSecret } from "@cdktf/provider-google/lib/secret-manager-secret";
import { SecretManagerSecretIamMember } from "@cdktf/provider-google/lib/secret-manager-secret-iam-member";
import { SecretManagerSecretVersion } from "@cdktf/provider-google/lib/secret-manager-secret-version";
import { Password } from "@cdktf/provider-random/lib/password";
import { Construct } from "constructs";
import type { SecretSpec } from "../runtimes/runtime";
import { secretFirstValue } from "./secret-first-value";

export interface SecretManagerBotSecretsProps {
  /** Secret ID for a secret key. */
  readonly secretId: (key: string) => string;
  readonly secrets: readonly SecretSpec[];
  /** The one principal that may read these secrets (`serviceAccount:<email>`). */
  readonly reader: string;
  readonly labels: Record<string, string>;
}

/**
 * The bot's secrets in Secret Manager, each readable by the bot's own service account and no one
 * else botfleet creates. Generated ones (the gateway token) get a random first version. The first
 * version of each other one comes from an optional sensitive variable (`TF_VAR_<key>`, so the
 * service can start on the first deploy), written write-only so it is kept out of state too, or
 * else is the placeholder; later versions come from `gcloud secrets versions add`, and the bot
 * reads `latest`. No value appears in the synthesized configuration.
 */
export class SecretManagerBotSecrets extends Construct {
  /** Secret ID by secret key. */
  readonly secretIds: Record<string, string> = {};
  /** The grants the service must wait for before its first revision reads the secrets. */
  readonly readerGrants: SecretManagerSecretIamMember[] = [];
  /** The first versions: the service reads `latest`, which must exist before its first revision. */
  readonly firstVersions: SecretManagerSecretVersion[] = [];

  constructor(scope: Construct, id: string, props: SecretManagerBotSecretsProps) {
    super(scope, id);
    for (const spec of props.secrets) {
      const secret = new SecretManagerSecret(this, spec.key, {
        secretId: props.secretId(spec.key),
        replication: { auto: {} },
        labels: props.labels,
        // Labels allow only lowercase; annotations carry what the operator needs to know.
        annotations: { env: spec.env, required: String(spec.required), description: spec.description },
      });
      if (spec.generated) {
        const generated = new Password(this, `${spec.key}-value`, { length: 48, special: false });
        this.firstVersions.push(new SecretManagerSecretVersion(this, `${spec.key}-first-version`, { secret: secret.id, secretData: generated.result }));
      } else {
        const firstValue = secretFirstValue(scope, spec, "gcloud secrets versions add");
        this.firstVersions.push(
          new SecretManagerSecretVersion(this, `${spec.key}-first-version`, {
            secret: secret.id,
            secretDataWo: firstValue.stringValue,
            secretDataWoVersion: 1,
          }),
        );
      }
      this.readerGrants.push(
        new SecretManagerSecretIamMember(this, `${spec.key}-reader`, {
          secretId: secret.id,
          role: "roles/secretmanager.secretAccessor",
          member: props.reader,
        }),
      );
      this.secretIds[spec.key] = secret.secretId;
    }
  }
}
