import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Testing } from "cdktf";
import type { App } from "cdktf";

/**
 * A fourth target, added the way CONTRIBUTING would have it: its own folder
 * (__tests__/fixtures/toy-target, shipped nowhere) and one more line in the registry. The test
 * adds that line by standing in for targets/index.ts with the same list plus the toy, in a module
 * registry of its own; everything else (schema, loader, stacks, policy, review) is botfleet's own.
 */
function withToyTarget<T>(
  run: (modules: {
    fleetFrom: typeof import("./support/fleet").fleetFrom;
    buildFleet: typeof import("../constructs/fleet").buildFleet;
    readSynthOutput: typeof import("../review/synth-output").readSynthOutput;
    reviewStack: typeof import("../review/stack-review").reviewStack;
    renderStack: typeof import("../review/markdown").renderStack;
  }) => T,
): T {
  let result: T | undefined;
  jest.isolateModules(() => {
    jest.doMock("../targets/index", () => {
      const { TARGET_LIST } = jest.requireActual("../targets/index");
      const { azureContainerInstances } = require("./fixtures/toy-target");
      return { TARGET_LIST: [...TARGET_LIST, azureContainerInstances] };
    });
    result = run({
      fleetFrom: require("./support/fleet").fleetFrom,
      buildFleet: require("../constructs/fleet").buildFleet,
      readSynthOutput: require("../review/synth-output").readSynthOutput,
      reviewStack: require("../review/stack-review").reviewStack,
      renderStack: require("../review/markdown").renderStack,
    });
  });
  return result!;
}

const FLEET = `name: toy
bots:
  - name: bot-vm
    domain: vm.example.com
    channels:
      telegram:
        allowFrom: ["1"]
  - name: bot-toy
    target: azure-container-instances
    channels:
      telegram:
        allowFrom: ["1"]
`;

function synth(app: App): string {
  try {
    app.synth();
    return "";
  } catch (e) {
    return (e as Error).message;
  }
}

test("the toy target is two files in its own folder", () => {
  expect(readdirSync(join(__dirname, "fixtures", "toy-target")).sort()).toEqual(["bot-stack.ts", "index.ts"]);
});

test("a fleet on the toy target validates, synthesizes under the policy and is reviewed", () => {
  withToyTarget(({ fleetFrom, buildFleet, readSynthOutput, reviewStack, renderStack }) => {
    const fleet = fleetFrom(FLEET);
    expect(fleet.bots.map((b) => [b.target, "publicIp" in b])).toEqual([
      ["azure-vmss", false],
      ["azure-container-instances", true],
    ]);
    const app = Testing.app();
    buildFleet(app, fleet);
    // The toy's bot shares the Azure shared stack of its region with the VM bot.
    expect(app.node.children.map((s) => s.node.id)).toEqual(["azure-shared-eastus2", "bot-vm", "bot-toy"]);
    expect(synth(app)).toBe("");

    const reviews = readSynthOutput(app.outdir).map(reviewStack);
    const toy = reviews.find((r) => r.name === "bot-toy")!;
    const group = "azurerm_container_group.group";
    // Every workload rule examined the container group, as its descriptor says.
    expect(toy.policy.results.filter((r) => r.address === group).map((r) => [r.rule, r.status])).toEqual([
      ["BF-TLS-1", "pass"],
      ["BF-AUTH-1", "pass"],
      ["BF-DM-1", "pass"],
      ["BF-ING-1", "pass"],
      ["BF-SEC-1", "pass"],
      ["BF-ID-1", "pass"],
      ["BF-ONE-1", "pass"],
      ["BF-ISO-1", "pass"],
    ]);
    expect(toy.policy.gaps).toEqual([]);
    expect(toy.endpoints).toEqual(["container group bot-toy: no inbound"]);
    expect(toy.cost.lines).toContainEqual({ address: group, item: "container group, 1 vCPU", monthly: 32.85 });
    expect(renderStack(toy)).toMatch(/agent\["container group bot-toy · openclaw · 1 vCPU"\]/);
  });
});

test("the policy holds the toy target to its rules, and its settings to its bots", () => {
  withToyTarget(({ fleetFrom, buildFleet }) => {
    const app = Testing.app();
    buildFleet(app, fleetFrom(FLEET.replace("    target: azure-container-instances\n", "    target: azure-container-instances\n    publicIp: true\n")));
    const error = synth(app);
    expect(error).toMatch(/\[bot-toy\/group\] BF-TLS-1 \[Traffic to the gateway is encrypted\] azurerm_container_group\.group: serves the gateway over plain HTTP on a public IP/);
    expect(error).toMatch(/\[bot-toy\/group\] BF-ING-1 \[.*\] azurerm_container_group\.group: has a public IP open to the whole internet/);
    expect(() => fleetFrom(FLEET.replace("    domain: vm.example.com\n", "    domain: vm.example.com\n    publicIp: true\n"))).toThrow(
      /bots\[0\]\.publicIp: true applies only to target azure-container-instances, and this bot's target is azure-vmss/,
    );
  });
});
