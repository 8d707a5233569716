import type { IncomingMessage } from "node:http";
import { StandInServer } from "./stand-in-server";

/** A row of a workspace table: its columns by name, and when the workspace took it in (ingestion_time()). */
export type StandInRow = Record<string, string> & { readonly TimeGenerated: string; readonly ingested: string };

/**
 * A stand-in of the Log Analytics query API over HTTPS, for the `botfleet` command's logs client:
 * "Query - Resource Execute" (POST /v1/{resourceId}/query with {query, timespan}, answered
 * {tables: [{name, columns: [{name, type}], rows}]}), as azure-rest-api-specs
 * specification/operationalinsights/data-plane/Microsoft.OperationalInsights/stable/2022-10-27/
 * OperationalInsights.json and its examples/la-post-resource-centric-example.json define it;
 * errors as the API's ({error: {code, message, innererror}}, an unknown table SEM0100). NOT Log
 * Analytics: it runs only the KQL forms botfleet writes (a table, `where` with ==, contains, in and
 * datetime >=, `extend Received = ingestion_time()`, `project`, `top N by TimeGenerated|Received asc|desc`) and
 * answers 400 to any other, so a query it cannot check fails the test. Rows by workspace resource ID.
 */
export class LogAnalyticsStandIn extends StandInServer {
  readonly tables = new Map<string, Map<string, StandInRow[]>>();

  add(workspace: string, table: string, ...rows: StandInRow[]): void {
    const tables = this.tables.get(workspace.toLowerCase()) ?? new Map<string, StandInRow[]>();
    tables.set(table, [...(tables.get(table) ?? []), ...rows]);
    this.tables.set(workspace.toLowerCase(), tables);
  }

  protected answer(req: IncomingMessage, url: URL, body: string, send: (status: number, json: unknown) => void): void {
    const bad = (message: string, inner?: { code: string; message: string }) =>
      send(400, { error: { message, code: "BadArgumentError", ...(inner && { innererror: { code: "SemanticError", message: "A semantic error occurred.", innererror: inner } }) } });
    if (!req.headers.authorization?.startsWith("Bearer "))
      return send(403, { error: { code: "InvalidAuthenticationTokenAudience", message: "The provided authentication is not valid for this resource" } });
    const workspace = /^\/v1\/(subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.OperationalInsights\/workspaces\/[^/]+)\/query$/.exec(url.pathname)?.[1];
    if (req.method !== "POST" || !workspace) return send(404, { error: { code: "PathNotFoundError", message: `The requested path does not exist: ${url.pathname}` } });
    const tables = this.tables.get(workspace.toLowerCase());
    if (!tables) return send(404, { error: { code: "ResourceNotFound", message: `The Resource '${workspace}' was not found.` } });
    const { query } = JSON.parse(body) as { query: string; timespan?: string };
    const [table, ...steps] = query.split("\n");
    let rows: Record<string, string>[] | undefined = tables.get(table)?.map((r) => ({ ...r }));
    if (!rows) return bad("The request had some invalid properties", { code: "SEM0100", message: `'where' operator: Failed to resolve table or column expression named '${table}'` });
    let columns: string[] = [];
    for (const step of steps) {
      let m: RegExpExecArray | null;
      if ((m = /^\| where (\w+) == "([^"]*)"$/.exec(step))) rows = rows.filter((r) => r[m![1]] === m![2]);
      else if ((m = /^\| where (\w+) contains "([^"]*)"$/.exec(step))) rows = rows.filter((r) => (r[m![1]] ?? "").toLowerCase().includes(m![2].toLowerCase()));
      else if ((m = /^\| where (\w+) in \(((?:"[^"]*"(?:, )?)+)\)$/.exec(step))) {
        const values = [...m[2].matchAll(/"([^"]*)"/g)].map((v) => v[1]);
        rows = rows.filter((r) => values.includes(r[m![1]]));
      } else if ((m = /^\| where (\w+) >= datetime\(([^)]+)\)$/.exec(step))) rows = rows.filter((r) => Date.parse(r[m![1]]) >= Date.parse(m![2]));
      else if (step === "| extend Received = ingestion_time()") rows = rows.map((r) => ({ ...r, Received: r.ingested }));
      else if ((m = /^\| project (.+)$/.exec(step))) {
        const picks = m[1].split(", ").map((p) => p.split(" = "));
        columns = picks.map((p) => p[0]);
        rows = rows.map((r) => Object.fromEntries(picks.map(([as, from]) => [as, r[from ?? as]])));
      } else if ((m = /^\| top (\d+) by (TimeGenerated|Received) (asc|desc)$/.exec(step))) {
        const [, n, by, order] = m;
        rows = rows.sort((a, b) => (Date.parse(a[by]) - Date.parse(b[by])) * (order === "asc" ? 1 : -1)).slice(0, Number(n));
      } else return bad(`the stand-in does not run this KQL: ${step}`);
    }
    send(200, {
      tables: [
        { name: "PrimaryResult", columns: columns.map((name) => ({ name, type: /^(TimeGenerated|Received)$/.test(name) ? "datetime" : "string" })), rows: rows.map((r) => columns.map((c) => r[c])) },
      ],
    });
  }
}
