import type { IncomingMessage } from "node:http";
import { StandInServer } from "./stand-in-server";

/** A log entry as the Logging API v2 shapes it (the fields botfleet reads and filters on). */
export interface StandInEntry {
  readonly logName: string;
  readonly resource: { readonly type: string; readonly labels: Record<string, string> };
  readonly labels?: Record<string, string>;
  readonly timestamp: string;
  readonly receiveTimestamp: string;
  readonly textPayload?: string;
  readonly insertId: string;
}

/**
 * A stand-in of the Cloud Logging API (v2) for the `botfleet` command's client over its HTTP/JSON
 * transport: entries.list (POST /v2/entries:list with {resourceNames, filter, orderBy, pageSize},
 * answered {entries}), LogEntry as the API's discovery document defines it
 * (googleapis/google-api-go-client `logging/v2/logging-api.json`: timestamp, receiveTimestamp,
 * textPayload, labels, resource {type, labels}, logName). NOT Cloud Logging: it evaluates only the
 * filter forms botfleet writes (clauses joined by AND: field="value", field>="time",
 * NOT field:"substring" (case-insensitive, as the has operator), NOT field:* (the field absent),
 * and a parenthesised OR of those) and answers 400 to any other.
 */
export class CloudLoggingStandIn extends StandInServer {
  readonly entries: StandInEntry[] = [];
  /** Answer as to an identity without roles/logging.viewer. */
  denied = false;
  /** At most this many entries a page, whatever the page size asked (the API may return fewer, with a token for more). */
  pageLimit = 1000;

  protected answer(req: IncomingMessage, url: URL, body: string, send: (status: number, json: unknown) => void): void {
    const error = (code: number, status: string, message: string) => send(code, { error: { code, message, status } });
    if (req.headers.authorization !== "Bearer stand-in-token") return error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    if (req.method !== "POST" || url.pathname !== "/v2/entries:list") return error(404, "NOT_FOUND", `${url.pathname} not found`);
    if (this.denied) return error(403, "PERMISSION_DENIED", "Permission 'logging.logEntries.list' denied on resource (or it may not exist).");
    const request = JSON.parse(body) as { resourceNames: string[]; filter: string; orderBy?: string; pageSize?: number; pageToken?: string };
    const field = (entry: StandInEntry, path: string): string | undefined =>
      path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), entry) as string | undefined;
    const clause = (text: string): ((e: StandInEntry) => boolean) | undefined => {
      const or = /^\((.+)\)$/.exec(text);
      if (or) {
        const parts = or[1].split(" OR ").map(clause);
        return parts.every(Boolean) ? (e) => parts.some((p) => p!(e)) : undefined;
      }
      const present = /^NOT ([\w.]+):\*$/.exec(text);
      if (present) return (e) => field(e, present[1]) === undefined;
      const m = /^(NOT )?([\w.]+)(=|>=|:)"((?:[^"\\]|\\.)*)"$/.exec(text);
      if (!m || (m[1] !== undefined) !== (m[3] === ":")) return undefined;
      const value = m[4].replace(/\\(.)/g, "$1");
      if (m[3] === ":") return (e) => !(field(e, m[2]) ?? "").toLowerCase().includes(value.toLowerCase());
      return m[3] === "=" ? (e) => field(e, m[2]) === value : (e) => Date.parse(field(e, m[2]) ?? "") >= Date.parse(value);
    };
    const tests = request.filter.split(" AND ").map(clause);
    if (!tests.every(Boolean)) return error(400, "INVALID_ARGUMENT", `the stand-in does not evaluate this filter: ${request.filter}`);
    const projects = request.resourceNames.map((n) => `${n}/logs/`);
    const desc = request.orderBy === "timestamp desc";
    const matching = this.entries
      .filter((e) => projects.some((p) => e.logName.startsWith(p)) && tests.every((t) => t!(e)))
      .sort((a, b) => (Date.parse(a.timestamp) - Date.parse(b.timestamp)) * (desc ? -1 : 1));
    const from = Number(request.pageToken ?? 0);
    const entries = matching.slice(from, from + Math.min(request.pageSize ?? 50, this.pageLimit));
    send(200, { entries, ...(from + entries.length < matching.length && { nextPageToken: String(from + entries.length) }) });
  }
}
