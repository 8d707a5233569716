import { DataAzurermClientConfig } from "@cdktf/provider-azurerm/lib/data-azurerm-client-config";
import { FederatedIdentityCredential } from "@cdktf/provider-azurerm/lib/federated-identity-credential";
import { AzurermProvider } from "@cdktf/provider-azurerm/lib/provider";
import { ResourceGroup } from "@cdktf/provider-azurerm/lib/resource-group";
import { RoleAssignment } from "@cdktf/provider-azurerm/lib/role-assignment";
import { RoleDefinition } from "@cdktf/provider-azurerm/lib/role-definition";
import { UserAssignedIdentity } from "@cdktf/provider-azurerm/lib/user-assigned-identity";
import { IamWorkloadIdentityPool } from "@cdktf/provider-google/lib/iam-workload-identity-pool";
import { IamWorkloadIdentityPoolProvider } from "@cdktf/provider-google/lib/iam-workload-identity-pool-provider";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { ProjectService } from "@cdktf/provider-google/lib/project-service";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ServiceAccountIamMember } from "@cdktf/provider-google/lib/service-account-iam-member";
import { DataTfeOrganization } from "@cdktf/provider-tfe/lib/data-tfe-organization";
import { Project } from "@cdktf/provider-tfe/lib/project";
import { TfeProvider } from "@cdktf/provider-tfe/lib/provider";
import { Team } from "@cdktf/provider-tfe/lib/team";
import { TeamProjectAccess } from "@cdktf/provider-tfe/lib/team-project-access";
import { Variable } from "@cdktf/provider-tfe/lib/variable";
import { Workspace } from "@cdktf/provider-tfe/lib/workspace";
import { WorkspaceSettings } from "@cdktf/provider-tfe/lib/workspace-settings";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import type { Fleet } from "../config/load";
import { cloudOf } from "../targets/registry";
import {
  AZURE_TOKEN_AUDIENCE,
  azureIdentityGroups,
  fleetStacks,
  HCP_TERRAFORM_STACK,
  HCP_TERRAFORM_VERSION,
  hcpTerraformCloudNames,
  oidcSubject,
  projectName,
  RUN_PHASES,
  workspaceName,
  type FleetStackInfo,
  type RunPhase,
} from "../config/terraform-cloud";
import { FleetStack, fleetTags } from "./fleet-stack";
import { BOT_GRANTED_ROLES, onlyTheseRolesCondition } from "./role-grant";
import { deployerRoles } from "./gcp-shared-stack";

/**
 * What the Azure apply identity may do subscription-wide (custom role, no Microsoft.Authorization
 * action), each action for the bot-stack resources that need it. Key Vault secret values are
 * granted on the vaults alone, by the shared stack (HcpTerraformAzureGrants); the roles a bot stack
 * gives its bot's own identity come from a Role Based Access Control Administrator assignment
 * whose condition admits those roles only (BOT_GRANTED_ROLES).
 */
export const AZURE_APPLY_ACTIONS = {
  "*/read": "refreshing what bot stacks manage and looking up the shared resources by name",
  "Microsoft.Resources/subscriptions/resourceGroups/write": "each bot's resource group",
  "Microsoft.Resources/subscriptions/resourceGroups/delete": "removing a bot with cdktf destroy",
  "Microsoft.Compute/virtualMachineScaleSets/*": "VM bots' scale sets",
  "Microsoft.Compute/virtualMachines/*": "the instance Flexible orchestration creates",
  "Microsoft.Compute/disks/*": "the instance's OS disk",
  "Microsoft.Network/networkInterfaces/*": "the instance's network interface",
  "Microsoft.Network/publicIPAddresses/*": "the instance's public IP",
  "Microsoft.Network/virtualNetworks/subnets/join/action": "placing an instance in the shared bot subnet",
  "Microsoft.App/containerApps/*": "Container Apps bots",
  "Microsoft.App/managedEnvironments/join/action": "running an app in the shared environment",
  "Microsoft.ManagedIdentity/userAssignedIdentities/*": "each bot's own identity, and attaching it to the bot's scale set or app",
  "Microsoft.Storage/storageAccounts/write": "each bot's own storage account",
  "Microsoft.Storage/storageAccounts/delete": "removing a bot with cdktf destroy",
  "Microsoft.Storage/storageAccounts/blobServices/containers/*": "the bot's state container in its own account",
  "Microsoft.Storage/storageAccounts/listKeys/action": "the provider reads a storage account's keys when it refreshes it",
  "Microsoft.Insights/metricAlerts/*": "Container Apps restart alerts",
  "Microsoft.Insights/scheduledQueryRules/*": "Container Apps log alerts",
  "Microsoft.Insights/dataCollectionRuleAssociations/*": "linking a VM bot's scale set to the region's syslog rule",
  "Microsoft.Insights/activityLogAlerts/*": "VM bots' alert on their scale set's automatic repairs",
} as const;

/**
 * Taken back out of AZURE_APPLY_ACTIONS' wildcards: no bot stack needs them, and with them an
 * apply could take over identities or VMs beyond the bots' (a federated credential added to any
 * user-assigned identity in the subscription trusts whichever issuer the run names; a run command
 * executes as root on any VM). The operation names are Azure's own (Microsoft Learn, "Azure
 * permissions for Compute" and "for Identity"; the built-in Managed Identity Contributor role lists
 * federatedIdentityCredentials/write apart). azurerm v4.55.0 role_definition_resource.go sends
 * them as permissions.not_actions.
 */
export const AZURE_APPLY_NOT_ACTIONS = {
  "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/*": "trusting another issuer for an identity",
  "Microsoft.Compute/virtualMachines/runCommand/action": "running a command on a VM",
  "Microsoft.Compute/virtualMachines/runCommands/*": "managed run commands on a VM",
  "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action": "running a command on a scale set's VM",
  "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommands/*": "managed run commands on a scale set's VM",
} as const;

/**
 * What the Azure plan identity may do beyond Reader, on each region's shared resource group only
 * (custom role, assigned by the shared stack): the reads a refresh makes that Reader lacks.
 */
export const AZURE_PLAN_PERMISSIONS = {
  actions: {},
  dataActions: {
    "Microsoft.KeyVault/vaults/secrets/getSecret/action": "refreshing azurerm_key_vault_secret reads the secret (key_vault_secret_resource.go, azurerm v4.55.0)",
    "Microsoft.KeyVault/vaults/secrets/readMetadata/action": "listing and reading the bots' secrets' attributes",
  },
} as const;

/**
 * The actions beyond Reader that refreshing a bot stack's resources calls (POSTs: Reader grants
 * reads only), by resource type. A plan refreshes every resource in its stack, and
 * bots' resource groups come and go with the bots, so these are granted subscription-wide.
 * Every type an Azure bot stack holds is either here or among the types whose refresh only reads
 * (__tests__/hcp-terraform.test.ts checks both lists against the synthesized stacks).
 */
export const AZURE_REFRESH_ACTIONS = {
  // Read lists the keys; a 403 is tolerated there, but the data-plane reads that follow (queue
  // properties) need a key (storage_account_resource.go, azurerm v4.55.0).
  azurerm_storage_account: "Microsoft.Storage/storageAccounts/listKeys/action",
  // Read finds the account, then reads the blob through the data plane with the account's key
  // (storage_blob_resource.go, azurerm v4.55.0: BlobsDataPlaneClient, any auth method).
  azurerm_storage_blob: "Microsoft.Storage/storageAccounts/listKeys/action",
  // Read calls ListSecrets and fails the refresh on any error (container_app_resource.go, azurerm
  // v4.55.0): without it every plan after the app's first deploy fails with AuthorizationFailed.
  // The secrets it lists are Key Vault references, not values.
  azurerm_container_app: "Microsoft.App/containerApps/listSecrets/action",
} as const;

/**
 * Google Cloud roles of the plan service account, project-wide: reading, never writing, and no
 * secret payload. A refresh of google_secret_manager_secret_version never calls `:access`: its
 * flatten returns before the call whenever secret_data_wo_version is in state (google v6.50.0
 * google/services/secretmanager/resource_secret_manager_secret_version.go:475-480, the call at
 * :488), and the attribute's schema default 0 (:93-99) puts it there for every version, the
 * generated gateway token's included.
 */
export const GCP_PLAN_ROLES = {
  "roles/viewer": "refreshing services, buckets, service accounts and secrets' metadata",
  "roles/storage.bucketViewer": "refreshing the state bucket's settings",
  "roles/iam.securityReviewer": "refreshing the IAM policies bot stacks set (bucket, secret, service, account)",
} as const;

/** Roles of the apply service account: the GitHub deployer's, less pushing images (a bot stack pushes none). */
export function gcpApplyRoles(fleet: Fleet): string[] {
  return Object.keys(deployerRoles(fleet)).filter((r) => r !== "roles/artifactregistry.writer");
}

/**
 * The HCP Terraform teams whose tokens the workflows hold, with custom access on the fleet's
 * project (so on every workspace in it, present and future): `plan` for pull requests, whose
 * branches can rewrite their own workflow and so reach any repository secret, and `deploy` for the
 * deploy job, whose token is a secret of the protected GitHub environment only. The values are
 * those of HCP Terraform's Plan and Write workspace roles less what neither job needs
 * (developer.hashicorp.com/terraform/cloud-docs/users-teams-organizations/permissions/workspace):
 * no variable writes (a run's credentials variables stay as this stack set them), no state writes
 * (remote runs write their own), no Sentinel mocks, run tasks, moves or deletes, and no workspace
 * creation (a missing workspace fails the run instead of appearing without credentials). tfe
 * v0.71.0 internal/provider/resource_tfe_team_project_access.go:115-207 sends them as
 * workspace_access, :64-112 as project_access. Runs: "plan" queues plans, never applies.
 */
export const CI_TEAM_ACCESS = {
  plan: { runs: "plan", locking: false },
  deploy: { runs: "apply", locking: true },
} as const;

/** APIs the token exchange needs before the pool exists (the shared stack enables them too; neither disables them). */
const GCP_FEDERATION_APIS = ["iam.googleapis.com", "iamcredentials.googleapis.com", "sts.googleapis.com"] as const;

/**
 * The fleet on HCP Terraform (`hcp-terraform`), applied once by a person with their own
 * credentials (and again when bots are added): a project with one workspace per stack, named as
 * the stacks' `cloud` blocks name them; bot workspaces run remotely with dynamic credentials,
 * shared ones run where their owner is (Local execution: they grant roles, which no run
 * identity may). On Azure a plan and an apply identity trust HCP Terraform's tokens only for the
 * organization, project, workspace and run phase; on Google Cloud a workload identity pool admits
 * only the organization and the fleet's workspaces by their IDs, and each service account only its
 * phase. No cloud key and no secret value is stored anywhere. This stack's own state lives in a
 * workspace it creates, in Local execution (it runs as its owner): the first apply keeps it
 * locally, then scripts/hcp-bootstrap.sh pushes it there (`fleet.terraformCloud.bootstrap`). That
 * state holds no secret.
 */
export class HcpTerraformStack extends FleetStack {
  readonly workspaces: Record<string, Workspace> = {};

  constructor(scope: Construct, fleet: Fleet) {
    const cloud = fleet.terraformCloud!;
    // The cloud backend needs the workspace this stack creates: its first apply keeps the state locally.
    super(scope, HCP_TERRAFORM_STACK, cloud.bootstrap ? { ...fleet, terraformCloud: undefined } : fleet);
    const names = hcpTerraformCloudNames(fleet.name);
    const stacks = fleetStacks(fleet.bots);
    const project = projectName(fleet.name);
    const workspaceOf = (stack: string) => workspaceName(cloud.workspacePrefix, stack);
    const subject = (stack: string, phase: RunPhase) => oidcSubject(cloud.organization, project, workspaceOf(stack), phase);
    const remote = (c: "azure" | "gcp") => stacks.filter((s) => s.bot && s.cloud === c);

    new TfeProvider(this, "tfe", { hostname: cloud.hostname, organization: cloud.organization });
    const tfeProject = new Project(this, "project", {
      name: project,
      description: `botfleet fleet ${fleet.name}: one workspace per stack`,
    });
    // One workspace per stack, named as its cloud block names it. Bots run remotely; the rest
    // (shared stacks and this one, whose state lives in its own after the bootstrap) run as their
    // owner, in Local execution: they grant roles and create trust, which no run identity may.
    const workspace = (stack: string, description: string, tags: Record<string, string>, executionMode: "remote" | "local") => {
      const created = new Workspace(this, `workspace-${stack}`, {
        name: workspaceOf(stack),
        projectId: tfeProject.id,
        description,
        terraformVersion: HCP_TERRAFORM_VERSION,
        // cdktf runs Terraform in cdktf.out/stacks/<stack> and the CLI uploads that directory;
        // a working directory would make it upload that many parents (the whole repository).
        workingDirectory: "",
        autoApply: false,
        queueAllRuns: false,
        tags: { fleet: fleet.name, ...tags },
      });
      new WorkspaceSettings(this, `workspace-settings-${stack}`, { workspaceId: created.id, executionMode });
      return created;
    };
    for (const stack of stacks)
      this.workspaces[stack.name] = stack.bot
        ? workspace(stack.name, `Bot ${stack.bot.name} (${stack.bot.target})`, { bot: stack.bot.name, target: stack.bot.target }, "remote")
        : workspace(stack.name, `Shared ${stack.cloud} resources; applied by their owner`, { shared: stack.cloud }, "local");
    workspace(HCP_TERRAFORM_STACK, "The workspaces and the clouds' trust in their runs; applied by the fleet's owner (scripts/hcp-bootstrap.sh)", { shared: HCP_TERRAFORM_STACK }, "local");
    // The teams' tokens are made by hand (a tfe_team_token would keep the token in this state).
    for (const [role, { runs, locking }] of Object.entries(CI_TEAM_ACCESS)) {
      const team = new Team(this, `team-${role}`, {
        name: names.team(role as keyof typeof CI_TEAM_ACCESS),
        visibility: "secret",
      });
      new TeamProjectAccess(this, `team-${role}-access`, {
        teamId: team.id,
        projectId: tfeProject.id,
        access: "custom",
        projectAccess: [{ settings: "read", teams: "none", variableSets: "none" }],
        workspaceAccess: [{ runs, locking, variables: "read", stateVersions: "read", sentinelMocks: "none", create: false, move: false, delete: false, runTasks: false }],
      });
    }
    const env = (stack: FleetStackInfo, key: string, value: string, description: string) =>
      new Variable(this, `${stack.name}-${key}`, { workspaceId: this.workspaces[stack.name].id, category: "env", key, value, description });

    const azureBots = remote("azure");
    if (azureBots.length > 0) {
      new AzurermProvider(this, "azurerm", { features: [{}] });
      const client = new DataAzurermClientConfig(this, "client", {});
      const subscription = `/subscriptions/${client.subscriptionId}`;
      // The identities live beside the fleet's first Azure region; they serve every region.
      const region = fleet.bots
        .filter((b) => cloudOf(b.target) === "azure")
        .map((b) => b.region)
        .sort()[0];
      const tags = fleetTags(fleet.name);
      const group = new ResourceGroup(this, "azure-resource-group", { name: names.azure.resourceGroup, location: region, tags });

      // Each 20 Azure bots get their own pair of identities (an identity holds at most 20
      // federated credentials), all pairs with the same roles; group 0 keeps the construct IDs
      // and names of before.
      const groupOf = azureIdentityGroups(fleet.bots);
      const groupCount = Math.max(...groupOf.values()) + 1;
      const suffix = (g: number) => (g === 0 ? "" : `-${g + 1}`);
      const identityGroups = Array.from(
        { length: groupCount },
        (_, g) =>
          Object.fromEntries(
            RUN_PHASES.map((phase) => [
              phase,
              new UserAssignedIdentity(this, `azure-${phase}-identity${suffix(g)}`, { name: names.azure.identity(phase, g), location: region, resourceGroupName: group.name, tags }),
            ]),
          ) as Record<RunPhase, UserAssignedIdentity>,
      );

      new RoleDefinition(this, "azure-plan-role", {
        name: names.azure.planRole,
        scope: subscription,
        description: `HCP Terraform plans of the ${fleet.name} fleet: the reads a refresh needs beyond Reader (assigned on shared resource groups)`,
        permissions: [{ actions: Object.keys(AZURE_PLAN_PERMISSIONS.actions), dataActions: Object.keys(AZURE_PLAN_PERMISSIONS.dataActions) }],
        assignableScopes: [subscription],
      });
      const applyRole = new RoleDefinition(this, "azure-apply-role", {
        name: names.azure.applyRole,
        scope: subscription,
        description: `HCP Terraform applies of the ${fleet.name} fleet's bot stacks; grants no roles`,
        permissions: [{ actions: Object.keys(AZURE_APPLY_ACTIONS), notActions: Object.keys(AZURE_APPLY_NOT_ACTIONS) }],
        assignableScopes: [subscription],
      });
      const planRefresh = new RoleDefinition(this, "azure-plan-refresh-role", {
        name: names.azure.planRefreshRole,
        scope: subscription,
        description: `HCP Terraform plans of the ${fleet.name} fleet: the actions beyond reads that refreshing bot stacks calls`,
        permissions: [{ actions: [...new Set(Object.values(AZURE_REFRESH_ACTIONS))] }],
        assignableScopes: [subscription],
      });
      identityGroups.forEach((identities, g) => {
        new RoleAssignment(this, `azure-plan-refresh${suffix(g)}`, {
          scope: subscription,
          roleDefinitionId: planRefresh.roleDefinitionResourceId,
          principalId: identities.plan.principalId,
          principalType: "ServicePrincipal",
        });
        new RoleAssignment(this, `azure-plan-reader${suffix(g)}`, {
          scope: subscription,
          roleDefinitionName: "Reader",
          principalId: identities.plan.principalId,
          principalType: "ServicePrincipal",
        });
        new RoleAssignment(this, `azure-apply-deployer${suffix(g)}`, {
          scope: subscription,
          roleDefinitionId: applyRole.roleDefinitionResourceId,
          principalId: identities.apply.principalId,
          principalType: "ServicePrincipal",
        });
        // Bot stacks give each bot's own identity its roles; the apply identity may assign those
        // roles and no others (no Owner or User Access Administrator, which may grant anything).
        new RoleAssignment(this, `azure-apply-grants-bot-roles${suffix(g)}`, {
          scope: subscription,
          roleDefinitionName: "Role Based Access Control Administrator",
          principalId: identities.apply.principalId,
          principalType: "ServicePrincipal",
          conditionVersion: "2.0",
          condition: onlyTheseRolesCondition(Object.values(BOT_GRANTED_ROLES)),
          description: "HCP Terraform applies of bot stacks grant each bot's own identity its roles, and only these",
        });
      });

      for (const stack of azureBots) {
        const identities = identityGroups[groupOf.get(stack.name)!];
        // Azure refuses concurrent credential writes on one identity; azurerm v4.55.0 serializes
        // them per identity (locks.ByID in federated_identity_credential_resource.go). A credential
        // matches the token's subject alone (:45-80: issuer, audience, subject), which holds the
        // names, so unlike the Google Cloud pool it cannot pin the organization's or workspace's ID.
        for (const phase of RUN_PHASES)
          new FederatedIdentityCredential(this, `azure-${phase}-${stack.name}`, {
            name: `${workspaceOf(stack.name)}-${phase}`,
            parentId: identities[phase].id,
            resourceGroupName: group.name,
            issuer: `https://${cloud.hostname}`,
            audience: [AZURE_TOKEN_AUDIENCE],
            subject: subject(stack.name, phase),
          });
        env(stack, "TFC_AZURE_PROVIDER_AUTH", "true", "Azure dynamic credentials: no stored key");
        env(stack, "TFC_AZURE_PLAN_CLIENT_ID", identities.plan.clientId, "Plans (also speculative ones) run as the read-only identity");
        env(stack, "TFC_AZURE_APPLY_CLIENT_ID", identities.apply.clientId, "Applies run as the deploying identity");
        env(stack, "ARM_SUBSCRIPTION_ID", client.subscriptionId, "Subscription the bot deploys into");
        env(stack, "ARM_TENANT_ID", client.tenantId, "Tenant of the identities");
      }
      identityGroups.forEach((identities, g) => {
        new TerraformOutput(this, `azure-plan-client-id${suffix(g)}`, { value: identities.plan.clientId });
        new TerraformOutput(this, `azure-apply-client-id${suffix(g)}`, { value: identities.apply.clientId });
      });
    }

    const gcpBots = remote("gcp");
    if (gcpBots.length > 0) {
      const gcpProject = fleet.gcp!.project;
      new GoogleProvider(this, "google", { project: gcpProject });
      const apis = GCP_FEDERATION_APIS.map((service) => new ProjectService(this, `api-${service.split(".")[0]}`, { service, disableOnDestroy: false, disableDependentServices: false }));
      const pool = new IamWorkloadIdentityPool(this, "gcp-pool", {
        workloadIdentityPoolId: names.gcp.workloadIdentityPool,
        displayName: `HCP Terraform ${fleet.name}`.slice(0, 32),
        description: `HCP Terraform runs of the ${fleet.name} fleet (organization ${cloud.organization})`,
        dependsOn: apis,
      });
      // The issuer serves every HCP Terraform organization: the condition keeps all but this
      // organization's Cloud Run workspaces out, by their IDs. Names can be renamed, and a name
      // given up can be taken by another organization, whose tokens would then match; the tokens
      // carry terraform_organization_id and terraform_workspace_id beside the names
      // (developer.hashicorp.com/terraform/cloud-docs/workspaces/dynamic-provider-credentials/
      // workload-identity-tokens). The organization's ID is its external_id (tfe v0.71.0
      // internal/provider/data_source_organization.go:110-112).
      const organization = new DataTfeOrganization(this, "organization", { name: cloud.organization });
      const workspaceList = gcpBots.map((s) => `"${this.workspaces[s.name].id}"`).join(", ");
      const provider = new IamWorkloadIdentityPoolProvider(this, "gcp-provider", {
        workloadIdentityPoolId: pool.workloadIdentityPoolId,
        workloadIdentityPoolProviderId: names.gcp.provider,
        displayName: "HCP Terraform",
        attributeMapping: {
          "google.subject": "assertion.sub",
          "attribute.terraform_organization_name": "assertion.terraform_organization_name",
          "attribute.terraform_project_name": "assertion.terraform_project_name",
          "attribute.terraform_workspace_name": "assertion.terraform_workspace_name",
          "attribute.terraform_run_phase": "assertion.terraform_run_phase",
        },
        attributeCondition: [`assertion.terraform_organization_id == "${organization.externalId}"`, `assertion.terraform_workspace_id in [${workspaceList}]`].join(" && "),
        oidc: { issuerUri: `https://${cloud.hostname}` },
      });

      const roles: Record<RunPhase, readonly string[]> = { plan: Object.keys(GCP_PLAN_ROLES), apply: gcpApplyRoles(fleet) };
      const accounts = Object.fromEntries(
        RUN_PHASES.map((phase) => {
          const account = new ServiceAccount(this, `gcp-${phase}-account`, {
            accountId: names.gcp.serviceAccount(phase),
            displayName: `botfleet ${fleet.name} HCP Terraform ${phase}`,
            description: `HCP Terraform ${phase} phases of the ${fleet.name} fleet's Cloud Run workspaces`,
            dependsOn: apis,
          });
          for (const role of roles[phase])
            new ProjectIamMember(this, `gcp-${phase}-${role.split("/")[1].replace(/\./g, "-")}`, { project: gcpProject, role, member: `serviceAccount:${account.email}` });
          // Each account admits exactly one subject per workspace: that workspace in its phase.
          for (const stack of gcpBots)
            new ServiceAccountIamMember(this, `gcp-${phase}-${stack.name}`, {
              serviceAccountId: account.name,
              role: "roles/iam.workloadIdentityUser",
              member: `principal://iam.googleapis.com/${pool.name}/subject/${subject(stack.name, phase)}`,
            });
          return [phase, account];
        }),
      ) as Record<RunPhase, ServiceAccount>;

      for (const stack of gcpBots) {
        env(stack, "TFC_GCP_PROVIDER_AUTH", "true", "Google Cloud dynamic credentials: no stored key");
        env(stack, "TFC_GCP_WORKLOAD_PROVIDER_NAME", provider.name, "The fleet's HCP Terraform workload identity provider");
        env(stack, "TFC_GCP_PLAN_SERVICE_ACCOUNT_EMAIL", accounts.plan.email, "Plans (also speculative ones) run as the read-only account");
        env(stack, "TFC_GCP_APPLY_SERVICE_ACCOUNT_EMAIL", accounts.apply.email, "Applies run as the deploying account");
      }
      new TerraformOutput(this, "gcp-workload-provider", { value: provider.name });
    }

    new TerraformOutput(this, "project-id", { value: tfeProject.id });
  }
}
