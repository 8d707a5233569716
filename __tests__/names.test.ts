import { FleetConfigError } from "../config/load";
import { azureBotNames, azureSharedNames, gcpBotNames, gcpSharedNames, shortHash } from "../config/names";
import { decodeCustomData } from "../tfjson/terraform-json";
import { exampleFleet, fleetFrom, resources, synthFleet } from "./support/fleet";

function problems(yaml: string): string {
  try {
    fleetFrom(yaml);
  } catch (e) {
    if (e instanceof FleetConfigError) return e.message;
    throw e;
  }
  return "";
}

const KEY_VAULT = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const STORAGE_ACCOUNT = /^[a-z0-9]{3,24}$/;
const fleets = ["ab", "demo", "a1", "acme-prod", "x".repeat(16), "a-b-c-d-e-f-g-hh", "abcdefghijklmno-"].filter((f) => !f.endsWith("-"));
const regions = ["eastus2", "westeurope", "southafricanorth", "germanywestcentral"];

describe("Azure names", () => {
  test("are stable: the same inputs give the same names on every machine", () => {
    expect(shortHash("demo", "eastus2")).toBe("9541b8");
    expect(azureSharedNames("demo", "eastus2")).toMatchObject({ keyVault: "kv-demo-9541b8" });
    expect(azureBotNames("demo", "bot-alpha")).toMatchObject({ identity: "id-bot-alpha", storageAccount: "stbotalpha428602", stateContainer: "state" });
  });

  test.each(fleets.flatMap((f) => regions.map((r) => [f, r])))("Key Vault names are valid for fleet %s in %s", (fleet, region) => {
    expect(azureSharedNames(fleet, region).keyVault).toMatch(KEY_VAULT);
  });

  test.each(fleets)("each bot's own storage account name is valid and distinct, in fleet %s", (fleet) => {
    const bots = ["abc", "bot-alpha", "a".repeat(40), `${"b".repeat(16)}-x`, `${"b".repeat(16)}-y`];
    const accounts = bots.map((b) => azureBotNames(fleet, b).storageAccount);
    for (const a of accounts) expect(a).toMatch(STORAGE_ACCOUNT);
    expect(new Set(accounts).size).toBe(bots.length);
  });

  test("fleets whose names share a long prefix still get distinct global names", () => {
    const a = azureSharedNames("platform-team-aa", "eastus2");
    const b = azureSharedNames("platform-team-ab", "eastus2");
    expect(a.keyVault).not.toBe(b.keyVault);
    expect(azureSharedNames("demo", "eastus2").keyVault).not.toBe(azureSharedNames("demo", "westus2").keyVault);
  });

  test("a fleet's uniqueSuffix replaces the hash, and moves each bot's storage account too", () => {
    expect(azureSharedNames("demo", "eastus2", "zz01")).toMatchObject({ keyVault: "kv-demo-zz01", containerRegistry: "acrdemozz01" });
    const moved = azureBotNames("demo", "bot-alpha", "zz01").storageAccount;
    expect(moved).toMatch(STORAGE_ACCOUNT);
    expect(moved).not.toBe(azureBotNames("demo", "bot-alpha").storageAccount);
    expect(moved).not.toBe(azureBotNames("demo", "bot-alpha", "zz02").storageAccount);
  });

  // Every global name of a fleet follows azure.uniqueSuffix, so a user deploying the example
  // fleet (whose names others have deployed) can move all of them with one setting.
  test("with azure.uniqueSuffix, no globally unique Azure name of the example fleet is the one without it", () => {
    const GLOBAL: Record<string, string> = { azurerm_key_vault: "name", azurerm_container_registry: "name", azurerm_storage_account: "name" };
    const globalNames = (fleet: ReturnType<typeof exampleFleet>) =>
      Object.values(synthFleet(fleet).stacks).flatMap((stack) => Object.entries(GLOBAL).flatMap(([type, attr]) => resources(stack, type).map((r) => r[attr] as string)));
    const plain = exampleFleet();
    const before = globalNames(plain);
    const after = globalNames({ ...plain, azure: { ...plain.azure, uniqueSuffix: "zz01" } });
    expect(before.length).toBeGreaterThan(3);
    expect(after).toHaveLength(before.length);
    expect(after.filter((n) => before.includes(n))).toEqual([]);
  });

  test("with azure.uniqueSuffix, each VM syncs its state to the storage account its stack creates", () => {
    const plain = exampleFleet();
    const { stacks } = synthFleet({ ...plain, azure: { ...plain.azure, uniqueSuffix: "zz01" } });
    const vms = Object.values(stacks).filter((s) => resources(s, "azurerm_orchestrated_virtual_machine_scale_set").length > 0);
    expect(vms.length).toBeGreaterThan(1);
    for (const stack of vms) {
      const [account] = resources(stack, "azurerm_storage_account").map((a) => a.name as string);
      const cloudInit = decodeCustomData(resources(stack, "azurerm_orchestrated_virtual_machine_scale_set")[0].os_profile.custom_data);
      expect(cloudInit).toContain(`https://${account}.blob.core.windows.net/`);
      expect(cloudInit.match(/https:\/\/[a-z0-9]+\.blob\.core\.windows\.net\//g)!.every((url) => url === `https://${account}.blob.core.windows.net/`)).toBe(true);
    }
  });

  test("azure.uniqueSuffix in a fleet with several Azure regions: refused, since their global names would be the same", () => {
    const yaml = "name: demo\nazure:\n  uniqueSuffix: zz01\nbots:\n  - name: bot-a\n    region: eastus2\n  - name: bot-b\n    region: westus2\n";
    expect(problems(yaml)).toContain(
      'azure.uniqueSuffix: "zz01" would give the Key Vault and registry of every Azure region (eastus2, westus2) the same globally unique name, so only one region could deploy; remove it and name the fleet your own way, or give each region a fleet of its own',
    );
    expect(problems("name: demo\nazure:\n  uniqueSuffix: zz01\nbots:\n  - name: bot-a\n    region: eastus2\n")).toBe("");
  });

  test("bot secret names cannot collide across bots, since bot names never contain --", () => {
    const a = azureBotNames("demo", "bot-a");
    const b = azureBotNames("demo", "bot-a-telegram");
    expect(a.secret("telegram-bot-token")).toBe("bot-a--telegram-bot-token");
    expect(b.secret("bot-token")).not.toBe(a.secret("telegram-bot-token"));
  });

  test("host name prefixes fit 15 characters without a trailing hyphen", () => {
    expect(azureBotNames("demo", "research-assistant-01").computerNamePrefix).toBe("research-assist");
    expect(azureBotNames("demo", "abcdefghijklmn-x").computerNamePrefix).toBe("abcdefghijklmn");
  });
});

describe("names the providers would refuse", () => {
  test("the deployer's display name names the repository only when it fits IAM's 100 bytes", () => {
    const names = gcpSharedNames("demo", "us-central1");
    expect(names.deployerDisplayName("example-org/bot-fleet")).toBe("botfleet demo deployer (GitHub example-org/bot-fleet)");
    const long = `${"o".repeat(39)}/${"r".repeat(59)}`;
    expect(names.deployerDisplayName(long)).toBe("botfleet demo deployer");
  });

  const gcpFleet = (name: string, bot: string, github = "") => `name: ${name}\ngcp:\n  project: botfleet-demo\n${github}bots:\n  - name: ${bot}\n    target: gcp-cloud-run\n    region: us-central1\n`;

  test("a fleet or bot name that puts google in a state bucket name is refused with the field and the fix", () => {
    expect(gcpBotNames("demo", "botfleet-demo", "my-google-bot").stateBucket).toContain("google");
    expect(problems(gcpFleet("demo", "my-google-bot"))).toMatch(
      /bots\[0\]\.name: "my-google-bot" makes the state bucket name "demo-my-google-bot-state-[0-9a-f]{6}", which contains "google".*Cloud Storage refuses it; pick a bot name without "google"/,
    );
    expect(problems(gcpFleet("googly", "bot-a"))).toMatch(
      /line 1: name: "googly" starts with "goog", so every Cloud Run bot's state bucket name \(e.g. "googly-bot-a-state-[0-9a-f]{6}"\) would too.*pick a fleet name/,
    );
    expect(problems(gcpFleet("ops-g00gle", "bot-a"))).toMatch(/name: "ops-g00gle" contains "google" or a look-alike/);
    // Azure bots have no bucket: the same names are fine there.
    expect(problems("name: googly\nbots:\n  - name: my-google-bot\n")).toBe("");
  });

  test("a repository or branch whose GitHub subject exceeds google.subject's 127 bytes is refused", () => {
    const repo = (n: number) => `${"o".repeat(39)}/${"r".repeat(n - 40)}`;
    // repo:<99>:environment:production is exactly 127 bytes.
    expect(problems(gcpFleet("demo", "bot-a", `  github:\n    repository: ${repo(99)}\n`))).toBe("");
    expect(problems(gcpFleet("demo", "bot-a", `  github:\n    repository: ${repo(100)}\n`))).toMatch(
      /gcp\.github\.repository: "o+\/r+\.\.\. makes GitHub's deploy subject "repo:o+\/r+:environment:production" 128 bytes, more than the 127 Google accepts for google\.subject.*use a shorter repository name/,
    );
    expect(problems(gcpFleet("demo", "bot-a", `  github:\n    repository: ${repo(99)}\n    branch: main\n`))).toBe("");
    expect(problems(gcpFleet("demo", "bot-a", `  github:\n    repository: ${repo(99)}\n    branch: release-2026\n`))).toMatch(
      /gcp\.github\.branch: "release-2026" makes GitHub's deploy subject "repo:.*:ref:refs\/heads\/release-2026" 132 bytes/,
    );
  });
});

describe("names Azure reserves", () => {
  test("a fleet name that puts microsoft or windows in the Key Vault or registry name is refused, and a bot name that puts it in the bot's storage account", () => {
    expect(problems("name: micro-soft\nbots:\n  - name: bot-a\n")).toMatch(
      /line 1: name: "micro-soft" makes the shared name "acrmicrosoft[0-9a-f]{6}", which contains "microsoft"; Azure refuses it as a reserved word \(ReservedResourceName\); pick another fleet name/,
    );
    expect(problems("name: demo\nbots:\n  - name: micro-soft-bot\n")).toMatch(
      /bots\[0\]\.name: "micro-soft-bot" makes the bot's storage account name "stmicrosoftbot[0-9a-f]{6}", which contains "microsoft"; .*pick another bot name/,
    );
    expect(problems("name: windows\nbots:\n  - name: bot-a\n")).toMatch(/name: "windows" makes the shared name "kv-windows-[0-9a-f]{6}", which contains "windows"/);
    // Prefixed names never equal a reserved word or start with "login"; Cloud Run-only fleets have no such names.
    expect(problems("name: login\nbots:\n  - name: bot-a\n")).toBe("");
    expect(problems("name: windows\ngcp:\n  project: botfleet-demo\nbots:\n  - name: bot-a\n    target: gcp-cloud-run\n    region: us-central1\n")).toBe("");
  });

  test("a Container Apps bot named with a reserved word is refused; the same name on a VM is fine", () => {
    const app = (name: string) => `name: demo\nbots:\n  - name: ${name}\n    target: azure-container-apps\n`;
    expect(problems(app("skype"))).toMatch(/bots\[0\]\.name: "skype" is the reserved word "skype"; the container app is named as the bot.*ReservedResourceName\); pick another bot name/);
    expect(problems(app("login-bot"))).toMatch(/"login-bot" starts with "login"/);
    expect(problems(app("my-windows-bot"))).toMatch(/"my-windows-bot" contains "windows"/);
    expect(problems(app("skype-helper"))).toBe("");
    expect(problems("name: demo\nbots:\n  - name: skype\n")).toBe("");
  });
});
