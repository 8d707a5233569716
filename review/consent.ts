/**
 * Data loss needs consent: a change that replaces or destroys a bot's state or the secrets set by
 * hand fails the pull-request check unless the pull request's description accepts it, stack by
 * stack, with a line such as
 *
 *   Accept data loss: bot-alpha, azure-shared-eastus2
 *
 * The workflow passes the description to `npm run review -- --pr-body "$PR_BODY"`, which exits 3
 * while a stack's loss is not accepted (docs/review.md#data-loss-needs-consent). A line names
 * stacks, not resources: what each stack loses is listed in the review the author accepts.
 */
import type { StackDiff } from "./diff";
import { CONSENT_KINDS, type Loss } from "./losses";

/** The line's form, as the review and the docs quote it. */
export const CONSENT_PREFIX = "Accept data loss:";

export interface StackDataLoss {
  readonly stack: string;
  readonly losses: readonly Loss[];
  readonly accepted: boolean;
}

/** The stacks a text (a pull request's description) accepts data loss in. */
export function acceptedStacks(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/^[ \t>*-]*Accept data loss:[ \t]*(.*)$/gim)) for (const name of m[1].split(/[\s,]+/)) if (name) out.add(name.replace(/^`|`$/g, ""));
  return out;
}

/** Each stack whose state or secrets the change replaces or destroys, and whether the text accepts it. */
export function dataLoss(diffs: readonly StackDiff[], accepted: ReadonlySet<string> = new Set()): StackDataLoss[] {
  return diffs.flatMap((d) => {
    const losses = d.losses.filter((l) => CONSENT_KINDS.has(l.kind));
    return losses.length > 0 ? [{ stack: d.name, losses, accepted: accepted.has(d.name) }] : [];
  });
}
