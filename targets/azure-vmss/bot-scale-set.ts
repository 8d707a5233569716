import { OrchestratedVirtualMachineScaleSet } from "@cdktf/provider-azurerm/lib/orchestrated-virtual-machine-scale-set";
import type { Construct } from "constructs";
import { goJson } from "../../constructs/provider-json";

/**
 * The Application Health extension in binary mode. Version 1.0 is binary: exactly HTTP 200 is
 * healthy and redirects are not followed (Azure/applicationhealth-extension-linux v1.0.7
 * main/health.go). Version 2.0 is rich: a 2xx is healthy only when its body is JSON with
 * "ApplicationHealthState": "Healthy", anything else is Unknown, and Unknown instances are repaired
 * (same repository, main/health.go of the 2.0 line) - neither gateway's health body has that
 * field, so 2.0 reimaged every bot in a loop. Caddy's /health answers the gateway's health, or
 * 200 with the waiting text while the bot waits for its secrets. A state changes only after
 * `numberOfProbes` probes in a row agree; 15 s x 8 = 120 s, the most version 1.0 accepts
 * (maximumProbeSettleTime, v1.0.7 main/handlersettings.go), so an agent restart (a rotated
 * secret) does not count as a failure.
 */
export const HEALTH_EXTENSION = {
  typeHandlerVersion: "1.0",
  settings: { protocol: "http", port: 80, requestPath: "/health", intervalInSeconds: 15, numberOfProbes: 8 },
} as const;

/**
 * How long after an instance is created or reimaged Azure waits before judging its health: the
 * first boot, 50 s on the container suite's stand-in VM with its images present, 8 to 13 minutes
 * estimated on a B-series VM that downloads them, up to about 25 at its baseline CPU
 * (docs/targets/azure-vmss.md#boot-timeline); azurerm v4.55.0 accepts PT10M to PT90M
 * (internal/services/compute/virtual_machine_scale_set.go, ISO8601DurationBetween).
 */
export const REPAIR_GRACE_PERIOD = "PT30M";

/**
 * The Azure Monitor Agent, which sends the VM's syslog where the region's data collection rule
 * says (RegionLogs). It authenticates as the bot's own identity, named in its settings
 * ("identifier-name" mi_res_id: Azure Monitor, "Manage the Azure Monitor Agent"). 1.36 with minor
 * upgrades, as Azure's own built-in policy deploys it to Linux scale sets
 * (Azure/azure-policy AzureMonitor_Agent_Linux_VMSS_UAI_DINE.json).
 */
export const MONITOR_AGENT = { name: "AzureMonitorLinuxAgent", publisher: "Microsoft.Azure.Monitor", type: "AzureMonitorLinuxAgent", typeHandlerVersion: "1.36" } as const;

/** Admin user Azure requires on every Linux VM; it has a password for the Serial Console only. */
export const ADMIN_USERNAME = "botadmin";

export interface BotScaleSetProps {
  readonly name: string;
  readonly location: string;
  readonly resourceGroupName: string;
  /** VM size, e.g. Standard_B2s. */
  readonly skuName: string;
  /** The instance's cloud-init, base64 (bootstrap/azure-vm.ts). */
  readonly customData: string;
  /** Password of the admin user, for the Serial Console only (SSH refuses passwords). */
  readonly adminPassword: string;
  /** The admin user Azure requires. @default ADMIN_USERNAME */
  readonly adminUsername?: string;
  readonly computerNamePrefix: string;
  /** The bot's user-assigned identity, which the instance runs as. */
  readonly identityId: string;
  /**
   * The same identity's ID as a string known at plan (built from its names), for the monitor
   * agent's settings: the extension set is hashed on the settings string, so an unknown one would
   * show the whole extension set as changing at a new bot's plan.
   */
  readonly identityResourceId: string;
  /** The bot subnet the instance's NIC joins. */
  readonly subnetId: string;
  readonly tags: Record<string, string>;
}

/**
 * A bot's VM: a Flexible scale set of exactly one instance with a Standard per-instance public
 * IP, automatic repair by Reimage (the instance and so its public IP survive), the Application
 * Health extension probing Caddy's plain-HTTP /health, and the Azure Monitor Agent.
 */
export class BotScaleSet extends OrchestratedVirtualMachineScaleSet {
  constructor(scope: Construct, id: string, props: BotScaleSetProps) {
    super(scope, id, {
      name: props.name,
      location: props.location,
      resourceGroupName: props.resourceGroupName,
      skuName: props.skuName,
      // Exactly one instance, ever: one bot token may have only one poller. Flexible scale sets
      // never overprovision, and no rolling-upgrade policy means no surge instance.
      instances: 1,
      platformFaultDomainCount: 1,
      sourceImageReference: { publisher: "Canonical", offer: "ubuntu-24_04-lts", sku: "server", version: "latest" },
      osDisk: { caching: "ReadWrite", storageAccountType: "StandardSSD_LRS", diskSizeGb: 30 },
      osProfile: {
        // A change updates the model only: the provider sets UpdateInstances and
        // CanReimageOnManualUpgrade false (terraform-provider-azurerm v4.55.0,
        // orchestrated_virtual_machine_scale_set_resource.go), so the running instance keeps the
        // cloud-init it was provisioned with (docs/targets/azure-vmss.md, "Changing a deployed bot").
        customData: props.customData,
        linuxConfiguration: {
          adminUsername: props.adminUsername ?? ADMIN_USERNAME,
          adminPassword: props.adminPassword,
          disablePasswordAuthentication: false,
          computerNamePrefix: props.computerNamePrefix,
          provisionVmAgent: true,
        },
      },
      identity: { type: "UserAssigned", identityIds: [props.identityId] },
      networkInterface: [
        {
          name: "nic",
          primary: true,
          ipConfiguration: [
            {
              name: "ipconfig",
              primary: true,
              subnetId: props.subnetId,
              // Standard SKU, per instance. It lives as long as the instance: Reimage keeps it.
              publicIpAddress: [{ name: "pip", skuName: "Standard_Regional", idleTimeoutInMinutes: 30 }],
            },
          ],
        },
      ],
      bootDiagnostics: {},
      extension: [
        {
          name: "HealthExtension",
          publisher: "Microsoft.ManagedServices",
          type: "ApplicationHealthLinux",
          typeHandlerVersion: HEALTH_EXTENSION.typeHandlerVersion,
          autoUpgradeMinorVersionEnabled: true,
          // In Go's form: azurerm reads settings back with json.Marshal into the `extension` set,
          // whose hash covers the raw string (v4.55.0 orchestrated_virtual_machine_scale_set.go:
          // TypeSet at 195, settings at 261-266, json.Marshal at 1605; set in Read at
          // orchestrated_virtual_machine_scale_set_resource.go:1464-1468; the SDK's HashResource,
          // vendor/.../helper/schema/serialize.go:90-119). Any other form is a new element at every plan.
          settings: goJson(HEALTH_EXTENSION.settings),
        },
        {
          ...MONITOR_AGENT,
          autoUpgradeMinorVersionEnabled: true,
          settings: goJson({ authentication: { managedIdentity: { "identifier-name": "mi_res_id", "identifier-value": props.identityResourceId } } }),
        },
      ],
      // Reimage rebuilds the OS disk in place (cloud-init runs again, state is on Azure Files)
      // and keeps the instance, so the public IP, DNS and Caddy's certificates stay valid.
      // Replace would create a new instance with a new IP.
      automaticInstanceRepair: { enabled: true, action: "Reimage", gracePeriod: REPAIR_GRACE_PERIOD },
      tags: props.tags,
    });
  }
}
