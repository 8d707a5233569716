import { Testing, TerraformResource, type App } from "cdktf";
import { buildFleet } from "../constructs/fleet";
import type { Fleet } from "../config/load";
import { COMPUTE } from "../policy/coverage";
import { NOT_EXAMINED } from "../policy/resource-types";
import { COMPUTE_RULES, EXAMINED_TYPES } from "../policy/rules";
import { TARGETS } from "../targets/registry";
import { exampleFleet } from "./support/fleet";

/** Builds the example fleet, lets `edit` add to bot-alpha's stack, and synthesizes it for real. */
function synthError(edit: (app: App) => void, fleet: Fleet = exampleFleet(), build = buildFleet): string {
  const app = Testing.app();
  build(app, fleet);
  edit(app);
  try {
    app.synth();
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

const botAlpha = (app: App) => app.node.findChild("bot-alpha");

describe("the policy refuses what it does not know", () => {
  test("a compute type it does not know fails synth, naming the type and where to declare it", () => {
    const error = synthError((app) => new TerraformResource(botAlpha(app), "web-app", { terraformResourceType: "azurerm_linux_web_app" }));
    expect(error).toMatch(
      /\[bot-alpha\/web-app\] azurerm_linux_web_app\.web-app: resource type azurerm_linux_web_app is unknown to the policy, so no rule examines it\. If it runs the bot, declare it in `compute` of its target \(targets\/<target>\/index\.ts\)/,
    );
  });

  test("a secret-bearing type it does not know fails synth, naming where secret types go", () => {
    const error = synthError((app) => new TerraformResource(botAlpha(app), "certificate", { terraformResourceType: "azurerm_key_vault_certificate" }));
    expect(error).toMatch(/azurerm_key_vault_certificate\.certificate: resource type azurerm_key_vault_certificate is unknown to the policy/);
    expect(error).toMatch(/if it holds secrets, add it to the target's secretTypes and to BF-SEC-1 in policy\/rules\.ts/);
  });

  test("shared stacks are the fleet owner's and not held to it", () => {
    const error = synthError((app) => new TerraformResource(app.node.findChild("azure-shared-eastus2"), "web-app", { terraformResourceType: "azurerm_linux_web_app" }));
    expect(error).toBe("");
  });

  test("a target's compute that says nothing of a workload rule fails synth, naming the rule and the file", () => {
    // The registry with azure-vmss's VM coverage missing BF-GW-1, as a descriptor written without it would be.
    jest.isolateModules(() => {
      jest.doMock("../targets/index", () => {
        const actual = jest.requireActual("../targets/index");
        const [vmss, ...rest] = actual.TARGET_LIST;
        const compute = Object.fromEntries(Object.entries(vmss.compute as Record<string, Record<string, unknown>>).map(([type, { "BF-GW-1": _, ...coverage }]) => [type, coverage]));
        return { TARGET_LIST: [{ ...vmss, compute }, ...rest] };
      });
      const isolated: typeof import("../constructs/fleet") = require("../constructs/fleet");
      const { exampleFleet: isolatedFleet }: typeof import("./support/fleet") = require("./support/fleet");
      const error = synthError(() => {}, isolatedFleet(), isolated.buildFleet);
      expect(error).toMatch(
        /azurerm_orchestrated_virtual_machine_scale_set\.scale-set: BF-GW-1 says nothing of azurerm_orchestrated_virtual_machine_scale_set: give it a check in `compute` of targets\/azure-vmss\/index\.ts, or \{ notApplicable: "<why>" \}/,
      );
    });
  });
});

test("a bot's workload whose agent config cannot be read fails BF-AUTH-1 (nothing shows its gateway demands its token)", () => {
  const error = synthError((app) => {
    // bot-delta's container app, its agent config gone from the environment.
    const resource = app.node
      .findChild("bot-delta")
      .node.findAll()
      .find((c): c is TerraformResource => c instanceof TerraformResource && c.terraformResourceType === "azurerm_container_app")!;
    const toTerraform = resource.toTerraform.bind(resource);
    resource.toTerraform = () => {
      const json = toTerraform();
      const [agent] = json.resource.azurerm_container_app[resource.friendlyUniqueId].template.container;
      agent.env = agent.env.filter((e: { name: string }) => e.name !== "BOTFLEET_AGENT_CONFIG");
      return json;
    };
  });
  expect(error).toMatch(/\[bot-delta\/app\] BF-AUTH-1 \[The gateway demands its token\] azurerm_container_app\.app: carries no agent config botfleet can read/);
});

describe("what every target declares is examined", () => {
  test("no rule examines a target's compute by type: each target's descriptor says how every workload rule applies", () => {
    for (const type of COMPUTE.keys()) expect([...EXAMINED_TYPES]).not.toContain(type);
  });

  test.each(TARGETS.flatMap((t) => Object.keys(t.compute).map((type) => [t.id, type])))("%s's compute %s: every workload rule checks it or says why not", (target, type) => {
    const coverage = COMPUTE.get(type)!.coverage;
    expect(COMPUTE.get(type)!.target).toBe(target);
    for (const rule of COMPUTE_RULES) expect(`${rule}: ${typeof coverage[rule]}`).toMatch(new RegExp(`^${rule}: (function|object)$`));
  });

  test.each(TARGETS.flatMap((t) => t.secretTypes.map((type) => [t.id, type])))("%s's secret type %s is examined by BF-SEC-1 or listed with why not", (_target, type) => {
    expect(EXAMINED_TYPES.has(type) || type in NOT_EXAMINED).toBe(true);
  });
});
