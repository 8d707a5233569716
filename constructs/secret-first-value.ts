import { TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { UNSET_SECRET, type SecretSpec } from "../runtimes/runtime";

/** Terraform variable of a secret's first value: `llm-api-key` -> `llm_api_key` (TF_VAR_llm_api_key). */
export function secretVariableName(key: string): string {
  return key.replace(/-/g, "_");
}

/**
 * The optional, sensitive variable that gives an operator-set secret its first value at the first
 * deploy (`TF_VAR_<key>`). Vault resources take it write-only, so the value is in neither the
 * synthesized output nor the state; left unset, the secret starts as the placeholder and the bot
 * waits for it (README.md#the-first-deploy-on-every-target). `nullable: false` keeps an explicit
 * null from erasing it.
 */
export function secretFirstValue(stack: Construct, spec: SecretSpec, laterHow: string): TerraformVariable {
  return new TerraformVariable(stack, secretVariableName(spec.key), {
    type: "string",
    sensitive: true,
    nullable: false,
    default: UNSET_SECRET,
    description: `First value of ${spec.env} (${spec.description}); later ones: ${laterHow}`,
  });
}
