/**
 * Writes the review of a synthesized fleet (run after `npx cdktf synth`):
 *   npm run review -- [--out cdktf.out] [--base <base branch's cdktf.out>] [--write <dir>] [--pr-body <text>]
 * Into <write> (default <out>/review): summary.md (the fleet, with every stack), comment.md (the
 * same, cut to its overview when too long for a pull-request comment), stacks/<stack>.md, and
 * changed-stacks.txt / removed-stacks.txt (against --base; without it every stack is "changed"), and
 * actions.json (against --base: the review's action on each changed resource, by stack).
 * Exits 1 when a policy rule fails, 2 on bad input, and, given --pr-body (the pull request's
 * description: the pull-request workflow passes it), 3 when the change destroys a stack's state
 * or secrets and the description has no `Accept data loss: <stack>` line for it (review/consent.ts).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dollars, round } from "../review/cost";
import { acceptedStacks, CONSENT_PREFIX, dataLoss, type StackDataLoss } from "../review/consent";
import { costTotals, diffOutputs, type StackDiff } from "../review/diff";
import { COMMENT_LIMIT, renderFleet, renderStack } from "../review/markdown";
import { ACTIONS_FILE, offlineActions } from "../review/plan-check";
import { reviewStack } from "../review/stack-review";
import { readSynthOutput, SynthOutputError } from "../review/synth-output";
import { staleOutput } from "./synth-failure";

export interface ReviewFiles {
  readonly summary: string;
  readonly comment: string;
  readonly stacks: Record<string, string>;
  /** Stacks added or changed (shared stacks first): what a deploy must apply. */
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  readonly failed: number;
  readonly monthly: number;
  readonly diffs?: readonly StackDiff[];
  /** Stacks whose state or secrets the change destroys (against --base), each accepted or not. */
  readonly dataLoss: readonly StackDataLoss[];
}

/**
 * The review of the output in `out`, against the base branch's output in `base` if given;
 * `prBody` is the pull request's description, read for `Accept data loss:` lines.
 */
export function review(out: string, base?: string, prBody = ""): ReviewFiles {
  const head = readSynthOutput(out);
  const reviews = head.map(reviewStack);
  const diffs = base ? diffOutputs(readSynthOutput(base), head) : undefined;
  const accepted = acceptedStacks(prBody);
  const summary = renderFleet(reviews, diffs, { accepted });
  return {
    summary,
    comment:
      summary.length <= COMMENT_LIMIT
        ? summary
        : `${renderFleet(reviews, diffs, { details: false, accepted })}\nThe per-stack details are too long for a comment: they are in the workflow's review artifact.\n`,
    stacks: Object.fromEntries(reviews.map((r) => [r.name, renderStack(r)])),
    changed: diffs ? diffs.filter((d) => d.status === "added" || d.status === "changed").map((d) => d.name) : head.map((s) => s.name),
    removed: diffs ? diffs.filter((d) => d.status === "removed").map((d) => d.name) : [],
    failed: reviews.flatMap((r) => r.policy.results).filter((r) => r.status === "fail").length,
    monthly: round(reviews.reduce((s, r) => s + r.cost.monthly, 0)),
    diffs,
    dataLoss: diffs ? dataLoss(diffs, accepted) : [],
  };
}

if (require.main === module) {
  let args;
  try {
    args = parseArgs({ options: { out: { type: "string", default: "cdktf.out" }, base: { type: "string" }, write: { type: "string" }, "pr-body": { type: "string" } } }).values;
  } catch (e) {
    process.stderr.write(`review: ${(e as Error).message}\nusage: npm run review -- [--out cdktf.out] [--base <dir>] [--write <dir>] [--pr-body <text>]\n`);
    process.exit(2);
  }
  // Output older than the last failed synth is not the fleet file's: never review it as if it were.
  const stale = staleOutput(args.out!);
  if (stale) {
    process.stderr.write(`review: ${stale}\n`);
    process.exit(2);
  }
  const dir = args.write ?? join(args.out!, "review");
  let files: ReviewFiles;
  try {
    files = review(args.out!, args.base, args["pr-body"]);
  } catch (e) {
    if (!(e instanceof SynthOutputError)) throw e;
    process.stderr.write(`review: ${e.message}\n`);
    process.exit(2);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "stacks"), { recursive: true });
  writeFileSync(join(dir, "summary.md"), files.summary);
  writeFileSync(join(dir, "comment.md"), files.comment);
  for (const [name, text] of Object.entries(files.stacks)) writeFileSync(join(dir, "stacks", `${name}.md`), text);
  writeFileSync(join(dir, "changed-stacks.txt"), files.changed.map((s) => `${s}\n`).join(""));
  writeFileSync(join(dir, "removed-stacks.txt"), files.removed.map((s) => `${s}\n`).join(""));
  // What the review says each changed resource does, for the comparison with the speculative plans
  // (scripts/pr-comment.ts, review/plan-check.ts).
  if (files.diffs)
    writeFileSync(join(dir, ACTIONS_FILE), `${JSON.stringify(Object.fromEntries(files.diffs.filter((d) => d.status !== "unchanged").map((d) => [d.name, offlineActions(d)])), null, 2)}\n`);
  const delta = files.diffs ? costTotals(files.diffs) : undefined;
  process.stdout.write(
    `review: ${join(dir, "summary.md")}: ${Object.keys(files.stacks).length} stacks, ${dollars(files.monthly)} a month` +
      (delta ? ` (${dollars(round(delta.after - delta.before), true)} against the base), ${files.changed.length} changed, ${files.removed.length} removed` : "") +
      `, ${files.failed} policy failures\n`,
  );
  const open = files.dataLoss.filter((l) => !l.accepted).map((l) => l.stack);
  if (open.length > 0)
    process.stderr.write(
      `review: the change destroys the state or secrets of ${open.join(", ")}${args["pr-body"] === undefined ? "" : `, not accepted: keep the data first (${join(dir, "summary.md")} says how), then add the line "${CONSENT_PREFIX} ${open.join(", ")}" to the pull request's description`}\n`,
    );
  // Consent is asked only of a pull request (--pr-body): the deploy after the merge applies what was accepted.
  process.exit(files.failed > 0 ? 1 : args["pr-body"] !== undefined && open.length > 0 ? 3 : 0);
}
