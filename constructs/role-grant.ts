import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { Construct } from "constructs";

/**
 * How long a stack waits, once, after granting roles that something uses at once: Azure role
 * assignments take effect after minutes, not at once ("Troubleshoot Azure RBAC", Microsoft Learn).
 */
export const ROLE_PROPAGATION_WAIT = "5m";

/**
 * The only built-in roles a bot stack grants (to the bot's own identity), by their IDs, which are
 * the same in every tenant: what a deploying principal needs to be allowed to assign, and no more.
 */
export const BOT_GRANTED_ROLES = {
  "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
  "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  AcrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
} as const;

/**
 * An ABAC condition for "Role Based Access Control Administrator" that lets its holder assign and
 * remove exactly `roleIds` (Microsoft Learn, "Delegate Azure role assignment management to others
 * with conditions").
 */
export function onlyTheseRolesCondition(roleIds: readonly string[]): string {
  const ids = roleIds.join(", ");
  return [
    `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${ids}}))`,
    `((!(ActionMatches{'Microsoft.Authorization/roleAssignments/delete'})) OR (@Resource[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {${ids}}))`,
  ].join(" AND ");
}

export interface RoleGrantProps {
  /** ARM ID of what the role is granted on: a secret, a storage account, a registry. */
  readonly scope: string;
  /** Built-in role name, e.g. "Key Vault Secrets User". */
  readonly role: string;
  /** Object ID of the identity that gets the role. */
  readonly principalId: string;
  /** Why the identity needs it; kept on the assignment (`description`) for whoever audits it. */
  readonly reason: string;
}

/**
 * One Azure role for one managed identity on one scope: the narrowest grant, with its reason. The
 * principal type is set so Azure does not look the principal up in Entra ID first, which fails
 * for an identity created moments earlier ("PrincipalNotFound").
 */
export class RoleGrant extends RoleAssignment {
  constructor(scope: Construct, id: string, props: RoleGrantProps) {
    super(scope, id, {
      scope: props.scope,
      roleDefinitionName: props.role,
      principalId: props.principalId,
      principalType: "ServicePrincipal",
      description: props.reason,
    });
  }
}
