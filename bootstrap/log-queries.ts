/**
 * Which rows of a log service are one bot's, on each target: what its alerts match their patterns
 * in and what `botfleet logs` reads, written once so the two never disagree.
 */

/** A KQL string literal. */
export function kql(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** A Logging query language string: backslashes and quotes escaped. */
export function loggingQuoted(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/**
 * KQL: the Syslog rows of one VM bot's machine, in the region's workspace. The Azure Monitor Agent
 * tags each row with the VM's resource ID, which names the bot's own resource group (a scale set's
 * VM lives in the scale set's group), so no other machine's lines match.
 */
export function vmSyslogRows(botResourceGroup: string): string[] {
  return ["Syslog", `| where _ResourceId contains ${kql(`/resourcegroups/${botResourceGroup.toLowerCase()}/`)}`];
}

/** KQL: one container app's console lines (its containers' stdout and stderr), in the region's workspace. */
export function containerAppConsoleRows(appName: string): string[] {
  return ["ContainerAppConsoleLogs_CL", `| where ContainerAppName_s == ${kql(appName)}`];
}

/** Logging query language clauses (joined with AND): the entries of one Cloud Run service. */
export function cloudRunServiceEntries(serviceName: string): string[] {
  return ['resource.type="cloud_run_revision"', `resource.labels.service_name=${loggingQuoted(serviceName)}`];
}
