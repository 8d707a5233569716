import { MonitorScheduledQueryRulesAlertV2 } from "@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2";
import type { Construct } from "constructs";
import { runbookOf, type LogAlarm } from "../bootstrap/alarms";
import type { Fleet } from "../config/load";
import type { LogSignals } from "../runtimes/runtime";

export interface LogAlarmRuleProps {
  /** The alarm; its ID is the construct's. */
  readonly alarm: LogAlarm;
  /** The bot's own name, which starts the rule's. */
  readonly botName: string;
  /** A KQL query counting the bot's lines that hold any of the alarm's patterns. */
  readonly query: string;
  readonly region: string;
  readonly resourceGroupName: string;
  readonly logAnalyticsWorkspaceId: string;
  readonly actionGroupId: string;
  readonly tags: Record<string, string>;
}

/** What an Azure bot's alerts share: where the rules live, what they read, whom they tell. */
export interface AzureBotAlertsProps {
  readonly region: string;
  /** Where the rules live (the bot's resource group, so they go with the bot). */
  readonly resourceGroupName: string;
  readonly logAnalyticsWorkspaceId: string;
  readonly actionGroupId: string;
  readonly thresholds: NonNullable<Fleet["azure"]["alerts"]>;
  readonly signals: LogSignals;
  readonly tags: Record<string, string>;
}

/**
 * An alarm as an Azure Monitor log search alert on the region's workspace, every 5 minutes over
 * the alarm's window, to the fleet's action group; its description names the runbook.
 */
export class LogAlarmRule extends MonitorScheduledQueryRulesAlertV2 {
  constructor(scope: Construct, props: LogAlarmRuleProps) {
    const { alarm } = props;
    super(scope, alarm.id, {
      name: `${props.botName} ${alarm.title}`,
      location: props.region,
      resourceGroupName: props.resourceGroupName,
      scopes: [props.logAnalyticsWorkspaceId],
      description: `${alarm.description}. Runbook: ${runbookOf(alarm)}`,
      severity: 2,
      evaluationFrequency: "PT5M",
      windowDuration: alarm.windowMinutes === 60 ? "PT1H" : `PT${alarm.windowMinutes}M`,
      criteria: [{ query: props.query, timeAggregationMethod: "Count", operator: "GreaterThanOrEqual", threshold: alarm.threshold }],
      // A table exists only once something has logged to it (ContainerAppConsoleLogs_CL after the
      // environment's first line, Syslog after the first VM's), and Azure validates the query at
      // creation unless told not to: the first bot of a region would fail to create its alerts
      // (azurerm v4.55.0 internal/services/monitor/monitor_scheduled_query_rules_alert_v2_resource.go).
      skipQueryValidation: true,
      action: { actionGroups: [props.actionGroupId] },
      tags: props.tags,
    });
  }
}
