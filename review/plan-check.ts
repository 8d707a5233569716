/**
 * The review's offline actions checked against a real plan (issue 35): where a speculative plan ran
 * (HCP Terraform), its JSON says what Terraform will do to each resource, and every difference from
 * what the review said is reported, never hidden. The plan's form is Terraform's JSON plan
 * (`resource_changes[].change.actions`: ["no-op"], ["create"], ["read"], ["update"],
 * ["delete", "create"] or ["create", "delete"] for a replacement, ["delete"]; terraform v1.11.4
 * internal/command/jsonplan/plan.go:94-110 and actionString, :904-925), as HCP Terraform serves it
 * redacted to a token that may read the run (`/plans/<id>/json-output-redacted`, the endpoint the
 * CLI itself reads while it plans: internal/cloud/backend_common.go:558-590, backend_plan.go:524).
 */
import { isResource, type StackDiff } from "./diff";

/** The review's actions by stack, beside the review's other files (`npm run review -- --base`). */
export const ACTIONS_FILE = "actions.json";

/** What the review said of a resource; one it does not list is unchanged. */
export type OfflineAction = "create" | "destroy" | "update" | "replace" | "may-replace" | "unknown" | "none";

/** What the plan does to a resource. */
export type PlanAction = "create" | "update" | "replace" | "destroy" | "none";

export interface PlanMismatch {
  readonly address: string;
  readonly review: OfflineAction | "unchanged";
  readonly plan: PlanAction | "not in the plan";
  /** What the difference means, in a sentence. */
  readonly means: string;
}

/** The review's action on each resource of a stack it found changed, added or removed. */
export function offlineActions(diff: StackDiff): Record<string, OfflineAction> {
  const out: Record<string, OfflineAction> = {};
  for (const a of diff.added.filter(isResource)) out[a] = "create";
  for (const a of diff.removed.filter(isResource)) out[a] = "destroy";
  for (const c of diff.changed) if (isResource(c.address)) out[c.address] = c.action ?? "update";
  return out;
}

/** Each managed resource of the root module the plan names, with what the plan does to it. */
export function planActions(plan: unknown): Map<string, PlanAction> {
  const changes = (plan as { resource_changes?: unknown })?.resource_changes;
  if (!Array.isArray(changes)) throw new Error("not a Terraform JSON plan: it has no resource_changes list");
  const out = new Map<string, PlanAction>();
  for (const rc of changes as { mode?: string; type?: string; name?: string; module_address?: string; change?: { actions?: string[] } }[]) {
    if (rc.mode !== "managed" || rc.module_address) continue;
    const actions = rc.change?.actions ?? [];
    const action: PlanAction =
      actions.includes("delete") && actions.includes("create")
        ? "replace"
        : actions.includes("delete")
          ? "destroy"
          : actions.includes("create")
            ? "create"
            : actions.includes("update")
              ? "update"
              : "none";
    out.set(`${rc.type}.${rc.name}`, action);
  }
  return out;
}

/** What the plan does that the review did not say, resource by resource. */
export function comparePlan(offline: Readonly<Record<string, OfflineAction>>, plan: ReadonlyMap<string, PlanAction>): PlanMismatch[] {
  const out: PlanMismatch[] = [];
  const addresses = [...new Set([...Object.keys(offline), ...plan.keys()])].sort();
  for (const address of addresses) {
    const review = offline[address] ?? "unchanged";
    const planned = plan.get(address) ?? "not in the plan";
    const means = meaning(review, planned);
    if (means) out.push({ address, review, plan: planned, means });
  }
  return out;
}

function meaning(review: OfflineAction | "unchanged", plan: PlanAction | "not in the plan"): string | undefined {
  // What the review could not decide offline, the plan decides: any outcome agrees with it.
  if (review === "may-replace" || review === "unknown") return plan === "not in the plan" ? "the plan does not name it" : undefined;
  const expected: Record<typeof review, PlanAction> = { create: "create", destroy: "destroy", replace: "replace", update: "update", none: "none", unchanged: "none" };
  if (plan === expected[review]) return undefined;
  if (plan === "not in the plan") return review === "unchanged" ? undefined : "the plan does not name it";
  if (review === "unchanged" || review === "none")
    return `the plan ${plan === "replace" ? "replaces" : plan === "destroy" ? "destroys" : plan === "create" ? "creates" : "updates"} it though botfleet did not change it: a change made outside Terraform (drift), or a value the provider keeps rewriting (a perpetual diff)`;
  if (plan === "replace") return `the plan replaces it, the review said ${review}: what it loses is not in the review's loss lines; check the replacement table (npm run table:force-new)`;
  if (review === "replace")
    return `the review said replace, the plan ${plan === "none" ? "leaves it as it is" : `makes it ${plan === "update" ? "an update" : `a ${plan}`}`}: nothing is lost that the review said would be`;
  if (review === "update" && plan === "none") return "the review expected an update the plan does not make (the provider reads the same value back)";
  return `the review said ${review}, the plan does ${plan}`;
}
