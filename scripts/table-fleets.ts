/**
 * The fleets whose synthesized attributes the replacement table (review/force-new.json) must
 * classify: the example fleet, the same on HCP Terraform (its hcp-terraform stack), and a variant
 * that switches on what the example leaves off (internal and public Container Apps, denied
 * ranges, Cloud Run without deletion protection, nanobot and sandbox modes, no alerts, a
 * uniqueSuffix, no GitHub federation), also on HCP Terraform. scripts/force-new-table.ts writes
 * the table from them; __tests__/force-new-table.test.ts fails when one of them sets an attribute
 * the table does not classify.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, type TerraformStack } from "cdktf";
import { loadFleet, parseFleet, type Fleet } from "../config/load";
import { buildFleet } from "../constructs/fleet";

const VARIANT = `
name: variant
azure:
  uniqueSuffix: vari01
  containerAppsSubnet: 10.0.2.0/27
gcp:
  project: botfleet-variant
bots:
  - name: vm-plain
    runtime: nanobot
    channels: { discord: { allowFrom: ["1"] } }
    suppressions: [{ rule: BF-TLS-1, reason: "a test fleet without a domain, never deployed" }]
  - name: vm-sandboxed
    domain: vm.example.com
    sandbox: { mode: all, network: true }
    channels: { telegram: { allowFrom: ["1"] }, discord: { dmPolicy: pairing } }
  - name: ca-internal
    target: azure-container-apps
    internalOnly: true
    runtime: nanobot
    channels: { telegram: { allowFrom: ["1"] } }
  - name: ca-public
    target: azure-container-apps
    publicAccess: true
    deniedIpRanges: ["198.51.100.0/24"]
    channels: { discord: { allowFrom: ["1"] } }
  - name: run-open
    target: gcp-cloud-run
    region: europe-west1
    publicAccess: true
    deletionProtection: false
    runtime: nanobot
    channels: { telegram: { allowFrom: ["1"] }, discord: { allowFrom: ["2"] } }
`;

/** Each fleet by a label, loaded as synth loads it. */
export function tableFleets(): Record<string, Fleet> {
  const example = join(__dirname, "..", "fleet.yaml");
  return {
    "the example fleet": loadFleet(example, {}),
    "the example fleet on HCP Terraform": loadFleet(example, { TFC_ORGANIZATION: "acme" }),
    "a variant fleet": parseFleet(VARIANT, "variant.yaml", {}),
    "the variant fleet on HCP Terraform": parseFleet(VARIANT, "variant.yaml", { TFC_ORGANIZATION: "acme" }),
  };
}

/** Terraform's meta-arguments: no provider schema has them. */
const META = new Set(["//", "depends_on", "lifecycle", "provider", "count", "for_each", "connection", "provisioner"]);

/**
 * Calls `visit` with every attribute each resource of a stack's Terraform JSON is given, blocks
 * walked element by element (`template.container.env.name`) and map keys kept (`tags.bot`: the
 * table says which segment is a map).
 */
export function visitAttributes(stack: { resource?: Record<string, Record<string, unknown>> }, visit: (type: string, path: string, value: unknown) => void): void {
  for (const [type, resources] of Object.entries(stack.resource ?? {}))
    for (const body of Object.values(resources)) {
      const walk = (value: unknown, path: string): void => {
        if (Array.isArray(value) && value.some((v) => v !== null && typeof v === "object")) value.forEach((v) => walk(v, path));
        else if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0)
          for (const [k, v] of Object.entries(value)) {
            if (k !== "//" && !(path === "" && META.has(k))) walk(v, path ? `${path}.${k}` : k);
          }
        else visit(type, path, value);
      };
      walk(body, "");
    }
}

/** Every attribute path each resource type is given in a stack's Terraform JSON (visitAttributes). */
export function attributePaths(stack: { resource?: Record<string, Record<string, unknown>> }, into = new Map<string, Set<string>>()): Map<string, Set<string>> {
  visitAttributes(stack, (type, path) => into.set(type, (into.get(type) ?? new Set<string>()).add(path)));
  for (const type of Object.keys(stack.resource ?? {})) if (!into.has(type)) into.set(type, new Set());
  return into;
}

/** The Terraform JSON of every stack of the given fleets (default: tableFleets()), as synth writes it. */
export function tableStacks(fleets: Fleet[] = Object.values(tableFleets())): { resource?: Record<string, Record<string, unknown>> }[] {
  return fleets.flatMap((fleet) => {
    const app = new App({ outdir: join(tmpdir(), "botfleet-table-fleets"), stackTraces: false });
    buildFleet(app, fleet);
    return (app.node.children as TerraformStack[]).map((stack) => stack.toTerraform());
  });
}

/** The attribute paths of every resource type in the given fleets (default: tableFleets()). */
export function emittedAttributes(fleets: Fleet[] = Object.values(tableFleets())): Map<string, Set<string>> {
  const into = new Map<string, Set<string>>();
  for (const stack of tableStacks(fleets)) attributePaths(stack, into);
  return into;
}
