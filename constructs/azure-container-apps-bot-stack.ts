import { ContainerApp } from "@cdktf/provider-azurerm/lib/container-app";
import { ContainerAppEnvironmentStorage } from "@cdktf/provider-azurerm/lib/container-app-environment-storage";
import { DataAzurermContainerAppEnvironment } from "@cdktf/provider-azurerm/lib/data-azurerm-container-app-environment";
import { DataAzurermLogAnalyticsWorkspace } from "@cdktf/provider-azurerm/lib/data-azurerm-log-analytics-workspace";
import { DataAzurermMonitorActionGroup } from "@cdktf/provider-azurerm/lib/data-azurerm-monitor-action-group";
import { DataAzurermStorageAccount } from "@cdktf/provider-azurerm/lib/data-azurerm-storage-account";
import { StorageShare } from "@cdktf/provider-azurerm/lib/storage-share";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { containerLaunch, terraformLiteral } from "../bootstrap/container";
import { MANAGED_FRONT_END_PROXIES } from "../bootstrap/front-ends";
import type { Bot, Fleet } from "../config/load";
import type { Tier } from "../config/schema";
import type { AgentRuntime } from "../runtimes/runtime";
import { ContainerAppAlerts } from "./container-app-alerts";
import { CONSUMPTION_PROFILE } from "./container-apps-environment";
import { AzureBotStack } from "./azure-bot-stack";

/** vCPU and memory per tier, in the combinations the Consumption profile allows. */
export const CONTAINER_APP_SIZES: Record<Tier, { cpu: number; memory: string }> = {
  light: { cpu: 0.5, memory: "1Gi" },
  standard: { cpu: 1, memory: "2Gi" },
  performance: { cpu: 2, memory: "4Gi" },
};

/**
 * One bot on Azure Container Apps (stack named as the bot): a single-revision app with exactly one
 * replica, pulled and run with the region's managed identity, secrets as Key Vault references,
 * state on the bot's own Azure Files share, probes on the runtime's health path, ingress that is
 * closed to the internet unless the bot admits IP ranges or opts into public access, and alerts
 * when the fleet names an e-mail. Shared resources are looked up by name.
 */
export class AzureContainerAppsBotStack extends AzureBotStack {
  constructor(scope: Construct, fleet: Fleet, bot: Bot, runtime: AgentRuntime) {
    super(scope, fleet, bot, runtime);
    const { shared, names, tags, identity, secrets } = this;
    const lookup = { resourceGroupName: shared.resourceGroup };

    const storage = new DataAzurermStorageAccount(this, "state-storage", { ...lookup, name: shared.storageAccount });
    const environment = new DataAzurermContainerAppEnvironment(this, "environment", {
      ...lookup,
      name: bot.internalOnly ? shared.internalContainerAppsEnvironment : shared.containerAppsEnvironment,
    });

    // The bot's own share: no other bot can see or lock its files.
    const share = new StorageShare(this, "state-share", {
      name: names.containerAppStateShare,
      storageAccountId: storage.id,
      quota: fleet.azure.stateShareQuotaGb,
      accessTier: "Hot",
      enabledProtocol: "SMB",
    });
    const environmentStorage = new ContainerAppEnvironmentStorage(this, "state-storage-link", {
      name: names.environmentStorage,
      containerAppEnvironmentId: environment.id,
      accountName: storage.name,
      shareName: share.name,
      // The account key never appears in the synthesized output; Terraform reads it at apply time.
      accessKey: storage.primaryAccessKey,
      accessMode: "ReadWrite",
    });

    const launch = containerLaunch(
      bot,
      runtime,
      { trustedProxies: MANAGED_FRONT_END_PROXIES },
      `Set each with: az keyvault secret set --vault-name ${shared.keyVault} --name ${names.secret("<key>")} --file <file>, then: az containerapp revision restart (README: Container Apps).`,
    );
    const size = CONTAINER_APP_SIZES[bot.tier];
    const health = { transport: "HTTP", port: runtime.port, path: runtime.healthPath };
    const ipRules = [
      ...bot.allowedIpRanges.map((range, i) => ({ name: `allow-${i + 1}`, action: "Allow", ipAddressRange: range, description: "from the fleet file" })),
      ...bot.deniedIpRanges.map((range, i) => ({ name: `deny-${i + 1}`, action: "Deny", ipAddressRange: range, description: "from the fleet file" })),
    ];

    const app = new ContainerApp(this, "app", {
      name: names.containerApp,
      resourceGroupName: this.resourceGroup.name,
      containerAppEnvironmentId: environment.id,
      workloadProfileName: CONSUMPTION_PROFILE,
      // One active revision: a deploy replaces the bot rather than running two side by side.
      revisionMode: "Single",
      identity: { type: "UserAssigned", identityIds: [identity.id] },
      registry: [{ server: `${shared.containerRegistry}.azurecr.io`, identity: identity.id }],
      // Key Vault references, versionless: a rotated value reaches the app on its next restart.
      secret: launch.secrets.map((s) => ({ name: s.key, keyVaultSecretId: secrets.secrets[s.key].versionlessId, identity: identity.id })),
      ingress: {
        targetPort: runtime.port,
        transport: "auto",
        allowInsecureConnections: false,
        // Public only when the bot admits ranges or opts in; internal-only bots are reachable
        // from the VNet through the internal environment's load balancer. Otherwise the app is
        // reachable from inside its environment only: polling channels need no inbound traffic.
        externalEnabled: bot.publicAccess || bot.allowedIpRanges.length > 0 || bot.deniedIpRanges.length > 0 || bot.internalOnly,
        ipSecurityRestriction: ipRules.length > 0 ? ipRules : undefined,
        trafficWeight: [{ latestRevision: true, percentage: 100 }],
      },
      template: {
        minReplicas: 1,
        maxReplicas: 1,
        terminationGracePeriodSeconds: 30,
        container: [
          {
            name: "agent",
            image: bot.image ?? runtime.image,
            cpu: size.cpu,
            memory: size.memory,
            command: launch.command.map(terraformLiteral),
            args: launch.args.map(terraformLiteral),
            env: [
              ...Object.entries(launch.environment).map(([name, value]) => ({ name, value: terraformLiteral(value) })),
              ...launch.secrets.map((s) => ({ name: s.env, secretName: s.key })),
            ],
            volumeMounts: [{ name: "state", path: runtime.stateDir }],
            startupProbe: [{ ...health, initialDelay: 5, intervalSeconds: 10, timeout: 5, failureCountThreshold: 30 }],
            livenessProbe: [{ ...health, initialDelay: 5, intervalSeconds: 30, timeout: 5, failureCountThreshold: 3 }],
            readinessProbe: [{ ...health, intervalSeconds: 10, timeout: 5, failureCountThreshold: 3, successCountThreshold: 1 }],
          },
        ],
        volume: [
          {
            name: "state",
            storageType: "AzureFile",
            storageName: environmentStorage.name,
            // Owned by the runtime's user; nobrl lets SQLite-style locking work over SMB.
            mountOptions: `uid=${runtime.uid},gid=${runtime.gid},dir_mode=0700,file_mode=0600,nobrl,mfsymlinks`,
          },
        ],
      },
      tags,
    });

    const alerts = fleet.azure.alerts;
    if (alerts) {
      const logs = new DataAzurermLogAnalyticsWorkspace(this, "logs", { ...lookup, name: shared.logAnalytics });
      const actionGroup = new DataAzurermMonitorActionGroup(this, "action-group", { ...lookup, name: shared.actionGroup });
      new ContainerAppAlerts(this, "alerts", {
        appName: names.containerApp,
        appId: app.id,
        region: bot.region,
        resourceGroupName: this.resourceGroup.name,
        logAnalyticsWorkspaceId: logs.id,
        actionGroupId: actionGroup.id,
        thresholds: alerts,
        signals: runtime.logSignals,
        tags,
      });
    }

    new TerraformOutput(this, "app-fqdn", { value: app.latestRevisionFqdn });
  }
}
