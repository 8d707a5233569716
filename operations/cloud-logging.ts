import { LoggingServiceV2Client, protos } from "@google-cloud/logging-api";
import { cloudRunServiceEntries, loggingQuoted } from "../bootstrap/log-queries";
import { cloudError } from "./errors";
import type { LogLine, LogQuery } from "./types";

type Timestamp = string | { seconds?: number | string | { toString(): string } | null; nanos?: number | null } | null | undefined;

/**
 * A Cloud Run bot's log lines from Cloud Logging (entries.list, POST /v2/entries:list with
 * {resourceNames, filter, orderBy, pageSize}, answered {entries: [LogEntry]}: the Logging API v2
 * reference), through the Cloud Logging client for Node.js over its HTTP/JSON transport;
 * BOTFLEET_LOGGING_ENDPOINT sets its endpoint (a stand-in). The agent's lines are its container's
 * stdout and stderr (`labels.container_name`, as Google's own multi-container sample filters them:
 * GoogleCloudPlatform/cloud-run-samples multi-container/hello-nginx-sample/tests/e2e-test.sh);
 * every line adds state-sync's and the platform's (varlog/system: exits, probes). Where state-sync
 * runs inside the agent's container (a light bot: targets/gcp-cloud-run/bot-service.ts), its lines
 * are told apart by their mark (`<time> state-sync: `, state-sync.mjs `log`; `:` matches a
 * substring, as the bots' log alerts use it).
 */
export async function cloudRunLogs(project: string, serviceName: string, env: NodeJS.ProcessEnv, query: LogQuery): Promise<LogLine[]> {
  const endpoint = env.BOTFLEET_LOGGING_ENDPOINT ? new URL(env.BOTFLEET_LOGGING_ENDPOINT) : undefined;
  const client = new LoggingServiceV2Client({
    projectId: project,
    fallback: true,
    ...(endpoint && { apiEndpoint: endpoint.hostname, port: Number(endpoint.port), protocol: endpoint.protocol.replace(":", "") }),
  });
  const log = (name: string) => `logName=${loggingQuoted(`projects/${project}/logs/run.googleapis.com%2F${name}`)}`;
  const filter = [
    ...cloudRunServiceEntries(serviceName),
    `timestamp>=${loggingQuoted(query.since.toISOString())}`,
    ...(query.receivedFrom ? [`receiveTimestamp>=${loggingQuoted(query.receivedFrom.toISOString())}`] : []),
    query.all ? `(${["stdout", "stderr", "varlog%2Fsystem"].map(log).join(" OR ")})` : `(${["stdout", "stderr"].map(log).join(" OR ")})`,
    // A revision of one container may carry no container_name: its lines are the agent's.
    ...(query.all ? [] : [`(labels.container_name=${loggingQuoted("agent")} OR NOT labels.container_name:*)`, `NOT textPayload:${loggingQuoted(" state-sync: ")}`]),
  ].join(" AND ");
  // The newest lines, or for a follow the oldest since then (Logging orders by timestamp only). A
  // page may come back short, even empty, with more to read: read on by its token up to the limit.
  const orderBy = query.receivedFrom ? "timestamp asc" : "timestamp desc";
  try {
    const entries: protos.google.logging.v2.ILogEntry[] = [];
    for (let pageToken: string | undefined; entries.length < query.limit;) {
      const [page, , response] = await client.listLogEntries(
        { resourceNames: [`projects/${project}`], filter, orderBy, pageSize: Math.min(query.limit - entries.length, 1000), ...(pageToken && { pageToken }) },
        { autoPaginate: false },
      );
      entries.push(...page);
      pageToken = response?.nextPageToken || undefined;
      if (!pageToken) break;
    }
    const lines = entries.slice(0, query.limit).map((e) => ({
      time: toDate(e.timestamp as Timestamp),
      received: toDate(e.receiveTimestamp as Timestamp),
      source: e.labels?.container_name ?? (e.logName?.endsWith("varlog%2Fsystem") ? "system" : "agent"),
      text: (e.textPayload ?? (e.jsonPayload ? JSON.stringify(e.jsonPayload) : "")).replace(/\r?\n$/, ""),
    }));
    return query.receivedFrom ? lines : lines.reverse();
  } catch (e) {
    throw cloudError(e, "gcp", `reading the logs of the Cloud Run service ${serviceName} from Cloud Logging`, `roles/logging.viewer on the project ${project}`);
  } finally {
    await client.close();
  }
}

function toDate(ts: Timestamp): Date {
  if (!ts) return new Date(0);
  if (typeof ts === "string") return new Date(ts);
  return new Date(Number(String(ts.seconds ?? 0)) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}
