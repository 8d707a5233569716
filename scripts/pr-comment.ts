/**
 * Posts the review as one pull-request comment, or updates the one an earlier run posted (found by
 * its first line, the review marker), with the speculative plans' results and HCP Terraform links:
 *   node -r sucrase/register scripts/pr-comment.ts --body <comment.md> [--plans <dir>] [--actions <actions.json>]
 * Environment: GITHUB_TOKEN, GITHUB_REPOSITORY (owner/name), PR_NUMBER, GITHUB_API_URL.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { COMMENT_LIMIT, COMMENT_MARKER } from "../review/markdown";
import { comparePlan, planActions, type OfflineAction } from "../review/plan-check";

/**
 * A Markdown section for the speculative plans in `dir` (<stack>.log and <stack>.exit each, and
 * <stack>.plan.json where the plan's JSON could be read), each plan checked against what the review
 * said (`actions`, the review's actions.json): every difference is listed.
 */
export function planSection(dir: string | undefined, actions?: Readonly<Record<string, Readonly<Record<string, OfflineAction>>>>): string {
  if (!dir || !existsSync(dir)) return "";
  const stacks = readdirSync(dir)
    .filter((f) => f.endsWith(".exit"))
    .map((f) => f.slice(0, -".exit".length))
    .sort();
  if (stacks.length === 0) return "";
  const differences: string[] = [];
  const details: string[] = [];
  const rows = stacks.map((stack) => {
    const exit = readFileSync(join(dir, `${stack}.exit`), "utf8").trim();
    if (exit === "skipped") return `| ${stack} | not planned here: applied with an owner's rights after the merge (the deploy workflow's owner job, or its owner by hand) | - | - |`;
    if (exit === "no-workspace")
      return `| ${stack} | not planned: its workspace does not exist yet (or the token may not read it); hcp-terraform makes it, applied by the owner job after the merge or by an owner | - | - |`;
    const log = existsSync(join(dir, `${stack}.log`)) ? readFileSync(join(dir, `${stack}.log`), "utf8") : "";
    const url = /https:\/\/\S+\/runs\/run-[A-Za-z0-9]+/.exec(log)?.[0];
    const outcome = /^(Plan: .*|No changes\..*)$/m.exec(log)?.[1] ?? (exit === "0" ? "planned" : "");
    const result = exit === "0" ? outcome : `**failed** (exit ${exit})${outcome ? `: ${outcome}` : ""}`;
    const where = existsSync(join(dir, `${stack}.where`)) ? "on the runner, as its plan identity (Local execution)" : url ? `[${url.split("/").pop()}](${url})` : "no run link in the log";
    return `| ${stack} | ${result} | ${where} | ${exit === "0" ? checked(dir, stack, actions, differences, details) : "-"} |`;
  });
  return [
    "",
    "### Speculative plans",
    "",
    "| stack | plan | run | against the review |",
    "|---|---|---|---|",
    ...rows,
    ...(differences.length ? ["", "**Where a plan differs from the review**", "", ...differences] : []),
    ...(details.length ? ["", ...details] : []),
    "",
  ].join("\n");
}

/** The plan of `stack` against the review's actions: a cell, and a line per difference. */
function checked(dir: string, stack: string, actions: Readonly<Record<string, Readonly<Record<string, OfflineAction>>>> | undefined, differences: string[], details: string[]): string {
  const file = join(dir, `${stack}.plan.json`);
  if (!existsSync(file)) {
    const why = existsSync(join(dir, `${stack}.plan-json.error`))
      ? readFileSync(join(dir, `${stack}.plan-json.error`), "utf8")
          .trim()
          .replace(/\|/g, "\\|")
          .slice(0, 200)
      : "not fetched";
    return `not checked: no JSON plan (${why})`;
  }
  let planned;
  try {
    planned = planActions(JSON.parse(readFileSync(file, "utf8")));
  } catch (e) {
    return `not checked: ${(e as Error).message}`;
  }
  // The plan resource by resource: what it creates, updates, replaces or destroys.
  const changing = [...planned].filter(([, action]) => action !== "none");
  if (changing.length > 0)
    details.push(`<details><summary>${stack}: the plan, resource by resource</summary>`, "", ...changing.map(([address, action]) => `- ${action} \`${address}\``), "", "</details>");
  if (!actions) return "not checked: no review actions (npm run review -- --base)";
  const mismatches = comparePlan(actions[stack] ?? {}, planned);
  for (const m of mismatches) differences.push(`- ${stack}: \`${m.address}\`: review ${m.review}, plan ${m.plan}: ${m.means}`);
  return mismatches.length === 0 ? "matches" : `**${mismatches.length} ${mismatches.length === 1 ? "difference" : "differences"}**`;
}

export interface CommentTarget {
  readonly api: string;
  readonly repository: string;
  readonly pr: number;
  readonly token: string;
}

/** Creates the review comment, or updates the one a previous run left. */
export async function upsertComment(target: CommentTarget, body: string, fetchImpl: typeof fetch = fetch): Promise<"created" | "updated"> {
  const headers = {
    Authorization: `Bearer ${target.token}`,
    Accept: "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    "Content-Type": "application/json",
  };
  const base = `${target.api}/repos/${target.repository}`;
  const call = async (method: string, url: string, payload?: object) => {
    const r = await fetchImpl(url, { method, headers, body: payload ? JSON.stringify(payload) : undefined });
    if (!r.ok) throw new Error(`${method} ${url}: HTTP ${r.status} ${await r.text()}`);
    return r.json() as Promise<any>;
  };
  for (let page = 1; ; page++) {
    const comments: { id: number; body?: string }[] = await call("GET", `${base}/issues/${target.pr}/comments?per_page=100&page=${page}`);
    const mine = comments.find((c) => c.body?.startsWith(COMMENT_MARKER));
    if (mine) {
      await call("PATCH", `${base}/issues/comments/${mine.id}`, { body });
      return "updated";
    }
    if (comments.length < 100) break;
  }
  await call("POST", `${base}/issues/${target.pr}/comments`, { body });
  return "created";
}

if (require.main === module) {
  const { values } = parseArgs({ options: { body: { type: "string" }, plans: { type: "string" }, actions: { type: "string" } } });
  const env = process.env;
  const missing = ["GITHUB_TOKEN", "GITHUB_REPOSITORY", "PR_NUMBER"].filter((k) => !env[k]);
  if (!values.body || missing.length > 0) {
    process.stderr.write(`pr-comment: needs --body <file> and the environment ${missing.join(", ") || "variables"}\n`);
    process.exit(2);
  }
  const actions = values.actions && existsSync(values.actions) ? JSON.parse(readFileSync(values.actions, "utf8")) : undefined;
  let body = readFileSync(values.body, "utf8") + planSection(values.plans, actions);
  if (body.length > COMMENT_LIMIT) body = `${body.slice(0, COMMENT_LIMIT)}\n\n(cut: the full review is in the workflow's review artifact)\n`;
  upsertComment({ api: env.GITHUB_API_URL ?? "https://api.github.com", repository: env.GITHUB_REPOSITORY!, pr: Number(env.PR_NUMBER), token: env.GITHUB_TOKEN! }, body).then(
    (what) => process.stdout.write(`pr-comment: ${what} the review comment on #${env.PR_NUMBER}\n`),
    (e) => {
      process.stderr.write(`pr-comment: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
