import { ContainerAppEnvironment } from "@cdktf/provider-azurerm/lib/container-app-environment";
import { ContainerRegistry } from "@cdktf/provider-azurerm/lib/container-registry";
import { Subnet } from "@cdktf/provider-azurerm/lib/subnet";
import { Construct } from "constructs";
import type { Fleet } from "../config/load";
import type { AzureSharedNames } from "../config/names";

/** Every environment has the serverless Consumption profile, which the bots' apps run on. */
export const CONSUMPTION_PROFILE = "Consumption";

export interface ContainerAppsEnvironmentProps {
  readonly fleet: Fleet;
  readonly region: string;
  readonly names: AzureSharedNames;
  readonly resourceGroupName: string;
  readonly virtualNetworkName: string;
  /** Whether any bot of the region is internal-only: then the internal environment exists. */
  readonly internal: boolean;
  /** The region's workspace (RegionLogs), where the environments send the apps' logs. */
  readonly logAnalyticsWorkspaceId: string;
  readonly tags: Record<string, string>;
}

/**
 * What Container Apps bots of one region share (beside the region's workspace, RegionLogs): a
 * registry without admin user (each bot's own identity gets AcrPull
 * on it in the bot's stack), the public environment, the internal one in its own VNet subnet behind an internal
 * load balancer when a bot asks for it.
 */
export class ContainerAppsEnvironment extends Construct {
  constructor(scope: Construct, id: string, props: ContainerAppsEnvironmentProps) {
    super(scope, id);
    const { fleet, region, names, tags } = props;
    const common = { location: region, resourceGroupName: props.resourceGroupName, tags };

    new ContainerRegistry(this, "registry", {
      ...common,
      name: names.containerRegistry,
      sku: "Basic",
      adminEnabled: false,
      anonymousPullEnabled: false,
    });

    const environment = (envId: string, name: string, network?: { subnetId: string }) =>
      new ContainerAppEnvironment(this, envId, {
        ...common,
        name,
        logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId,
        logsDestination: "log-analytics",
        workloadProfile: [{ name: CONSUMPTION_PROFILE, workloadProfileType: CONSUMPTION_PROFILE }],
        ...(network && { infrastructureSubnetId: network.subnetId, internalLoadBalancerEnabled: true }),
      });

    environment("environment", names.containerAppsEnvironment);
    if (props.internal) {
      const subnet = new Subnet(this, "subnet", {
        name: names.containerAppsSubnet,
        resourceGroupName: props.resourceGroupName,
        virtualNetworkName: props.virtualNetworkName,
        addressPrefixes: [fleet.azure.containerAppsSubnet!],
        defaultOutboundAccessEnabled: false,
        delegation: [
          {
            name: "container-apps",
            serviceDelegation: { name: "Microsoft.App/environments", actions: ["Microsoft.Network/virtualNetworks/subnets/join/action"] },
          },
        ],
      });
      environment("internal-environment", names.internalContainerAppsEnvironment, { subnetId: subnet.id });
    }
  }
}
