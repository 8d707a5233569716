import { botOutputs } from "../../constructs/bot-outputs";
import { DataAzurermClientConfig } from "@cdktf/provider-azurerm/lib/data-azurerm-client-config";
import { DataAzurermSubnet } from "@cdktf/provider-azurerm/lib/data-azurerm-subnet";
import { MonitorDataCollectionRuleAssociation } from "@cdktf/provider-azurerm/lib/monitor-data-collection-rule-association";
import { KeyVaultSecret } from "@cdktf/provider-azurerm/lib/key-vault-secret";
import { Password } from "@cdktf/provider-random/lib/password";
import type { Construct } from "constructs";
import type { BotOf, Fleet } from "../../config/load";
import { renderVmBootstrap } from "../../bootstrap/azure-vm";
import type { AgentRuntime } from "../../runtimes/runtime";
import { AzureBotStack } from "../../constructs/azure-bot-stack";
import { VM_SIZES } from ".";
import { ADMIN_USERNAME, BotScaleSet } from "./bot-scale-set";
import { DesiredReleaseBlob } from "./desired-release-blob";
import { VmBotAlerts } from "./bot-alerts";
import { DataAzurermMonitorActionGroup } from "@cdktf/provider-azurerm/lib/data-azurerm-monitor-action-group";

/**
 * One bot on an Azure VM scale set of exactly one instance (stack named as the bot):
 * Flexible orchestration with a Standard per-instance public IP, automatic repair by Reimage (the
 * instance and so its public IP survive), the Application Health extension probing Caddy's
 * plain-HTTP /health, and cloud-init that installs Docker, Sysbox and Caddy and runs the gateway
 * on 127.0.0.1. Shared resources are looked up by name, so this stack depends on no other stack.
 */
export class AzureVmssBotStack extends AzureBotStack {
  constructor(scope: Construct, fleet: Fleet, bot: BotOf<"azure-vmss">, runtime: AgentRuntime) {
    super(scope, fleet, bot, runtime);
    const { shared, names, tags, vault, identity } = this;
    // Retired: the scale set, its admin password, log association, release and alerts go.
    if (bot.retired) {
      botOutputs(this, { identity: identity.id, stateStore: this.stateStore.url, retired: true });
      return;
    }

    const subnet = new DataAzurermSubnet(this, "bot-subnet", {
      name: shared.botSubnet,
      virtualNetworkName: shared.virtualNetwork,
      resourceGroupName: shared.resourceGroup,
    });

    // Azure insists on an admin credential. A generated password, kept in Key Vault for the
    // Serial Console; SSH refuses passwords (cloud-init) and port 22 is closed (NSG) anyway.
    const adminPassword = new Password(this, "admin-password", { length: 32, special: true, minLower: 1, minUpper: 1, minNumeric: 1, minSpecial: 1 });
    new KeyVaultSecret(this, "admin-password-secret", {
      keyVaultId: vault.id,
      name: names.secret("vm-admin-password"),
      value: adminPassword.result,
      contentType: `password of ${ADMIN_USERNAME} for the Serial Console`,
      tags,
    });

    const bootstrap = renderVmBootstrap(fleet, bot, runtime);

    const client = new DataAzurermClientConfig(this, "client", {});
    const scaleSet = new BotScaleSet(this, "scale-set", {
      name: names.scaleSet,
      location: bot.region,
      resourceGroupName: this.resourceGroup.name,
      skuName: VM_SIZES[bot.tier],
      customData: bootstrap.customData,
      adminPassword: adminPassword.result,
      computerNamePrefix: names.computerNamePrefix,
      identityId: identity.id,
      identityResourceId: `/subscriptions/${client.subscriptionId}/resourceGroups/${names.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${names.identity}`,
      subnetId: subnet.id,
      tags,
    });
    // Its syslog to the region's workspace: the rule is the shared stack's (RegionLogs), named by
    // its ID as Azure forms it.
    new MonitorDataCollectionRuleAssociation(this, "syslog-rule", {
      // Named: the default, configurationAccessEndpoint, is the name of an endpoint association
      // (azurerm v4.55.0 monitor_data_collection_rule_association_resource.go:41-48).
      name: "botfleet-syslog",
      targetResourceId: scaleSet.id,
      dataCollectionRuleId: `/subscriptions/${client.subscriptionId}/resourceGroups/${shared.resourceGroup}/providers/Microsoft.Insights/dataCollectionRules/${shared.vmSyslogRule}`,
      description: "The bot's syslog to the region's Log Analytics workspace",
    });
    new DesiredReleaseBlob(this, "desired-release", {
      storageAccountName: this.storage.name,
      containerName: this.stateStore.container.name,
      release: bootstrap.release.bundle,
    });
    const alerts = fleet.azure.alerts;
    if (alerts)
      new VmBotAlerts(this, "alerts", {
        botName: bot.name,
        botResourceGroup: names.resourceGroup,
        scaleSetId: scaleSet.id,
        region: bot.region,
        resourceGroupName: this.resourceGroup.name,
        // By its ID, as the Container Apps stack names it (the data source would keep the
        // workspace's shared keys in this bot's state).
        logAnalyticsWorkspaceId: `/subscriptions/${client.subscriptionId}/resourceGroups/${shared.resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/${shared.logAnalytics}`,
        actionGroupId: new DataAzurermMonitorActionGroup(this, "action-group", { resourceGroupName: shared.resourceGroup, name: shared.actionGroup }).id,
        thresholds: alerts,
        signals: runtime.logSignals,
        tags,
      });

    botOutputs(this, { url: bot.domain && `https://${bot.domain}`, identity: identity.id, stateStore: this.stateStore.url });
  }
}
