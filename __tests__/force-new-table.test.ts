import { readFileSync } from "node:fs";
import { join } from "node:path";
import { entriesFor, FORCE_NEW_TABLE, type ForceNewTable } from "../review/replacement";
import { emittedAttributes, tableFleets } from "../scripts/table-fleets";
import { ROOT } from "./support/fleet";

/**
 * The replacement table (review/force-new.json, written by `npm run table:force-new` from the
 * providers' Go source, which CI does not have) must classify every attribute botfleet emits:
 * this suite reads only the checked-in table and the synthesized fleets of scripts/table-fleets.ts.
 */

/** "<type> <path>" of every emitted attribute the table does not classify. */
function unclassified(emitted: Map<string, Set<string>>, table: ForceNewTable): string[] {
  return [...emitted].flatMap(([type, paths]) => [...paths].filter((p) => entriesFor(type, p, table).length !== 1).map((p) => `${type} ${p}`));
}

const emitted = emittedAttributes();

test("the table classifies every attribute of every resource type the fleets emit", () => {
  expect(Object.keys(tableFleets())).toHaveLength(4);
  expect(emitted.size).toBeGreaterThan(30);
  expect(unclassified(emitted, FORCE_NEW_TABLE)).toEqual([]);
});

test("an attribute the table does not know is reported by type and path", () => {
  const extra = new Map([...emitted, ["azurerm_storage_account", new Set([...emitted.get("azurerm_storage_account")!, "sftp_enabled"])]]);
  expect(unclassified(extra, FORCE_NEW_TABLE)).toEqual(["azurerm_storage_account sftp_enabled"]);
  const withNewType = new Map([...emitted, ["azurerm_public_ip", new Set(["name"])]]);
  expect(unclassified(withNewType, FORCE_NEW_TABLE)).toEqual(["azurerm_public_ip name"]);
});

test("every entry cites the provider source that decides it", () => {
  for (const [type, { provider, attributes }] of Object.entries(FORCE_NEW_TABLE.resources)) {
    expect(type.startsWith(`${provider}_`)).toBe(true);
    for (const [path, e] of Object.entries(attributes)) {
      expect({ path, change: e.change }).toEqual({ path, change: expect.stringMatching(/^(update|replace|replace-if)$/) });
      expect(e.source).toMatch(/^[\w./-]+\.go:\d+$/);
    }
  }
});

test("the table was read at the provider versions the installed bindings were built from", () => {
  for (const [provider, tag] of Object.entries(FORCE_NEW_TABLE.providers)) {
    const pkg = JSON.parse(readFileSync(join(ROOT, "node_modules", "@cdktf", `provider-${provider}`, "package.json"), "utf8"));
    // package.json's cdktf.provider.version is the provider release the binding was generated from.
    expect(`${provider} v${pkg.cdktf.provider.version}`).toBe(`${provider} ${tag}`);
  }
});

test("the replacements the review most needs to see, at their sources", () => {
  const at = (type: string, path: string) => {
    const [{ entry }] = entriesFor(type, path);
    return `${entry.change} ${entry.source}`;
  };
  // Global names moved by azure.uniqueSuffix: the state's account and the region's vault.
  expect(at("azurerm_storage_account", "name")).toBe("replace internal/services/storage/storage_account_resource.go:103");
  expect(at("azurerm_key_vault", "name")).toBe("replace internal/services/keyvault/key_vault_resource.go:69");
  // A Cloud Run bot's region: its service and its state bucket.
  expect(at("google_cloud_run_v2_service", "location")).toBe("replace google/services/cloudrunv2/resource_cloud_run_v2_service.go:64");
  expect(at("google_storage_bucket", "location")).toBe("replace google/services/storage/resource_storage_bucket.go:146");
  // A tier: the VM's size and the container's resources change in place.
  expect(at("azurerm_orchestrated_virtual_machine_scale_set", "sku_name")).toMatch(/^update /);
  expect(at("google_cloud_run_v2_service", "template.containers[0].resources.limits.memory")).toMatch(/^update /);
  // Map keys and block indexes resolve to the attribute that holds them.
  expect(at("azurerm_key_vault", "tags.fleet")).toMatch(/^update /);
});
