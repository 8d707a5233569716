import { MonitoringAlertPolicy } from "@cdktf/provider-google/lib/monitoring-alert-policy";
import { MonitoringNotificationChannel } from "@cdktf/provider-google/lib/monitoring-notification-channel";
import { Construct } from "constructs";
import { runbookOf, type LogAlarm } from "../../bootstrap/alarms";
import { cloudRunServiceEntries, loggingQuoted } from "../../bootstrap/log-queries";

export interface CloudRunBotAlertsProps {
  readonly project: string;
  readonly serviceName: string;
  /** Where the alerts go. */
  readonly email: string;
  /** What the bot's own log lines alert on (botfleet's and the runtime's). */
  readonly alarms: readonly LogAlarm[];
  readonly labels: Record<string, string>;
}

/**
 * Cloud Run has no restart-count metric (Cloud Run docs, "Monitoring": instance count, startup
 * latency, CPU, memory, requests), so a crashing container is seen in the revision's system log:
 * "Container called exit(N)." for a process that exited with N, "Memory limit of … exceeded" for
 * one killed for its memory. The texts are the platform's as seen in public samples; Google
 * documents the system log ("run.googleapis.com/varlog/system", Cloud Run docs, "Logging"), not
 * these lines. A clean exit(0) is a graceful stop (a new revision, a restart).
 */
export const CONTAINER_EXITS: LogAlarm = {
  id: "container-exits",
  title: "container exits",
  description: "A container of the bot exited with an error or was killed for its memory; Cloud Run starts it again, and a loop means the bot is down",
  patterns: ["Container called exit(", "Memory limit of"],
  threshold: 1,
  windowMinutes: 15,
};

/**
 * Log entries of one service holding any of `patterns`. `textPayload:"…"` matches a substring,
 * ignoring case ("String comparisons aren't case sensitive", Logging query language docs); the
 * containers' lines are plain text, so they arrive as textPayload.
 */
export function cloudRunLogFilter(project: string, serviceName: string, alarm: LogAlarm): string {
  const any = alarm.patterns.map((p) => `textPayload:${loggingQuoted(p)}`).join(" OR ");
  const clauses = [...cloudRunServiceEntries(serviceName), `(${any})`];
  if (alarm.id === CONTAINER_EXITS.id)
    clauses.push(`logName=${loggingQuoted(`projects/${project}/logs/run.googleapis.com%2Fvarlog%2Fsystem`)}`, `NOT textPayload:${loggingQuoted("Container called exit(0)")}`);
  return clauses.join(" AND ");
}

/**
 * Alerts of one Cloud Run bot, by e-mail: a Cloud Monitoring log-match policy per alarm. A
 * log-match policy fires on each matching line, so it has exactly one condition and a notification
 * rate limit (both required by the Monitoring API, which checks them, not google v6.50.0:
 * resource_monitoring_alert_policy.go holds no such check): at most one e-mail an hour per alarm,
 * the incident closed 30 minutes after the last line. Needs no log-based metric, so nothing waits
 * for one to exist at the first deploy.
 */
export class CloudRunBotAlerts extends Construct {
  constructor(scope: Construct, id: string, props: CloudRunBotAlertsProps) {
    super(scope, id);
    const { project, serviceName, labels } = props;
    // The address shows in plans and state (labels are not sensitive, google v6.50.0
    // resource_monitoring_notification_channel.go:95-106): an address, not a secret.
    const channel = new MonitoringNotificationChannel(this, "email", {
      project,
      displayName: `${serviceName} alerts`,
      type: "email",
      labels: { email_address: props.email },
      userLabels: labels,
    });
    for (const alarm of [...props.alarms, CONTAINER_EXITS])
      new MonitoringAlertPolicy(this, alarm.id, {
        project,
        displayName: `${serviceName} ${alarm.title}`,
        combiner: "OR",
        conditions: [{ displayName: alarm.title, conditionMatchedLog: { filter: cloudRunLogFilter(project, serviceName, alarm) } }],
        notificationChannels: [channel.name],
        // Durations in whole seconds with "s": the API refuses "1h" (hashicorp/terraform-provider-google#17566).
        alertStrategy: { notificationRateLimit: { period: "3600s" }, autoClose: "1800s" },
        documentation: {
          subject: `botfleet: ${serviceName} ${alarm.title}`,
          content: `${alarm.description}.\n\nRunbook: ${runbookOf(alarm)} in botfleet.`,
          mimeType: "text/markdown",
        },
        severity: "ERROR",
        userLabels: labels,
      });
  }
}
