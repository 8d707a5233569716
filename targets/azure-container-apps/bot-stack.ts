import { DataAzurermContainerAppEnvironment } from "@cdktf/provider-azurerm/lib/data-azurerm-container-app-environment";
import { DataAzurermMonitorActionGroup } from "@cdktf/provider-azurerm/lib/data-azurerm-monitor-action-group";
import { DataAzurermClientConfig } from "@cdktf/provider-azurerm/lib/data-azurerm-client-config";
import { DataAzurermContainerRegistry } from "@cdktf/provider-azurerm/lib/data-azurerm-container-registry";
import { Sleep } from "@cdktf/provider-time/lib/sleep";
import { botOutputs } from "../../constructs/bot-outputs";
import type { Construct } from "constructs";
import { mebibytes } from "../../contracts";
import { containerLaunch } from "../../bootstrap/container";
import { stateSyncContainer } from "../../bootstrap/state-sync";
import { MANAGED_FRONT_END_PROXIES } from "../../bootstrap/front-ends";
import type { BotOf, Fleet } from "../../config/load";
import { CONTAINER_APP_SIZES } from ".";
import type { AgentRuntime } from "../../runtimes/runtime";
import { ContainerAppAlerts } from "../../constructs/container-app-alerts";
import { AzureBotStack } from "../../constructs/azure-bot-stack";
import { ROLE_PROPAGATION_WAIT, RoleGrant } from "../../constructs/role-grant";
import { BotContainerApp, PUBLIC_ORIGIN_ENV } from "./bot-container-app";

/**
 * One bot on Azure Container Apps (stack named as the bot): a single-revision app with exactly one
 * replica, pulled and run with the bot's own managed identity, secrets as Key Vault references,
 * live state on the replica's own EmptyDir volume with its durable copy in the bot's blob container
 * (kept by the state-sync sidecar under a blob lease), probes on the runtime's health path, ingress that is
 * closed to the internet unless the bot admits IP ranges or opts into public access, and alerts
 * when the fleet names an e-mail. Shared resources are looked up by name.
 */
export class AzureContainerAppsBotStack extends AzureBotStack {
  constructor(scope: Construct, fleet: Fleet, bot: BotOf<"azure-container-apps">, runtime: AgentRuntime) {
    super(scope, fleet, bot, runtime);
    // Retired: the container app, its registry grant and alerts go.
    if (bot.retired) {
      botOutputs(this, { identity: this.identity.id, stateStore: this.stateStore.url, retired: true });
      return;
    }
    const { shared, names, tags, identity, secrets, vault } = this;
    const restartCommand = `az containerapp revision restart -g ${this.names.resourceGroup} -n ${this.names.containerApp} --revision $(az containerapp show -g ${this.names.resourceGroup} -n ${this.names.containerApp} --query properties.latestRevisionName -o tsv)`;
    const lookup = { resourceGroupName: shared.resourceGroup };

    const registry = new DataAzurermContainerRegistry(this, "registry", { ...lookup, name: shared.containerRegistry });
    // The identity's ID as the provider's plan-time check needs it: known at plan (see `secret`).
    const client = new DataAzurermClientConfig(this, "client", {});
    const identityId = `/subscriptions/${client.subscriptionId}/resourceGroups/${names.resourceGroup}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${names.identity}`;
    const environment = new DataAzurermContainerAppEnvironment(this, "environment", {
      ...lookup,
      name: bot.internalOnly ? shared.internalContainerAppsEnvironment : shared.containerAppsEnvironment,
    });

    // The app reads its secrets, pulls its image and keeps its state with its own identity;
    // Container Apps checks the first two when it provisions a revision, so the grants must have
    // taken effect by then (role assignments take minutes, "Troubleshoot Azure RBAC"). Waited
    // once, at creation.
    const pullGrant = new RoleGrant(this, "pulls-images", {
      scope: registry.id,
      role: "AcrPull",
      principalId: identity.principalId,
      reason: `bot ${bot.name} pulls its image from the fleet's registry`,
    });
    const grants = [...this.secretGrants, pullGrant, this.stateStore.grant];
    const rolePropagation = new Sleep(this, "role-propagation", {
      createDuration: ROLE_PROPAGATION_WAIT,
      dependsOn: grants,
      // A sleep waits when it is created only; a changed depends_on does not create it again, a
      // changed trigger does (hashicorp/time 0.13.1, time_sleep "triggers"). So a grant added by a
      // later deploy (a new channel's secret) makes the app update wait again: Container Apps reads
      // every Key Vault reference in that same update (azurerm v4.55.0 container_app_resource.go,
      // Update: secrets expanded into the CreateOrUpdate request).
      triggers: Object.fromEntries(grants.map((g) => [g.node.id, g.id])),
    });

    // The app's stable address (not the revision's): `<app>.<environment domain>`, or with
    // `.internal.` when the ingress is open to the environment only (Microsoft Learn, "Ingress in
    // Azure Container Apps": an internal app's FQDN is <APP>.internal.<UNIQUE_ID>.<REGION>.azurecontainerapps.io).
    const external = bot.publicAccess || bot.allowedIpRanges.length > 0 || bot.deniedIpRanges.length > 0 || bot.internalOnly;
    const publicOrigin = `https://${names.containerApp}${external ? "" : ".internal"}.${environment.defaultDomain}`;
    const launch = containerLaunch(
      bot,
      runtime,
      // The agent resolves the variable itself: the environment's domain is known to Terraform only.
      { trustedProxies: MANAGED_FRONT_END_PROXIES, publicOrigin: `\${${PUBLIC_ORIGIN_ENV}}` },
      `Set each with: az keyvault secret set --vault-name ${shared.keyVault} --name ${names.secret("<key>")} --file <file>, then restart: ${restartCommand}`,
      mebibytes(CONTAINER_APP_SIZES[bot.tier].memory),
    );
    const sync = stateSyncContainer(runtime, { store: this.stateStore.store, release: launch.environment.BOTFLEET_RELEASE });
    const ipRules = [
      ...bot.allowedIpRanges.map((range, i) => ({ name: `allow-${i + 1}`, action: "Allow" as const, ipAddressRange: range, description: "from the fleet file" })),
      ...bot.deniedIpRanges.map((range, i) => ({ name: `deny-${i + 1}`, action: "Deny" as const, ipAddressRange: range, description: "from the fleet file" })),
    ];

    const app = new BotContainerApp(this, "app", {
      // Created after its secrets, which it references by their address, and after its
      // identity's grants have taken effect.
      dependsOn: [...Object.values(secrets.secrets), rolePropagation],
      name: names.containerApp,
      resourceGroupName: this.resourceGroup.name,
      containerAppEnvironmentId: environment.id,
      identityId: identity.id,
      planTimeIdentityId: identityId,
      identityClientId: identity.clientId,
      registryServer: `${shared.containerRegistry}.azurecr.io`,
      image: bot.image ?? runtime.image,
      runtime,
      launch,
      // Built from the vault's URI (a data source, known at plan) rather than taken from the secret
      // resource: the provider's CustomizeDiff reads an unknown string in this set as "" and refuses
      // "must supply key vault secret id when specifying identity" (azurerm v4.55.0
      // internal/services/containerapps/container_app_resource.go, CustomizeDiff). The identity
      // likewise: this stack creates it, so its `id` attribute is unknown at plan.
      keyVaultSecretIds: Object.fromEntries(launch.secrets.map((s) => [s.key, `${vault.vaultUri}secrets/${names.secret(s.key)}`])),
      stateSync: sync,
      size: CONTAINER_APP_SIZES[bot.tier],
      publicOrigin,
      // Public only when the bot admits ranges or opts in; internal-only bots are reachable
      // from the VNet through the internal environment's load balancer. Otherwise the app is
      // reachable from inside its environment only: polling channels need no inbound traffic.
      externalIngress: external,
      ipRules,
      tags,
    });

    const alerts = fleet.azure.alerts;
    if (alerts) {
      // The workspace by its ID, not through the data source, which would keep the workspace's
      // shared keys in this bot's state (azurerm v4.55.0 internal/services/loganalytics/
      // log_analytics_workspace_data_source.go:134-150 reads and sets them); the ID as that data
      // source builds it (:85, :95).
      const logAnalyticsWorkspaceId = `/subscriptions/${client.subscriptionId}/resourceGroups/${shared.resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/${shared.logAnalytics}`;
      const actionGroup = new DataAzurermMonitorActionGroup(this, "action-group", { ...lookup, name: shared.actionGroup });
      new ContainerAppAlerts(this, "alerts", {
        appName: names.containerApp,
        appId: app.id,
        region: bot.region,
        resourceGroupName: this.resourceGroup.name,
        logAnalyticsWorkspaceId,
        actionGroupId: actionGroup.id,
        thresholds: alerts,
        signals: runtime.logSignals,
        tags,
      });
    }

    // The ingress FQDN stays the same across revisions; latest_revision_fqdn changes every deploy.
    botOutputs(this, { url: `https://${app.ingress.fqdn}`, identity: identity.id, stateStore: this.stateStore.url });
  }
}
