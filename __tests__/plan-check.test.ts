import { readFileSync } from "node:fs";
import { join } from "node:path";
import { diffOutputs } from "../review/diff";
import { comparePlan, offlineActions, planActions, type PlanAction } from "../review/plan-check";
import { readSynthOutput } from "../review/synth-output";
import { synthTo } from "../scripts/readme-review-example";
import { fleetFrom, ROOT } from "./support/fleet";

/**
 * The review against a real plan (issue 35). The plans here are Terraform's JSON plan form
 * (terraform v1.11.4 internal/command/jsonplan: resource_changes[] with mode, type, name,
 * module_address and change.actions), written for the change the review classifies offline.
 */
const EXAMPLE = readFileSync(join(ROOT, "fleet.yaml"), "utf8");
const base = readSynthOutput(synthTo(fleetFrom(EXAMPLE)));

/** A JSON plan of the stack's resources: the given action for some, no-op for the rest. */
function planOf(stack: string, actions: Record<string, string[]>, extra: object[] = []) {
  const json = base.find((s) => s.name === stack)!.json as { resource?: Record<string, Record<string, unknown>> };
  const resources = Object.entries(json.resource ?? {}).flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`));
  return {
    format_version: "1.2",
    terraform_version: "1.11.4",
    resource_changes: [
      ...resources.map((address) => {
        const [type, name] = address.split(".");
        return { address, mode: "managed", type, name, provider_name: "registry.terraform.io/hashicorp/x", change: { actions: actions[address] ?? ["no-op"] } };
      }),
      ...extra,
    ],
  };
}

describe("a plan's actions", () => {
  test("replace in either order, destroy, create, update and no-op; data sources and modules' resources left out", () => {
    const plan = {
      resource_changes: [
        { mode: "managed", type: "a", name: "r1", change: { actions: ["delete", "create"] } },
        { mode: "managed", type: "a", name: "r2", change: { actions: ["create", "delete"] } },
        { mode: "managed", type: "a", name: "d", change: { actions: ["delete"] } },
        { mode: "managed", type: "a", name: "c", change: { actions: ["create"] } },
        { mode: "managed", type: "a", name: "u", change: { actions: ["update"] } },
        { mode: "managed", type: "a", name: "n", change: { actions: ["no-op"] } },
        { mode: "data", type: "a", name: "lookup", change: { actions: ["read"] } },
        { mode: "managed", type: "a", name: "inner", module_address: "module.x", change: { actions: ["delete"] } },
      ],
    };
    expect(Object.fromEntries(planActions(plan))).toEqual({ "a.r1": "replace", "a.r2": "replace", "a.d": "destroy", "a.c": "create", "a.u": "update", "a.n": "none" });
    expect(() => planActions({ planned_values: {} })).toThrow("not a Terraform JSON plan: it has no resource_changes list");
  });
});

describe("the review against the plan of a tier change (bot-beta: light to performance)", () => {
  const head = readSynthOutput(
    synthTo(fleetFrom(EXAMPLE.replace("  - name: bot-beta\n    domain: beta.bots.example.com\n    tier: light", "  - name: bot-beta\n    domain: beta.bots.example.com\n    tier: performance"))),
  );
  const beta = diffOutputs(base, head).find((d) => d.name === "bot-beta")!;
  const review = offlineActions(beta);
  const resized = "azurerm_orchestrated_virtual_machine_scale_set.scale-set";
  const plan = (actions: Record<string, string[]>, extra: object[] = []) => planActions(planOf("bot-beta", actions, extra));
  /** The plan that does exactly what the review says. */
  const same = Object.fromEntries(
    Object.entries(review).map(([a, x]) => [a, x === "create" ? ["create"] : x === "none" ? ["no-op"] : x === "replace" ? ["create", "delete"] : x === "destroy" ? ["delete"] : ["update"]]),
  );

  test("the review says what it changes", () => {
    expect(review[resized]).toBe("update");
    // A new release is a new blob (source_content forces new); nothing is destroyed.
    expect(review["azurerm_storage_blob.desired-release"]).toBe("replace");
    expect(Object.values(review)).not.toContain("destroy");
  });

  test("a plan that does what the review said matches", () => {
    expect(comparePlan(review, plan(same))).toEqual([]);
  });

  test("a replacement the review missed, a perpetual diff and a resource not in the plan are each reported", () => {
    const mismatches = comparePlan({ ...review, "azurerm_key_vault_secret.gone": "destroy" }, plan({ ...same, [resized]: ["delete", "create"], "azurerm_storage_account.state-storage": ["update"] }));
    const by = (address: string) => mismatches.find((m) => m.address === address);
    expect(mismatches.map((m) => [m.address, m.review, m.plan])).toEqual([
      ["azurerm_key_vault_secret.gone", "destroy", "not in the plan"],
      [resized, "update", "replace"],
      ["azurerm_storage_account.state-storage", "unchanged", "update"],
    ]);
    expect(by(resized)!.means).toMatch(/^the plan replaces it, the review said update: what it loses is not in the review's loss lines/);
    expect(by("azurerm_storage_account.state-storage")!.means).toMatch(
      /though botfleet did not change it: a change made outside Terraform \(drift\), or a value the provider keeps rewriting \(a perpetual diff\)$/,
    );
  });

  test("what the review could not decide offline, any plan decides", () => {
    for (const outcome of [["update"], ["delete", "create"], ["no-op"]])
      expect(
        comparePlan(
          { "a.x": "may-replace" },
          new Map([["a.x", planActions({ resource_changes: [{ mode: "managed", type: "a", name: "x", change: { actions: outcome } }] }).get("a.x") as PlanAction]]),
        ),
      ).toEqual([]);
  });
});
