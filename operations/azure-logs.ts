import { LogsQueryClient, LogsQueryResultStatus, type LogsTable } from "@azure/monitor-query-logs";
import { azureSharedNames } from "../config/names";
import { azureCredential } from "./azure-credential";
import { cloudError, EXIT, OperationError } from "./errors";
import type { BotRef, LogLine, LogQuery } from "./types";

/** Which of an Azure bot's rows to read: KQL selecting them, and the columns that say what wrote each and what it says. */
export interface AzureLogRows {
  readonly rows: readonly string[];
  readonly source: string;
  readonly text: string;
  /** The table, for the message when it does not exist yet. */
  readonly table: string;
  readonly tableAppears: string;
}

/**
 * An Azure bot's log lines from its region's Log Analytics workspace (constructs/region-logs.ts),
 * through the Log Analytics query API's "Query - Resource Execute" (POST {endpoint}/{resourceId}/query
 * with {query, timespan}, answered {tables: [{name, columns, rows}]}: azure-rest-api-specs
 * specification/operationalinsights/data-plane/Microsoft.OperationalInsights/stable/2022-10-27/
 * OperationalInsights.json, examples/la-post-resource-centric-example.json) on the workspace's
 * resource ID, so its name is enough. The subscription is ARM_SUBSCRIPTION_ID's, as for Terraform;
 * BOTFLEET_LOG_ANALYTICS_ENDPOINT sets the API's endpoint with its version (another cloud, a stand-in).
 */
export async function azureLogs({ fleet, bot }: BotRef, env: NodeJS.ProcessEnv, select: AzureLogRows, query: LogQuery): Promise<LogLine[]> {
  const subscription = env.ARM_SUBSCRIPTION_ID;
  if (!subscription) throw new OperationError(`reading ${bot.name}'s logs needs the subscription it runs in: set ARM_SUBSCRIPTION_ID, as for a deploy`, EXIT.usage);
  const shared = azureSharedNames(fleet.name, bot.region, fleet.azure.uniqueSuffix);
  // Without the leading slash: the client puts one before it (a second one is a path Azure does not route).
  const workspace = `subscriptions/${subscription}/resourceGroups/${shared.resourceGroup}/providers/Microsoft.OperationalInsights/workspaces/${shared.logAnalytics}`;
  const client = new LogsQueryClient(azureCredential(env), env.BOTFLEET_LOG_ANALYTICS_ENDPOINT ? { endpoint: env.BOTFLEET_LOG_ANALYTICS_ENDPOINT } : {});
  // ingestion_time(): when the workspace took the row in; rows arrive minutes after they are
  // written, so a follow reads on by it rather than by TimeGenerated.
  const kqlText = [
    ...select.rows,
    `| where TimeGenerated >= datetime(${query.since.toISOString()})`,
    "| extend Received = ingestion_time()",
    ...(query.receivedFrom ? [`| where Received >= datetime(${query.receivedFrom.toISOString()})`] : []),
    `| project TimeGenerated, Received, Source = ${select.source}, Text = ${select.text}`,
    // The newest lines, or for a follow the first taken in since then (a page, read on in order).
    query.receivedFrom ? `| top ${query.limit} by Received asc` : `| top ${query.limit} by TimeGenerated desc`,
  ].join("\n");
  let table: LogsTable;
  try {
    const result = await client.queryResource(workspace, kqlText, { startTime: query.since, endTime: new Date(Date.now() + 3_600_000) });
    if (result.status !== LogsQueryResultStatus.Success) throw new OperationError(`the workspace ${shared.logAnalytics} answered only in part: ${result.partialError.message}`, EXIT.failed);
    table = result.tables[0];
  } catch (e) {
    // The API's message is general ("The request had some invalid properties"); what was wrong is
    // in its innermost error (a query's SEM0100: "Failed to resolve table or column expression").
    const detail = innermost((e as { details?: { error?: ErrorInfo } }).details?.error);
    if (detail && e instanceof Error && !e.message.includes(detail)) e.message = `${e.message}: ${detail}`;
    const message = (e as Error).message ?? "";
    if (/Failed to resolve table or column expression named/.test(message) && message.includes(select.table))
      throw new OperationError(`no log lines of ${bot.name} in the workspace ${shared.logAnalytics} yet: its table ${select.table} exists ${select.tableAppears}`, EXIT.notFound);
    if ((e as { statusCode?: number }).statusCode === 404)
      throw new OperationError(
        `the Log Analytics workspace ${shared.logAnalytics} is not in the resource group ${shared.resourceGroup} of subscription ${subscription}: is the region's shared stack deployed?`,
        EXIT.notFound,
      );
    throw cloudError(
      e,
      "azure",
      `reading ${bot.name}'s logs from the Log Analytics workspace ${shared.logAnalytics}`,
      `"Log Analytics Reader" on the workspace ${shared.logAnalytics} (resource group ${shared.resourceGroup})`,
    );
  }
  const at = (name: string) => table.columnDescriptors.findIndex((c) => c.name === name);
  const [time, received, source, text] = ["TimeGenerated", "Received", "Source", "Text"].map(at);
  const lines = table.rows.map((row) => ({
    time: new Date(row[time] as string | Date),
    received: new Date(row[received] as string | Date),
    source: String(row[source] ?? ""),
    text: String(row[text] ?? "").replace(/\r?\n$/, ""),
  }));
  return query.receivedFrom ? lines : lines.reverse();
}

interface ErrorInfo {
  readonly message?: string;
  readonly innererror?: ErrorInfo;
}

function innermost(info: ErrorInfo | undefined): string | undefined {
  return info?.innererror ? (innermost(info.innererror) ?? info.message) : info?.message;
}
