import { DataAzurermUserAssignedIdentity } from "@cdktf/provider-azurerm/lib/data-azurerm-user-assigned-identity";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { Construct } from "constructs";
import { hcpTerraformCloudNames } from "../config/terraform-cloud";

export interface HcpTerraformAzureGrantsProps {
  readonly fleet: string;
  /** The region's shared resource group and Key Vault. */
  readonly resourceGroupId: string;
  readonly keyVaultId: string;
  /** The identity groups of the region's Azure bots (config/terraform-cloud.ts azureIdentityGroups). @default [0] */
  readonly groups?: readonly number[];
}

/**
 * What HCP Terraform's run identities (created by the `hcp-terraform` stack, found here by name)
 * may do on one region's shared resources, and nothing beyond them: the apply identity writes
 * the bots' Key Vault secrets; the plan identity reads what a refresh reads that Reader does not
 * (the custom plan role). Granted here,
 * by the shared stack's owner, because no run identity may grant roles.
 */
export class HcpTerraformAzureGrants extends Construct {
  constructor(scope: Construct, id: string, props: HcpTerraformAzureGrantsProps) {
    super(scope, id);
    const names = hcpTerraformCloudNames(props.fleet).azure;
    const grant = (name: string, scope: string, role: string, principalId: string) =>
      new RoleAssignment(this, name, { scope, roleDefinitionName: role, principalId, principalType: "ServicePrincipal" });
    for (const g of props.groups ?? [0]) {
      // Group 0 keeps the construct IDs of before groups existed.
      const suffix = g === 0 ? "" : `-${g + 1}`;
      const identity = (phase: "plan" | "apply") => new DataAzurermUserAssignedIdentity(this, `${phase}-identity${suffix}`, { name: names.identity(phase, g), resourceGroupName: names.resourceGroup });
      grant(`apply-writes-secrets${suffix}`, props.keyVaultId, "Key Vault Secrets Officer", identity("apply").principalId);
      grant(`plan-refreshes-shared${suffix}`, props.resourceGroupId, names.planRole, identity("plan").principalId);
    }
  }
}
