import { DataAzurermSubnet } from "@cdktf/provider-azurerm/lib/data-azurerm-subnet";
import { KeyVaultSecret } from "@cdktf/provider-azurerm/lib/key-vault-secret";
import { OrchestratedVirtualMachineScaleSet } from "@cdktf/provider-azurerm/lib/orchestrated-virtual-machine-scale-set";
import { Password } from "@cdktf/provider-random/lib/password";
import type { Construct } from "constructs";
import type { BotOf, Fleet } from "../../config/load";
import { renderVmBootstrap } from "../../bootstrap/azure-vm";
import type { AgentRuntime } from "../../runtimes/runtime";
import { AzureBotStack } from "../../constructs/azure-bot-stack";
import { VM_SIZES } from ".";

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
 * How long after an instance is created or reimaged Azure waits before judging its health. The
 * first boot installs Docker, Sysbox and Caddy and pulls the agent image (OpenClaw's is large: its
 * node_modules alone is about 1.6 GB unpacked, openclaw/openclaw#85301): estimated 6-12 minutes on
 * a B1ms, so 30 minutes leaves more than twice the margin (Azure allows 10-90).
 */
export const REPAIR_GRACE_PERIOD = "PT30M";

/** Admin user Azure requires on every Linux VM; it has a password for the Serial Console only. */
export const ADMIN_USERNAME = "botadmin";

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

    new OrchestratedVirtualMachineScaleSet(this, "scale-set", {
      name: names.scaleSet,
      location: bot.region,
      resourceGroupName: this.resourceGroup.name,
      skuName: VM_SIZES[bot.tier],
      // Exactly one instance, ever: one bot token may have only one poller. Flexible scale sets
      // never overprovision, and no rolling-upgrade policy means no surge instance.
      instances: 1,
      platformFaultDomainCount: 1,
      sourceImageReference: { publisher: "Canonical", offer: "ubuntu-24_04-lts", sku: "server", version: "latest" },
      osDisk: { caching: "ReadWrite", storageAccountType: "StandardSSD_LRS", diskSizeGb: 30 },
      osProfile: {
        customData: bootstrap.customData,
        linuxConfiguration: {
          adminUsername: ADMIN_USERNAME,
          adminPassword: adminPassword.result,
          disablePasswordAuthentication: false,
          computerNamePrefix: names.computerNamePrefix,
          provisionVmAgent: true,
        },
      },
      identity: { type: "UserAssigned", identityIds: [identity.id] },
      networkInterface: [
        {
          name: "nic",
          primary: true,
          ipConfiguration: [
            {
              name: "ipconfig",
              primary: true,
              subnetId: subnet.id,
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
          settings: JSON.stringify(HEALTH_EXTENSION.settings),
        },
      ],
      // Reimage rebuilds the OS disk in place (cloud-init runs again, state is on Azure Files)
      // and keeps the instance, so the public IP, DNS and Caddy's certificates stay valid.
      // Replace would create a new instance with a new IP.
      automaticInstanceRepair: { enabled: true, action: "Reimage", gracePeriod: REPAIR_GRACE_PERIOD },
      tags,
    });
  }
}
