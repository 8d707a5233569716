import { exampleFleet, fleetFrom, resources, synthFleet } from "./support/fleet";

const { stacks } = synthFleet(exampleFleet());
const shared = stacks["azure-shared-eastus2"];

describe("azure-shared-eastus2", () => {
  test("the NSG admits TCP 80 and 443 and explicitly denies every other inbound packet", () => {
    const [nsg] = resources(shared, "azurerm_network_security_group");
    const rules = nsg.security_rule.map((r: Record<string, unknown>) => ({
      name: r.name,
      priority: r.priority,
      direction: r.direction,
      access: r.access,
      protocol: r.protocol,
      port: r.destination_port_range,
      source: r.source_address_prefix,
    }));
    expect(rules).toEqual([
      { name: "AllowHttpInbound", priority: 100, direction: "Inbound", access: "Allow", protocol: "Tcp", port: "80", source: "*" },
      { name: "AllowHttpsInbound", priority: 110, direction: "Inbound", access: "Allow", protocol: "Tcp", port: "443", source: "*" },
      { name: "DenyAllInbound", priority: 4096, direction: "Inbound", access: "Deny", protocol: "*", port: "*", source: "*" },
    ]);
    expect(resources(shared, "azurerm_network_security_rule")).toEqual([]);
    expect(resources(shared, "azurerm_subnet_network_security_group_association")).toHaveLength(1);
  });

  test("network: configured address space and bot subnet without implicit outbound access", () => {
    expect(resources(shared, "azurerm_virtual_network")[0].address_space).toEqual(["10.0.0.0/16"]);
    expect(resources(shared, "azurerm_subnet")[0]).toMatchObject({ address_prefixes: ["10.0.1.0/24"], default_outbound_access_enabled: false });
    const custom = synthFleet(fleetFrom("name: demo\nazure:\n  addressSpace: 10.20.0.0/16\n  botSubnet: 10.20.8.0/22\nbots:\n  - name: bot-a\n")).stacks["azure-shared-eastus2"];
    expect(resources(custom, "azurerm_subnet")[0].address_prefixes).toEqual(["10.20.8.0/22"]);
  });

  test("Key Vault uses RBAC, soft delete and purge protection", () => {
    expect(resources(shared, "azurerm_key_vault")[0]).toMatchObject({
      name: "kv-demo-9541b8",
      rbac_authorization_enabled: true,
      purge_protection_enabled: true,
      soft_delete_retention_days: 90,
      sku_name: "standard",
    });
  });

  test("holds no bot identity, no storage and no role of any bot: only the deployer writes secrets", () => {
    expect(resources(shared, "azurerm_user_assigned_identity")).toEqual([]);
    expect(resources(shared, "azurerm_storage_account")).toEqual([]);
    const roles = resources(shared, "azurerm_role_assignment").map((r) => [r.role_definition_name, r.scope, r.principal_id]);
    expect(roles).toEqual([["Key Vault Secrets Officer", "${azurerm_key_vault.key-vault.id}", "${data.azurerm_client_config.client.object_id}"]]);
  });

  // A bot stack deployed right after this one writes Key Vault secrets at once; the provider's
  // first read of a secret treats 403 as fatal (azurerm v4.55.0
  // internal/services/keyvault/key_vault_secret_resource.go, Create), and role assignments take
  // minutes to take effect. The shared stack waits once, after every role it grants.
  test("waits for its role assignments to take effect before it is done, so the first bot deploy is not refused", () => {
    const [sleep] = resources(shared, "time_sleep");
    expect(sleep.create_duration).toBe("5m");
    const roleAddresses = Object.keys(shared.resource.azurerm_role_assignment).map((id) => `azurerm_role_assignment.${id}`);
    expect(roleAddresses).toEqual(["azurerm_role_assignment.deployer-writes-secrets"]);
    expect([...sleep.depends_on].sort()).toEqual(roleAddresses.sort());
    expect(shared.terraform.required_providers.time).toMatchObject({ source: "hashicorp/time" });
  });

  test("every taggable resource carries the fleet tags", () => {
    for (const [type, byId] of Object.entries(shared.resource as Record<string, Record<string, { tags?: unknown }>>)) {
      if (["azurerm_subnet", "azurerm_subnet_network_security_group_association", "azurerm_role_assignment", "azurerm_storage_share", "time_sleep"].includes(type)) continue;
      for (const r of Object.values(byId)) expect([type, r.tags]).toEqual([type, { "managed-by": "botfleet", fleet: "demo" }]);
    }
  });

  test("the local backend path is relative, so synthesized output is the same on every machine", () => {
    expect(shared.terraform.backend).toEqual({ local: { path: "../../../terraform.azure-shared-eastus2.tfstate" } });
  });

  test("with an HCP Terraform organization every stack gets its own named workspace", () => {
    const { stacks: cloud } = synthFleet(exampleFleet({ TFC_ORGANIZATION: "acme" }));
    // hcp-terraform too, in the workspace it creates for itself (its bootstrap apply aside: hcp-terraform.test.ts).
    for (const [name, stack] of Object.entries(cloud))
      expect(stack.terraform.cloud).toEqual({ hostname: "app.terraform.io", organization: "acme", workspaces: { name: `demo-${name}`, project: "botfleet-demo" } });
    expect(Object.keys(cloud)).toContain("hcp-terraform");
  });

  test("one shared stack per Azure region in use", () => {
    const two = synthFleet(fleetFrom("name: demo\nbots:\n  - name: bot-a\n  - name: bot-b\n    region: westeurope\n  - name: bot-c\n    region: westeurope\n"));
    expect(Object.keys(two.stacks).sort()).toEqual(["azure-shared-eastus2", "azure-shared-westeurope", "bot-a", "bot-b", "bot-c"]);
  });

  // azurerm v4.55.0 internal/resourceproviders/required.go: the default ("legacy") list the
  // provider registers lacks Microsoft.App, so a first Container Apps environment on a fresh
  // subscription fails with MissingSubscriptionRegistration unless the provider is told to.
  test("registers Microsoft.App for the subscription where the region has Container Apps bots, and only there", () => {
    const providerOf = (stack: (typeof stacks)[string]) => (stack.provider as { azurerm: Record<string, unknown>[] }).azurerm[0];
    expect(providerOf(shared).resource_providers_to_register).toEqual(["Microsoft.App"]);
    const vmOnly = synthFleet(fleetFrom("name: demo\nbots:\n  - name: bot-a\n  - name: bot-b\n    region: westeurope\n    target: azure-container-apps\n"));
    expect(providerOf(vmOnly.stacks["azure-shared-eastus2"]).resource_providers_to_register).toBeUndefined();
    expect(providerOf(vmOnly.stacks["azure-shared-westeurope"]).resource_providers_to_register).toEqual(["Microsoft.App"]);
    // Bot stacks never register: their HCP Terraform apply identity has no right to.
    for (const name of ["bot-a", "bot-b"]) expect(providerOf(vmOnly.stacks[name]).resource_providers_to_register).toBeUndefined();
  });
});
