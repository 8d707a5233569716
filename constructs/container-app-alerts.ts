import { MonitorMetricAlert } from "@cdktf/provider-azurerm/lib/monitor-metric-alert";
import { Construct } from "constructs";
import { MANAGED_BOTFLEET_ALARMS, runbookOf, runtimeAlarms, type LogAlarm } from "../bootstrap/alarms";
import { containerAppConsoleRows, kql } from "../bootstrap/log-queries";
import { LogAlarmRule, type AzureBotAlertsProps } from "./log-alarm-rule";

export interface ContainerAppAlertsProps extends AzureBotAlertsProps {
  readonly appName: string;
  readonly appId: string;
}

/** Console log lines of one app that contain any of `patterns`, as a log alert query. */
export function consoleLogQuery(appName: string, patterns: readonly string[]): string {
  return [...containerAppConsoleRows(appName), `| where ${patterns.map((p) => `Log_s contains_cs ${kql(p)}`).join(" or ")}`].join("\n");
}

/**
 * Alerts of one Container Apps bot, to the fleet's action group: replica restarts (platform
 * metric), and from its console logs botfleet's own alarms (a refused config, a lost state lease,
 * failing snapshots), gateway authentication failures, channel disconnects and an unusual volume
 * of channel activity (the runtime's `logSignals`). Each names its runbook.
 */
export class ContainerAppAlerts extends Construct {
  constructor(scope: Construct, id: string, props: ContainerAppAlertsProps) {
    super(scope, id);
    const { thresholds: t, signals } = props;

    // RestartCount is each replica's restart count since it started ("Restart count of container
    // app replicas", Azure Monitor supported metrics for Microsoft.App/containerApps), sampled every
    // minute: a Total over a window sums the same count once a minute and fires for good after a
    // single restart. Its Maximum is the count itself: the alert fires when the replica has
    // restarted this often, and resolves when a new replica replaces it (revision restart, deploy).
    new MonitorMetricAlert(this, "restarts", {
      name: `${props.appName} replica restarts`,
      resourceGroupName: props.resourceGroupName,
      scopes: [props.appId],
      description: `The agent container keeps restarting (crash loop, failed probe); restart the revision after fixing it to reset the count. Runbook: ${runbookOf({ id: "replica-restarts" })}`,
      severity: 2,
      frequency: "PT5M",
      windowSize: "PT5M",
      criteria: [
        {
          metricNamespace: "Microsoft.App/containerApps",
          metricName: "RestartCount",
          aggregation: "Maximum",
          operator: "GreaterThanOrEqual",
          threshold: t.restartThreshold,
        },
      ],
      action: [{ actionGroupId: props.actionGroupId }],
      tags: props.tags,
    });

    const logAlert = (alarm: LogAlarm) =>
      new LogAlarmRule(this, {
        alarm,
        botName: props.appName,
        query: consoleLogQuery(props.appName, alarm.patterns),
        region: props.region,
        resourceGroupName: props.resourceGroupName,
        logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId,
        actionGroupId: props.actionGroupId,
        tags: props.tags,
      });

    for (const alarm of [...MANAGED_BOTFLEET_ALARMS, ...runtimeAlarms(signals, t)]) logAlert(alarm);
    if (signals.channelActivity.length)
      logAlert({
        id: "message-volume",
        title: "unusual message volume",
        description: "Far more channel activity than usual (spam, a loop between bots)",
        patterns: signals.channelActivity,
        threshold: t.messageVolumeThreshold,
        windowMinutes: 60,
      });
  }
}
