import { ContainerApp } from "@cdktf/provider-azurerm/lib/container-app";
import { DataAzurermContainerAppEnvironment } from "@cdktf/provider-azurerm/lib/data-azurerm-container-app-environment";
import { DataAzurermLogAnalyticsWorkspace } from "@cdktf/provider-azurerm/lib/data-azurerm-log-analytics-workspace";
import { DataAzurermMonitorActionGroup } from "@cdktf/provider-azurerm/lib/data-azurerm-monitor-action-group";
import { DataAzurermClientConfig } from "@cdktf/provider-azurerm/lib/data-azurerm-client-config";
import { DataAzurermContainerRegistry } from "@cdktf/provider-azurerm/lib/data-azurerm-container-registry";
import { Sleep } from "@cdktf/provider-time/lib/sleep";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import { containerLaunch, terraformLiteral } from "../../bootstrap/container";
import { STATE_SYNC_IMAGE, STATE_SYNC_MOUNT, stateReadyPath, stateSyncContainer } from "../../bootstrap/state-sync";
import { MANAGED_FRONT_END_PROXIES } from "../../bootstrap/front-ends";
import type { BotOf, Fleet } from "../../config/load";
import { CONTAINER_APP_SIZES } from ".";
import type { AgentRuntime } from "../../runtimes/runtime";
import { ContainerAppAlerts } from "../../constructs/container-app-alerts";
import { CONSUMPTION_PROFILE } from "../../constructs/container-apps-environment";
import { AzureBotStack } from "../../constructs/azure-bot-stack";
import { ROLE_PROPAGATION_WAIT, RoleGrant } from "../../constructs/role-grant";

/** Environment variable holding the app's https address, which the agent config refers to. */
export const PUBLIC_ORIGIN_ENV = "BOTFLEET_PUBLIC_ORIGIN";

/** The state-sync sidecar's share of the app. */
export const CONTAINER_APP_STATE_SYNC_SIZE = { cpu: 0.25, memory: "0.5Gi" };

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
    const rolePropagation = new Sleep(this, "role-propagation", {
      createDuration: ROLE_PROPAGATION_WAIT,
      dependsOn: [...this.secretGrants, pullGrant, this.stateStore.grant],
    });
    const sync = stateSyncContainer(runtime, { store: this.stateStore.store });

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
    );
    const size = CONTAINER_APP_SIZES[bot.tier];
    const health = { transport: "HTTP", port: runtime.port, path: runtime.healthPath };
    const ipRules = [
      ...bot.allowedIpRanges.map((range, i) => ({ name: `allow-${i + 1}`, action: "Allow", ipAddressRange: range, description: "from the fleet file" })),
      ...bot.deniedIpRanges.map((range, i) => ({ name: `deny-${i + 1}`, action: "Deny", ipAddressRange: range, description: "from the fleet file" })),
    ];

    const app = new ContainerApp(this, "app", {
      // Created after its secrets, which it references by their address (see `secret` below), and
      // after its identity's grants have taken effect.
      dependsOn: [...Object.values(secrets.secrets), rolePropagation],
      name: names.containerApp,
      resourceGroupName: this.resourceGroup.name,
      containerAppEnvironmentId: environment.id,
      workloadProfileName: CONSUMPTION_PROFILE,
      // One active revision: a deploy replaces the bot rather than running two side by side.
      revisionMode: "Single",
      identity: { type: "UserAssigned", identityIds: [identity.id] },
      registry: [{ server: `${shared.containerRegistry}.azurecr.io`, identity: identityId }],
      // Key Vault references, versionless: a rotated value reaches the app on its next restart.
      // The ID is built from the vault's URI (a data source, known at plan) rather than taken from
      // the secret resource: the provider's CustomizeDiff reads an unknown string in this set as ""
      // and refuses "must supply key vault secret id when specifying identity"
      // (azurerm v4.55.0 internal/services/containerapps/container_app_resource.go, CustomizeDiff).
      // The identity likewise: this stack creates it, so its `id` attribute is unknown at plan.
      secret: launch.secrets.map((s) => ({ name: s.key, keyVaultSecretId: `${vault.vaultUri}secrets/${names.secret(s.key)}`, identity: identityId })),
      ingress: {
        targetPort: runtime.port,
        transport: "auto",
        allowInsecureConnections: false,
        // Public only when the bot admits ranges or opts in; internal-only bots are reachable
        // from the VNet through the internal environment's load balancer. Otherwise the app is
        // reachable from inside its environment only: polling channels need no inbound traffic.
        externalEnabled: external,
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
              { name: PUBLIC_ORIGIN_ENV, value: publicOrigin },
              { name: "BOTFLEET_STATE_READY", value: stateReadyPath(runtime) },
              ...launch.secrets.map((s) => ({ name: s.env, secretName: s.key })),
            ],
            volumeMounts: [{ name: "state", path: runtime.stateDir }],
            startupProbe: [{ ...health, initialDelay: 5, intervalSeconds: 10, timeout: 5, failureCountThreshold: 30 }],
            livenessProbe: [{ ...health, initialDelay: 5, intervalSeconds: 30, timeout: 5, failureCountThreshold: 3 }],
            readinessProbe: [{ ...health, intervalSeconds: 10, timeout: 5, failureCountThreshold: 3, successCountThreshold: 1 }],
          },
          {
            name: "state-sync",
            image: STATE_SYNC_IMAGE,
            cpu: CONTAINER_APP_STATE_SYNC_SIZE.cpu,
            memory: CONTAINER_APP_STATE_SYNC_SIZE.memory,
            command: sync.command.map(terraformLiteral),
            env: [
              ...Object.entries(sync.environment).map(([name, value]) => ({ name, value: terraformLiteral(value) })),
              // Tokens for the bot's identity from the app's identity endpoint.
              { name: "STATE_SYNC_CLIENT_ID", value: identity.clientId },
            ],
            volumeMounts: [{ name: "state", path: STATE_SYNC_MOUNT }],
          },
        ],
        // Live state on the replica itself: SQLite needs locking and one writer, which SMB does not
        // give (and two revisions overlap during a deploy).
        volume: [{ name: "state", storageType: "EmptyDir" }],
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

    // The ingress FQDN stays the same across revisions; latest_revision_fqdn changes every deploy.
    new TerraformOutput(this, "app-fqdn", { value: app.ingress.fqdn });
  }
}
