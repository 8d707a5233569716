import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { DataAzurermClientConfig } from "@cdktf/provider-azurerm/lib/data-azurerm-client-config";
import { KeyVault } from "@cdktf/provider-azurerm/lib/key-vault";
import { NetworkSecurityGroup } from "@cdktf/provider-azurerm/lib/network-security-group";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { StorageAccount } from "@cdktf/provider-azurerm/lib/storage-account";
import { StorageShare } from "@cdktf/provider-azurerm/lib/storage-share";
import { Subnet } from "@cdktf/provider-azurerm/lib/subnet";
import { SubnetNetworkSecurityGroupAssociation } from "@cdktf/provider-azurerm/lib/subnet-network-security-group-association";
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import { VirtualNetwork } from "@cdktf/provider-azurerm/lib/virtual-network";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import type { Fleet } from "../config/load";
import { azureSharedNames } from "../config/names";
import { FleetStack, fleetTags, sharedStackName } from "./fleet-stack";

/** The only inbound traffic the bot subnet admits; everything else meets DenyAllInbound. */
export const BOT_SUBNET_INBOUND_PORTS = ["80", "443"] as const;

/**
 * Azure infrastructure shared by every bot of the fleet in one region (`azure-shared-<region>`):
 * network with an inbound 80/443-only NSG, Key Vault (RBAC, purge protection), the bots'
 * user-assigned identity with least-privilege roles, and Azure Files for state that outlives
 * instances; with Container Apps bots in the region also their environments, registry and logs.
 * Bot stacks find all of it by name; nothing here references a bot.
 */
export class AzureSharedStack extends FleetStack {
  constructor(scope: Construct, fleet: Fleet, region: string) {
    super(scope, sharedStackName("azure", region), fleet);
    const names = azureSharedNames(fleet.name, region, fleet.azure.uniqueSuffix);
    const tags = fleetTags(fleet.name);

    new AzurermProvider(this, "azurerm", {
      features: [{ keyVault: [{ purgeSoftDeleteOnDestroy: false, recoverSoftDeletedKeyVaults: true }] }],
    });
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

    const identity = new UserAssignedIdentity(this, "bot-identity", {
      name: names.identity,
      location: region,
      resourceGroupName: rg.name,
      tags,
    });

    const storage = new StorageAccount(this, "state-storage", {
      name: names.storageAccount,
      location: region,
      resourceGroupName: rg.name,
      accountKind: "StorageV2",
      accountTier: "Standard",
      accountReplicationType: "LRS",
      httpsTrafficOnlyEnabled: true,
      minTlsVersion: "TLS1_2",
      allowNestedItemsToBePublic: false,
      crossTenantReplicationEnabled: false,
      // The kernel CIFS client mounts with the account key; see README "Bot state".
      sharedAccessKeyEnabled: true,
      tags,
    });
    new StorageShare(this, "state-share", {
      name: names.stateShare,
      storageAccountId: storage.id,
      quota: fleet.azure.stateShareQuotaGb,
      accessTier: "Hot",
      enabledProtocol: "SMB",
    });

    // Least privilege: the bots read secrets and list the storage key (for the CIFS mount);
    // the deploying principal writes secrets (gateway tokens, placeholders) and nothing more here.
    new RoleAssignment(this, "bots-read-secrets", {
      scope: vault.id,
      roleDefinitionName: "Key Vault Secrets User",
      principalId: identity.principalId,
      principalType: "ServicePrincipal",
    });
    new RoleAssignment(this, "bots-list-storage-keys", {
      scope: storage.id,
      roleDefinitionName: "Storage Account Key Operator Service Role",
      principalId: identity.principalId,
      principalType: "ServicePrincipal",
    });
    new RoleAssignment(this, "deployer-writes-secrets", {
      scope: vault.id,
      roleDefinitionName: "Key Vault Secrets Officer",
      principalId: client.objectId,
    });

    const containerApps = fleet.bots.filter((b) => b.region === region && b.target === "azure-container-apps");
    // Required here only: its resource classes are 0.8 MB of JavaScript a VM fleet never needs.
    if (containerApps.length > 0)
      new (require("./container-apps-environment") as typeof import("./container-apps-environment")).ContainerAppsEnvironment(this, "container-apps", {
        fleet,
        region,
        names,
        resourceGroupName: rg.name,
        virtualNetworkName: vnet.name,
        pullerPrincipalId: identity.principalId,
        internal: containerApps.some((b) => b.internalOnly),
        tags,
      });

    new TerraformOutput(this, "key_vault_name", { value: vault.name });
    new TerraformOutput(this, "storage_account_name", { value: storage.name });
    new TerraformOutput(this, "bot_identity_client_id", { value: identity.clientId });
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
