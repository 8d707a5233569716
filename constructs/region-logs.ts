import { LogAnalyticsWorkspace } from "@cdktf/provider-azurerm/lib/log-analytics-workspace";
import { MonitorDataCollectionRule } from "@cdktf/provider-azurerm/lib/monitor-data-collection-rule";
import { Construct } from "constructs";
import type { Fleet } from "../config/load";
import type { AzureSharedNames } from "../config/names";

export interface RegionLogsProps {
  readonly fleet: Fleet;
  readonly region: string;
  readonly names: AzureSharedNames;
  readonly resourceGroupName: string;
  /** Whether the region has VM bots, whose syslog the workspace then collects. */
  readonly vmBots: boolean;
  readonly tags: Record<string, string>;
}

/**
 * What VM bots' syslog carries: botfleet's units, the agent's and Caddy's lines (systemd services
 * log to the journal with facility daemon, which rsyslog hands to the agent) at Info and above,
 * and the kernel's warnings (an OOM kill is one). Levels are case-sensitive (azurerm v4.55.0
 * vendor/.../insights/2023-03-11/datacollectionrules/constants.go:644-668).
 */
export const VM_SYSLOG = [
  { name: "botfleet-daemon", facilityNames: ["daemon"], logLevels: ["Info", "Notice", "Warning", "Error", "Critical", "Alert", "Emergency"] },
  { name: "botfleet-kernel", facilityNames: ["kern"], logLevels: ["Warning", "Error", "Critical", "Alert", "Emergency"] },
] as const;

/**
 * The region's Log Analytics workspace (retention and daily cap from the fleet file), where
 * Container Apps and VM bots log, and, with VM bots, the data collection rule that sends their
 * syslog there (each bot's scale set is associated with it in the bot's stack).
 */
export class RegionLogs extends Construct {
  readonly workspace: LogAnalyticsWorkspace;

  constructor(scope: Construct, id: string, props: RegionLogsProps) {
    super(scope, id);
    const { fleet, region, names, tags } = props;
    this.workspace = new LogAnalyticsWorkspace(this, "workspace", {
      location: region,
      resourceGroupName: props.resourceGroupName,
      name: names.logAnalytics,
      sku: "PerGB2018",
      retentionInDays: fleet.azure.logRetentionDays,
      dailyQuotaGb: fleet.azure.logDailyCapGb,
      tags,
    });
    // Its Terraform address from when only Container Apps used it (container-apps/logs): a new
    // address would destroy the workspace, and its logs with it, for every fleet that had one.
    this.workspace.overrideLogicalId("container-apps_logs_31C3D425");

    if (props.vmBots)
      new MonitorDataCollectionRule(this, "vm-syslog", {
        name: names.vmSyslogRule,
        location: region,
        resourceGroupName: props.resourceGroupName,
        kind: "Linux",
        description: "botfleet VM bots' syslog to the region's workspace",
        // To Log Analytics the agent needs no data collection endpoint (Azure Monitor, "Data
        // collection endpoints": only private links and some sources need one).
        destinations: { logAnalytics: [{ name: "workspace", workspaceResourceId: this.workspace.id }] },
        dataSources: { syslog: VM_SYSLOG.map((s) => ({ ...s, facilityNames: [...s.facilityNames], logLevels: [...s.logLevels], streams: ["Microsoft-Syslog"] })) },
        dataFlow: [{ streams: ["Microsoft-Syslog"], destinations: ["workspace"] }],
        tags,
      });
  }
}
