import { azureBotSecrets, azureBotStore } from "../../operations/azure-bot";
import { ContainerAppsAPIClient } from "@azure/arm-appcontainers";
import { azureBotNames } from "../../config/names";
import { azureCredential } from "../../operations/azure-credential";
import { cloudError, EXIT, OperationError } from "../../operations/errors";
import type { BotRef, RestartAsked, TargetOperations } from "../../operations/types";

/** A Container Apps bot's operations: its state in its own storage account, as a VM bot's. */
export const operations: TargetOperations = {
  store: azureBotStore,
  secrets: azureBotSecrets,
  restart: restartContainerApp,
  // The running revision and its condition are the Container Apps management API's; not read yet.
  status: async () => ({ unknown: "the running revision is not read yet: see its BOTFLEET_RELEASE in the portal or Log Analytics (docs/day-2.md)" }),
};

/**
 * Restarts a Container Apps bot's latest revision through Azure Resource Manager (the Container
 * Apps management client for JavaScript): its replicas restart and read every Key Vault reference
 * again. ContainerApps_Get gives `properties.latestRevisionName`, ContainerAppsRevisions_RestartRevision
 * restarts it (200; azure-rest-api-specs specification/app/resource-manager/Microsoft.App/ContainerApps/
 * stable/2025-07-01/ContainerApps.json and ContainerAppsRevisions.json). The subscription is
 * ARM_SUBSCRIPTION_ID's, as for Terraform; BOTFLEET_ARM_ENDPOINT sets the client's endpoint
 * (another Azure cloud, or a stand-in).
 */
async function restartContainerApp({ fleet, bot }: BotRef, env: NodeJS.ProcessEnv): Promise<RestartAsked> {
  const subscription = env.ARM_SUBSCRIPTION_ID;
  if (!subscription) throw new OperationError("restarting a Container Apps bot needs the subscription it runs in: set ARM_SUBSCRIPTION_ID, as for a deploy", EXIT.usage);
  const names = azureBotNames(fleet.name, bot.name, fleet.azure.uniqueSuffix);
  const client = new ContainerAppsAPIClient(azureCredential(env), subscription, env.BOTFLEET_ARM_ENDPOINT ? { endpoint: env.BOTFLEET_ARM_ENDPOINT } : {});
  const role = `"Contributor" (or "Container Apps Contributor") on the resource group ${names.resourceGroup}`;
  try {
    const app = await client.containerApps.get(names.resourceGroup, names.containerApp);
    const revision = app.latestRevisionName;
    if (!revision) throw new OperationError(`the container app ${names.containerApp} has no revision yet: is it deployed (npx cdktf deploy ${bot.name})?`, EXIT.notFound);
    await client.containerAppsRevisions.restartRevision(names.resourceGroup, names.containerApp, revision);
    return { said: `restarted revision ${revision} of the container app ${names.containerApp}: its replicas start again and read every Key Vault reference` };
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404)
      throw new OperationError(`the container app ${names.containerApp} is not in the resource group ${names.resourceGroup} of subscription ${subscription}: is it deployed?`, EXIT.notFound);
    throw cloudError(e, "azure", `restarting the container app ${names.containerApp}`, role);
  }
}
