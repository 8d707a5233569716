import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { Construct } from "constructs";

/**
 * How long a stack waits, once, after granting roles that something uses at once: Azure role
 * assignments take effect after minutes, not at once ("Troubleshoot Azure RBAC", Microsoft Learn).
 */
export const ROLE_PROPAGATION_WAIT = "5m";

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
