import { Construct } from "constructs";
import { runtimeAlarms, vmBotfleetAlarms } from "../../bootstrap/alarms";
import { kql, vmSyslogRows } from "../../bootstrap/log-queries";
import { LogAlarmRule, type AzureBotAlertsProps } from "../../constructs/log-alarm-rule";
import { RepairsStateAlert } from "./repairs-state-alert";

export interface VmBotAlertsProps extends AzureBotAlertsProps {
  readonly botName: string;
  /** The bot's own resource group: its VM is the only machine in it. */
  readonly botResourceGroup: string;
  readonly scaleSetId: string;
}

/** Syslog lines of one bot's VM that hold any of `patterns`. */
export function syslogQuery(botResourceGroup: string, patterns: readonly string[]): string {
  return [...vmSyslogRows(botResourceGroup), `| where ${patterns.map((p) => `SyslogMessage contains_cs ${kql(p)}`).join(" or ")}`].join("\n");
}

/**
 * Alerts of one VM bot, on its syslog in the region's workspace, to the fleet's action group:
 * a rolled-back update, the tool sandbox off, agent restarts, a lost state lease, failing
 * snapshots, gateway auth failures and channel disconnects; and on its scale set's activity log,
 * automatic repairs suspended. Each names its runbook.
 */
export class VmBotAlerts extends Construct {
  constructor(scope: Construct, id: string, props: VmBotAlertsProps) {
    super(scope, id);
    for (const alarm of [...vmBotfleetAlarms(props.thresholds), ...runtimeAlarms(props.signals, props.thresholds)])
      new LogAlarmRule(this, {
        alarm,
        botName: props.botName,
        query: syslogQuery(props.botResourceGroup, alarm.patterns),
        region: props.region,
        resourceGroupName: props.resourceGroupName,
        logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId,
        actionGroupId: props.actionGroupId,
        tags: props.tags,
      });
    new RepairsStateAlert(this, { botName: props.botName, resourceGroupName: props.resourceGroupName, scaleSetId: props.scaleSetId, actionGroupId: props.actionGroupId, tags: props.tags });
  }
}
