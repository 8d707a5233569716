import { exampleFleet, synthFleet } from "./support/fleet";

/** Every stack's outputs, by stack: the names a user reads with `cdktf output <stack>`. */
const { stacks } = synthFleet(exampleFleet());
const outputs = (stack: string) => Object.fromEntries(Object.entries(stacks[stack].output ?? {}).map(([name, o]) => [name, (o as { value: unknown }).value]));

test("every output of every stack is named in kebab-case", () => {
  for (const [name, stack] of Object.entries(stacks)) for (const output of Object.keys(stack.output ?? {})) expect(`${name}: ${output}`).toMatch(/: [a-z0-9]+(-[a-z0-9]+)*$/);
});

test("every bot stack, whatever its target, names its address, identity and state store alike", () => {
  expect(outputs("bot-alpha")).toEqual({
    url: "https://alpha.bots.example.com",
    identity: "${azurerm_user_assigned_identity.identity.id}",
    "state-store": expect.stringMatching(/^https:\/\/st[a-z0-9]+\.blob\.core\.windows\.net\/state$/),
  });
  expect(outputs("bot-delta")).toEqual({
    url: "https://${azurerm_container_app.app.ingress[0].fqdn}",
    identity: "${azurerm_user_assigned_identity.identity.id}",
    "state-store": expect.stringMatching(/^https:\/\/st[a-z0-9]+\.blob\.core\.windows\.net\/state$/),
  });
  expect(outputs("bot-gamma")).toEqual({
    url: "${google_cloud_run_v2_service.service.uri}",
    identity: "${data.google_service_account.service-account.email}",
    "state-store": "gs://demo-bot-gamma-state-10a546",
  });
  // A VM without a domain has no address known at plan: its instance's public IP comes later.
  expect(Object.keys(outputs("bot-epsilon")).sort()).toEqual(["identity", "state-store"]);
});
