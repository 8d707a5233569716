import { decodeCustomData } from "../tfjson/terraform-json";
import { exampleFleet, synthFleet, type StackJson } from "./support/fleet";

/** Custom data decoded, so a template change shows in the snapshot as readable text. */
function readable(stack: StackJson): StackJson {
  const copy = JSON.parse(JSON.stringify(stack));
  for (const vmss of Object.values(copy.resource?.azurerm_orchestrated_virtual_machine_scale_set ?? {}) as StackJson[]) vmss.os_profile.custom_data = decodeCustomData(vmss.os_profile.custom_data);
  return copy;
}

const { stacks } = synthFleet(exampleFleet());

test("the example fleet synthesizes a shared stack per cloud region and one stack per bot", () => {
  expect(Object.keys(stacks).sort()).toEqual(["azure-shared-eastus2", "bot-alpha", "bot-beta", "bot-delta", "bot-epsilon", "bot-gamma", "gcp-shared-us-central1"]);
});

test.each(Object.keys(stacks).sort())("stack %s matches its snapshot", (name) => {
  expect(readable(stacks[name])).toMatchSnapshot();
});

test("synthesis is deterministic", () => {
  expect(synthFleet(exampleFleet()).stacks).toEqual(stacks);
});
