import { ContainerAppsAPIClient, type ContainerApp } from "@azure/arm-appcontainers";
import { containerAppConsoleRows, kql } from "../../bootstrap/log-queries";
import { azureBotNames } from "../../config/names";
import { azureBotSecrets, azureBotStore } from "../../operations/azure-bot";
import { azureLogs } from "../../operations/azure-logs";
import { azureCredential } from "../../operations/azure-credential";
import { cloudError, EXIT, OperationError } from "../../operations/errors";
import type { BotRef, TargetOperations } from "../../operations/types";

/**
 * A Container Apps bot's operations: its state and secrets as a VM bot's; its app through Azure
 * Resource Manager (the Container Apps management client for JavaScript): ContainerApps_Get
 * (`latestRevisionName`, `latestReadyRevisionName`, `runningStatus`, the template's environment)
 * and ContainerAppsRevisions_RestartRevision (200), as azure-rest-api-specs
 * specification/app/resource-manager/Microsoft.App/ContainerApps/stable/2025-07-01/ContainerApps.json
 * and ContainerAppsRevisions.json define them. The subscription is ARM_SUBSCRIPTION_ID's, as for
 * Terraform; BOTFLEET_ARM_ENDPOINT sets the client's endpoint (another Azure cloud, or a stand-in).
 */
export const operations: TargetOperations = {
  store: azureBotStore,
  secrets: azureBotSecrets,
  // The latest revision restarted: its replicas start again and read every Key Vault reference.
  async restart(ref, env) {
    const subscription = env.ARM_SUBSCRIPTION_ID;
    if (!subscription) throw new OperationError("restarting a Container Apps bot needs the subscription it runs in: set ARM_SUBSCRIPTION_ID, as for a deploy", EXIT.usage);
    const { client, names, app } = await containerApp(ref, env, subscription, "restarting");
    const revision = app.latestRevisionName;
    if (!revision) throw new OperationError(`the container app ${names.containerApp} has no revision yet: is it deployed (npx cdktf deploy ${ref.bot.name})?`, EXIT.notFound);
    try {
      await client.containerAppsRevisions.restartRevision(names.resourceGroup, names.containerApp, revision);
    } catch (e) {
      throw cloudError(e, "azure", `restarting revision ${revision} of the container app ${names.containerApp}`, roleOn(names.resourceGroup));
    }
    return { said: `restarted revision ${revision} of the container app ${names.containerApp}: its replicas start again and read every Key Vault reference` };
  },
  // The app's console lines in the region's workspace, ContainerName_s the container that wrote
  // each (ContainerAppConsoleLogs_CL, Azure Container Apps docs, "Monitor logs with Log Analytics").
  logs(ref, env, query) {
    const app = azureBotNames(ref.fleet.name, ref.bot.name, ref.fleet.azure.uniqueSuffix).containerApp;
    return azureLogs(
      ref,
      env,
      {
        rows: [...containerAppConsoleRows(app), ...(query.all ? [] : [`| where ContainerName_s == ${kql("agent")}`])],
        source: "ContainerName_s",
        text: "Log_s",
        table: "ContainerAppConsoleLogs_CL",
        tableAppears: "once the environment's first container has written a line",
      },
      query,
    );
  },
  // The release of the latest revision (BOTFLEET_RELEASE in its environment) runs once that
  // revision is ready; until then the one before serves.
  async status(ref, _store, env) {
    const subscription = env.ARM_SUBSCRIPTION_ID;
    if (!subscription) return { unknown: "set ARM_SUBSCRIPTION_ID to read its revisions from Resource Manager" };
    const { app } = await containerApp(ref, env, subscription, "reading");
    const desired = app.template?.containers?.flatMap((c) => c.env ?? []).find((e) => e.name === "BOTFLEET_RELEASE")?.value;
    const ready = !!app.latestRevisionName && app.latestReadyRevisionName === app.latestRevisionName;
    const running = app.runningStatus && app.runningStatus !== "Running" ? app.runningStatus : undefined;
    return {
      desired,
      running: ready ? desired : undefined,
      phase: ready ? "running" : "updating",
      detail: ready ? `revision ${app.latestRevisionName}` : `revision ${app.latestRevisionName ?? "none"} is not ready; ${app.latestReadyRevisionName ?? "no revision"} serves`,
      ...(running && { condition: { state: "degraded", reasons: [`the app's running status is ${running}`] } }),
    };
  },
};

function roleOn(resourceGroup: string): string {
  return `"Contributor" (or "Container Apps Contributor") on the resource group ${resourceGroup}`;
}

async function containerApp(
  { fleet, bot }: BotRef,
  env: NodeJS.ProcessEnv,
  subscription: string,
  doing: string,
): Promise<{ client: ContainerAppsAPIClient; names: ReturnType<typeof azureBotNames>; app: ContainerApp }> {
  const names = azureBotNames(fleet.name, bot.name, fleet.azure.uniqueSuffix);
  const client = new ContainerAppsAPIClient(azureCredential(env), subscription, env.BOTFLEET_ARM_ENDPOINT ? { endpoint: env.BOTFLEET_ARM_ENDPOINT } : {});
  try {
    return { client, names, app: await client.containerApps.get(names.resourceGroup, names.containerApp) };
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404)
      throw new OperationError(`the container app ${names.containerApp} is not in the resource group ${names.resourceGroup} of subscription ${subscription}: is it deployed?`, EXIT.notFound);
    throw cloudError(e, "azure", `${doing} the container app ${names.containerApp}`, roleOn(names.resourceGroup));
  }
}
