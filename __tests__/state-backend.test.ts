import { LOCAL_STATE_CHECK, localStateWarning } from "../constructs/fleet-stack";
import { exampleFleet, synthFleet } from "./support/fleet";

// Terraform's state holds the secrets it generates (gateway tokens, VM admin passwords): a bot
// stack on the local backend warns at every plan and apply (a failed check assertion is a
// warning; Terraform 1.11.4 prints "Warning: Check block assertion failed" and the message).

test("every bot stack on the local backend warns at plan and apply that its state holds generated secrets in plain text", () => {
  const { stacks } = synthFleet(exampleFleet());
  const bots = exampleFleet().bots.map((b) => b.name);
  for (const [name, stack] of Object.entries(stacks)) {
    const check = (stack as { check?: Record<string, { assert: { condition: string; error_message: string }[] }> }).check;
    if (!bots.includes(name)) {
      expect(check).toBeUndefined();
      continue;
    }
    expect(stack.terraform).toMatchObject({ backend: { local: { path: `../../../terraform.${name}.tfstate` } } });
    expect(check).toEqual({ [LOCAL_STATE_CHECK]: { assert: [{ condition: '${terraform.workspace == ""}', error_message: localStateWarning(name) }] } });
  }
  expect(localStateWarning("bot-alpha")).toBe(
    "bot-alpha keeps its Terraform state in a local file, terraform.bot-alpha.tfstate, which holds the secrets Terraform generates for it (the gateway token; on a VM the admin password) in plain text. Move the state to HCP Terraform (terraformCloud.organization in the fleet file) or another encrypted backend, and keep the file out of backups and shares until then (docs/secrets-and-operations.md#terraform-state).",
  );
});

test("no stack on HCP Terraform carries the warning", () => {
  const { stacks } = synthFleet(exampleFleet({ TFC_ORGANIZATION: "acme" }));
  for (const stack of Object.values(stacks)) expect((stack as { check?: unknown }).check).toBeUndefined();
});
