import { CloudBackend, LocalBackend, NamedCloudWorkspace, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { Fleet } from "../config/load";

/**
 * A stack of the fleet: named exactly as `cdktf deploy <name>` expects, with a backend whose
 * configuration is the same on every machine (reviewable in pull requests) and HCP Terraform
 * when the fleet names an organization.
 */
export class FleetStack extends TerraformStack {
  constructor(scope: Construct, name: string, fleet: Fleet) {
    super(scope, name);
    const cloud = fleet.terraformCloud;
    if (cloud) {
      new CloudBackend(this, {
        hostname: cloud.hostname,
        organization: cloud.organization,
        workspaces: new NamedCloudWorkspace(`${cloud.workspacePrefix}-${name}`),
      });
    } else {
      // Terraform runs in cdktf.out/stacks/<name>; keep state beside cdktf.json, as cdktf's
      // default does, but with a relative path so the synthesized JSON is machine-independent.
      new LocalBackend(this, { path: `../../../terraform.${name}.tfstate` });
    }
  }
}

/** Tags every botfleet resource carries: who manages it and which fleet (and bot) it serves. */
export function fleetTags(fleet: string, bot?: string): Record<string, string> {
  return { "managed-by": "botfleet", fleet, ...(bot ? { bot } : {}) };
}

/** Name of the stack holding a cloud's shared resources in one region. */
export function sharedStackName(cloud: "azure" | "gcp", region: string): string {
  return `${cloud}-shared-${region}`;
}
