import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { DataAzurermClientConfig } from "@cdktf/provider-azurerm/lib/data-azurerm-client-config";
import { KeyVault } from "@cdktf/provider-azurerm/lib/key-vault";
import { MonitorActionGroup } from "@cdktf/provider-azurerm/lib/monitor-action-group";
import { NetworkSecurityGroup } from "@cdktf/provider-azurerm/lib/network-security-group";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { Subnet } from "@cdktf/provider-azurerm/lib/subnet";
import { SubnetNetworkSecurityGroupAssociation } from "@cdktf/provider-azurerm/lib/subnet-network-security-group-association";
import { VirtualNetwork } from "@cdktf/provider-azurerm/lib/virtual-network";
import { TimeProvider } from "@cdktf/provider-time/lib/provider";
import { Sleep } from "@cdktf/provider-time/lib/sleep";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import type { Fleet } from "../config/load";
import { azureSharedNames } from "../config/names";
import { sharedStackName } from "../contracts";
import { targetOf } from "../targets/registry";
import { FleetStack, fleetTags } from "./fleet-stack";
import { ROLE_PROPAGATION_WAIT } from "./role-grant";
import { HcpTerraformAzureGrants } from "./hcp-terraform-azure-grants";
import { RegionLogs } from "./region-logs";
import { azureIdentityGroups } from "../config/terraform-cloud";

/** The only inbound traffic the bot subnet admits; everything else meets DenyAllInbound. */
export const BOT_SUBNET_INBOUND_PORTS = ["80", "443"] as const;

/**
 * Azure infrastructure shared by every bot of the fleet in one region (`azure-shared-<region>`):
 * network with an inbound 80/443-only NSG, and Key Vault (RBAC, purge protection) that holds
 * every bot's secrets, each readable only by its own bot; with Container Apps bots in the region
 * also their environments, registry and logs. Identities, storage and role assignments of a bot
 * live in the bot's own stack. Bot stacks find all of this by name; nothing here references a bot.
 */
export class AzureSharedStack extends FleetStack {
  constructor(scope: Construct, fleet: Fleet, region: string) {
    super(scope, sharedStackName("azure", region), fleet);
    const names = azureSharedNames(fleet.name, region, fleet.azure.uniqueSuffix);
    const tags = fleetTags(fleet.name);

    const containerApps = fleet.bots.filter((b) => b.region === region && targetOf(b.target).sharedNeeds?.includes("container-apps-environment"));
    new AzurermProvider(this, "azurerm", {
      features: [{ keyVault: [{ purgeSoftDeleteOnDestroy: false, recoverSoftDeletedKeyVaults: true }] }],
      // The provider registers its "legacy" list of namespaces by default, which lacks
      // Microsoft.App (azurerm v4.55.0 internal/resourceproviders/required.go, Legacy();
      // internal/provider/provider.go reads resource_providers_to_register in buildClient):
      // on a subscription that never used Container Apps, the environment would fail with
      // MissingSubscriptionRegistration. Registered here, by the owner who applies this stack;
      // bot stacks then find it registered and need no right to register anything.
      ...(containerApps.length > 0 && { resourceProvidersToRegister: ["Microsoft.App"] }),
    });
    new TimeProvider(this, "time", {});
    const client = new DataAzurermClientConfig(this, "client", {});

    const rg = new ResourceGroup(this, "resource-group", { name: names.resourceGroup, location: region, tags });

    const vnet = new VirtualNetwork(this, "vnet", {
      name: names.virtualNetwork,
      location: region,
      resourceGroupName: rg.name,
      addressSpace: [fleet.azure.addressSpace],
      tags,
    });
    const subnet = new Subnet(this, "bot-subnet", {
      name: names.botSubnet,
      resourceGroupName: rg.name,
      virtualNetworkName: vnet.name,
      addressPrefixes: [fleet.azure.botSubnet],
      // Bots reach the internet through their own public IP, never through implicit SNAT.
      defaultOutboundAccessEnabled: false,
    });

    const nsg = new NetworkSecurityGroup(this, "bot-nsg", {
      name: names.networkSecurityGroup,
      location: region,
      resourceGroupName: rg.name,
      securityRule: [
        inboundRule("AllowHttpInbound", 100, "Allow", "80", "HTTP for Caddy (ACME challenge, redirect, /health)"),
        inboundRule("AllowHttpsInbound", 110, "Allow", "443", "HTTPS for Caddy"),
        // Azure's default rules would still admit VNet and load-balancer traffic on every port.
        inboundRule("DenyAllInbound", 4096, "Deny", "*", "Nothing else reaches a bot, from anywhere", "*"),
      ],
      tags,
    });
    new SubnetNetworkSecurityGroupAssociation(this, "bot-subnet-nsg", {
      subnetId: subnet.id,
      networkSecurityGroupId: nsg.id,
    });

    const vault = new KeyVault(this, "key-vault", {
      name: names.keyVault,
      location: region,
      resourceGroupName: rg.name,
      tenantId: client.tenantId,
      skuName: "standard",
      rbacAuthorizationEnabled: true,
      purgeProtectionEnabled: true,
      softDeleteRetentionDays: 90,
      tags,
    });

    // Each bot has its own identity, storage and role assignments, in its own stack
    // (docs/secrets-and-operations.md#one-bot-one-key-ring). The deploying principal writes the
    // bots' secrets (first values, placeholders) and nothing more here.
    new RoleAssignment(this, "deployer-writes-secrets", {
      scope: vault.id,
      roleDefinitionName: "Key Vault Secrets Officer",
      principalId: client.objectId,
    });

    if (fleet.terraformCloud) {
      const groupOf = azureIdentityGroups(fleet.bots);
      const groups = [...new Set(fleet.bots.filter((b) => b.region === region && groupOf.has(b.name)).map((b) => groupOf.get(b.name)!))].sort((a, b) => a - b);
      new HcpTerraformAzureGrants(this, "hcp-terraform", { fleet: fleet.name, resourceGroupId: rg.id, keyVaultId: vault.id, groups });
    }

    const logs = new RegionLogs(this, "logs", {
      fleet,
      region,
      names,
      resourceGroupName: rg.name,
      vmBots: fleet.bots.some((b) => b.region === region && targetOf(b.target).sharedNeeds?.includes("vm-syslog-rule")),
      tags,
    });

    // Where every Azure bot's alerts go. At the Terraform address it had under Container Apps
    // (container-apps/alerts), so no deployed fleet's group is replaced.
    const alerts = fleet.azure.alerts;
    if (alerts)
      new MonitorActionGroup(this, "alerts", {
        name: names.actionGroup,
        resourceGroupName: rg.name,
        shortName: "botfleet",
        emailReceiver: [{ name: "operator", emailAddress: alerts.email, useCommonAlertSchema: true }],
        tags,
      }).overrideLogicalId("container-apps_alerts_F523E9EB");

    // Required here only: its resource classes are 0.8 MB of JavaScript a VM fleet never needs.
    if (containerApps.length > 0)
      new (require("./container-apps-environment") as typeof import("./container-apps-environment")).ContainerAppsEnvironment(this, "container-apps", {
        fleet,
        region,
        names,
        resourceGroupName: rg.name,
        virtualNetworkName: vnet.name,
        internal: containerApps.some((b) => b.internalOnly === true),
        logAnalyticsWorkspaceId: logs.workspace.id,
        tags,
      });

    // Role assignments take effect after minutes, not at once ("Troubleshoot Azure RBAC", Microsoft
    // Learn). A bot stack deployed right after this one writes its secrets at once, and the
    // provider treats the 403 of its first read as fatal (azurerm v4.55.0
    // internal/services/keyvault/key_vault_secret_resource.go, Create: "checking for presence of
    // existing Secret"). Waiting here, once, at creation, lets the bot stacks find the roles working.
    const roleAssignments = this.node.findAll().filter((c): c is RoleAssignment => c instanceof RoleAssignment);
    new Sleep(this, "role-propagation", { createDuration: ROLE_PROPAGATION_WAIT, dependsOn: roleAssignments });

    new TerraformOutput(this, "key-vault-name", { value: vault.name });
  }
}

function inboundRule(name: string, priority: number, access: "Allow" | "Deny", port: string, description: string, protocol = "Tcp") {
  return {
    name,
    priority,
    direction: "Inbound",
    access,
    protocol,
    sourcePortRange: "*",
    destinationPortRange: port,
    sourceAddressPrefix: "*",
    destinationAddressPrefix: "*",
    description,
  };
}
