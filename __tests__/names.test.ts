import { azureBotNames, azureSharedNames, shortHash } from "../config/names";

const KEY_VAULT = /^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const STORAGE_ACCOUNT = /^[a-z0-9]{3,24}$/;
const fleets = ["ab", "demo", "a1", "acme-prod", "x".repeat(16), "a-b-c-d-e-f-g-hh", "abcdefghijklmno-"].filter((f) => !f.endsWith("-"));
const regions = ["eastus2", "westeurope", "southafricanorth", "germanywestcentral"];

describe("Azure names", () => {
  test("are stable: the same inputs give the same names on every machine", () => {
    expect(shortHash("demo", "eastus2")).toBe("9541b8");
    expect(azureSharedNames("demo", "eastus2")).toMatchObject({ keyVault: "kv-demo-9541b8", storageAccount: "stdemo9541b8" });
  });

  test.each(fleets.flatMap((f) => regions.map((r) => [f, r])))("Key Vault and storage names are valid for fleet %s in %s", (fleet, region) => {
    const n = azureSharedNames(fleet, region);
    expect(n.keyVault).toMatch(KEY_VAULT);
    expect(n.storageAccount).toMatch(STORAGE_ACCOUNT);
  });

  test("fleets whose names share a long prefix still get distinct global names", () => {
    const a = azureSharedNames("platform-team-aa", "eastus2");
    const b = azureSharedNames("platform-team-ab", "eastus2");
    expect(a.keyVault).not.toBe(b.keyVault);
    expect(a.storageAccount).not.toBe(b.storageAccount);
    expect(azureSharedNames("demo", "eastus2").keyVault).not.toBe(azureSharedNames("demo", "westus2").keyVault);
  });

  test("a fleet's uniqueSuffix replaces the hash", () => {
    expect(azureSharedNames("demo", "eastus2", "zz01")).toMatchObject({ keyVault: "kv-demo-zz01", storageAccount: "stdemozz01" });
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
