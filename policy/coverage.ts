import type { RuleId } from "../contracts/policy-rules";
import { TARGETS } from "../targets/registry";
import type { RuleCoverage } from "../targets/types";
import type { StackView } from "../tfjson/terraform-json";
import { NOT_EXAMINED } from "./resource-types";

/** Every target's compute types, each with its target and how each rule examines it. */
export const COMPUTE: ReadonlyMap<string, { readonly target: string; readonly coverage: RuleCoverage }> = (() => {
  const map = new Map<string, { target: string; coverage: RuleCoverage }>();
  for (const t of TARGETS)
    for (const [type, coverage] of Object.entries(t.compute)) {
      const other = map.get(type);
      if (other && other.coverage !== coverage) throw new Error(`targets/${t.id}: compute type ${type} is also targets/${other.target}'s, with other checks; share one coverage object`);
      map.set(type, other ?? { target: t.id, coverage });
    }
  return map;
})();

/** Resources that run the bot itself: one bot stack may hold one. */
export const COMPUTE_TYPES = [...COMPUTE.keys()];

/** A resource of a bot stack the policy cannot vouch for: of a type it does not know, or that a rule says nothing about. */
export interface PolicyGap {
  readonly address: string;
  readonly path: string;
  readonly type: string;
  readonly message: string;
}

/**
 * Gaps in what the policy examines of a bot stack: every resource type in it must be examined by
 * a rule (`types` in policy/rules.ts), be a target's compute that says for every rule about
 * workloads how it examines it or why it does not apply, or be listed in policy/resource-types.ts.
 */
export function policyGaps(stack: StackView, examined: ReadonlySet<string>, computeRules: readonly RuleId[]): PolicyGap[] {
  const gaps: PolicyGap[] = [];
  for (const type of Object.keys(stack.json.resource ?? {})) {
    const compute = COMPUTE.get(type);
    const silent = compute ? computeRules.filter((rule) => compute.coverage[rule] === undefined) : [];
    const message = compute
      ? silent.length > 0 &&
        `${silent.join(", ")} ${silent.length === 1 ? "says" : "say"} nothing of ${type}: give it a check in \`compute\` of targets/${compute.target}/index.ts, or { notApplicable: "<why>" }`
      : !examined.has(type) &&
        !(type in NOT_EXAMINED) &&
        `resource type ${type} is unknown to the policy, so no rule examines it. If it runs the bot, declare it in \`compute\` of its target (targets/<target>/index.ts) with each rule's check; if it holds secrets, add it to the target's secretTypes and to BF-SEC-1 in policy/rules.ts; otherwise list it in policy/resource-types.ts with why no rule applies`;
    if (message) gaps.push(...stack.resources([type]).map(({ address, path }) => ({ address, path, type, message })));
  }
  return gaps;
}
