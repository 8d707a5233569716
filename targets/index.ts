import { azureContainerApps } from "./azure-container-apps";
import { azureVmss } from "./azure-vmss";
import { gcpCloudRun } from "./gcp-cloud-run";

/**
 * Every target botfleet deploys to, one line each; the first is the default. Adding one is a
 * folder under targets/ and a line here. Everything else about targets is derived in
 * targets/registry.ts.
 */
export const TARGET_LIST = [azureVmss, azureContainerApps, gcpCloudRun] as const;
