import { shortHash } from "./names";
import { sharedStackName, type Cloud } from "../contracts";
import { CLOUDS_IN_ORDER, cloudOf } from "../targets/registry";
import type { FleetFile } from "./schema";

/**
 * HCP Terraform facts and names: the workspace of each stack, the project that holds them, and
 * the OIDC subjects its runs present to Azure and Google Cloud. The bootstrap stack, the backends
 * and the fleet file's checks all derive from here, so a workspace name cannot drift between the
 * `cloud` block that uses it and the trust that admits it.
 */

/**
 * The stack that creates the workspaces and the clouds' trust in them. Its state lives in a
 * workspace it creates itself (Local execution), so its first apply keeps the state locally: with
 * HCP_BOOTSTRAP_ENV=1, which scripts/hcp-bootstrap.sh sets, then pushes that state there.
 */
export const HCP_TERRAFORM_STACK = "hcp-terraform";
export const HCP_BOOTSTRAP_ENV = "BOTFLEET_HCP_BOOTSTRAP";

/**
 * Whether a stack is one only an owner's rights apply: hcp-terraform and the shared stacks grant
 * roles and trust (scripts/owner-stacks.sh matches the same names).
 */
export const isOwnerStack = (stack: string): boolean => stack === HCP_TERRAFORM_STACK || CLOUDS_IN_ORDER.some((cloud) => stack.startsWith(sharedStackName(cloud, "")));

/**
 * Terraform version of every workspace: 1.11 brings the write-only attributes the first secret
 * values use; the workflows pin the same release (a test keeps them equal).
 */
export const HCP_TERRAFORM_VERSION = "1.11.4";

/** HCP Terraform's longest workspace name (its workspace-naming docs: 90 characters of letters, digits, - and _). */
export const WORKSPACE_NAME_MAX = 90;

/**
 * Organization names: letters, digits, `-` and `_` (HCP Terraform's rule), at most 40 characters
 * as botfleet keeps them, so that every OIDC subject stays short enough for Google Cloud.
 */
export const ORGANIZATION_NAME = /^[A-Za-z0-9_-]{1,40}$/;
export const ORGANIZATION_RULE = "1-40 letters, digits, - and _ (HCP Terraform's rule for organization names)";

/** Google Cloud maps `assertion.sub` to google.subject, which may hold at most 127 bytes. */
export const GOOGLE_SUBJECT_MAX = 127;

/**
 * A user-assigned identity holds at most 20 federated identity credentials (Microsoft Entra
 * limits, "Federated identity credentials"); botfleet gives each Azure bot workspace one per run
 * phase, so each 20 Azure bots, in fleet order, get a plan and an apply identity of their own
 * (azureIdentityGroup), all with the same roles.
 */
export const AZURE_FEDERATED_CREDENTIALS_MAX = 20;

/** The identity group (0, 1, ...) of each Azure bot of the fleet: each 20 in fleet order share one. */
export function azureIdentityGroups(bots: readonly { name: string; target: string }[]): Map<string, number> {
  return new Map(bots.filter((b) => cloudOf(b.target) === "azure").map((b, i) => [b.name, Math.floor(i / AZURE_FEDERATED_CREDENTIALS_MAX)]));
}

/** The audience HCP Terraform puts in its Azure tokens by default (TFC_AZURE_RUN_AUDIENCE unset). */
export const AZURE_TOKEN_AUDIENCE = "api://AzureADTokenExchange";

export type RunPhase = "plan" | "apply";
export const RUN_PHASES: readonly RunPhase[] = ["plan", "apply"];

/** `<prefix>-<stack>`: the workspace of a stack, in its `cloud` block and in the bootstrap stack. */
export function workspaceName(prefix: string, stack: string): string {
  return `${prefix}-${stack}`;
}

/** The HCP Terraform project that holds the fleet's workspaces (3-40 characters, tfe provider v0.71.0 resource_tfe_project.go). */
export function projectName(fleet: string): string {
  return `botfleet-${fleet}`;
}

/** The `sub` claim of an HCP Terraform run's identity token: organization, project, workspace and phase. */
export function oidcSubject(organization: string, project: string, workspace: string, phase: RunPhase): string {
  return `organization:${organization}:project:${project}:workspace:${workspace}:run_phase:${phase}`;
}

/** Names of the cloud resources that let HCP Terraform runs in, derived from the fleet name only. */
export function hcpTerraformCloudNames(fleet: string) {
  const suffix = shortHash(fleet, HCP_TERRAFORM_STACK);
  return {
    azure: {
      resourceGroup: `rg-${fleet}-hcp-terraform`,
      /** Group 0 keeps the names of before groups existed; group n > 0 ends in `-<n + 1>`. */
      identity: (phase: RunPhase, group = 0) => `id-${fleet}-tfc-${phase}${group === 0 ? "" : `-${group + 1}`}`,
      /** Custom roles are unique per tenant, hence the fleet in the name. */
      planRole: `botfleet ${fleet} HCP Terraform plan`,
      applyRole: `botfleet ${fleet} HCP Terraform apply`,
      planRefreshRole: `botfleet ${fleet} HCP Terraform plan (refresh actions)`,
    },
    gcp: {
      // Pool: 4-32 of [a-z0-9-], not starting with "gcp-"; accounts: 6-30, starting with a letter.
      workloadIdentityPool: `tfc-${fleet.slice(0, 20).replace(/-+$/, "")}-${suffix}`,
      provider: "hcp-terraform",
      serviceAccount: (phase: RunPhase) => `tfc-${phase}-${suffix}`,
    },
    /** The HCP Terraform teams whose tokens the workflows hold (pull requests: plan; deploys: apply). */
    team: (role: "plan" | "deploy") => `botfleet-${fleet}-${role}`,
  };
}

/** One stack of the fleet as HCP Terraform sees it. */
export interface FleetStackInfo {
  readonly name: string;
  readonly cloud: Cloud;
  /** Present for bot stacks, which run remotely; shared stacks run where their owner is. */
  readonly bot?: { readonly name: string; readonly target: string };
}

/** Every stack buildFleet creates, in its order (kept equal by a test), without the bootstrap stack. */
export function fleetStacks(bots: readonly { name: string; target: string; region: string }[]): FleetStackInfo[] {
  const regionsOf = (cloud: Cloud) => [...new Set(bots.filter((b) => cloudOf(b.target) === cloud).map((b) => b.region))].sort();
  return [
    ...CLOUDS_IN_ORDER.flatMap((cloud) => regionsOf(cloud).map((r) => ({ name: sharedStackName(cloud, r), cloud }))),
    ...bots.map((b) => ({ name: b.name, cloud: cloudOf(b.target), bot: { name: b.name, target: b.target } })),
  ];
}

export interface TerraformCloudProblem {
  readonly path: (string | number)[];
  readonly message: string;
}

/**
 * What HCP Terraform or the clouds would reject of a fleet on HCP Terraform, found at synth:
 * a missing or malformed organization, a workspace name over the limit, an OIDC subject too long
 * for Google Cloud.
 * `bots` carry their resolved target and region.
 */
export function terraformCloudProblems(file: FleetFile, bots: readonly { name: string; target: string; region: string }[], env: NodeJS.ProcessEnv): TerraformCloudProblem[] {
  const fromFile = file.terraformCloud?.organization;
  const organization = fromFile ?? env.TFC_ORGANIZATION;
  if (organization === undefined || organization === "") {
    if (file.terraformCloud === undefined) return [];
    return [{ path: ["terraformCloud", "organization"], message: "is required when terraformCloud is set: name your HCP Terraform organization here, or set TFC_ORGANIZATION" }];
  }
  if (!ORGANIZATION_NAME.test(organization)) {
    const where = fromFile !== undefined ? "" : " (from TFC_ORGANIZATION)";
    return [{ path: ["terraformCloud", "organization"], message: `${JSON.stringify(organization)}${where} is not an HCP Terraform organization name: use ${ORGANIZATION_RULE}` }];
  }
  const problems: TerraformCloudProblem[] = [];
  const prefix = file.terraformCloud?.workspacePrefix ?? file.name;
  const project = projectName(file.name);
  const own = workspaceName(prefix, HCP_TERRAFORM_STACK);
  if (own.length > WORKSPACE_NAME_MAX)
    problems.push({
      path: ["terraformCloud", "workspacePrefix"],
      message: `makes the workspace name "${own}" ${own.length} characters long, over HCP Terraform's ${WORKSPACE_NAME_MAX}; shorten terraformCloud.workspacePrefix`,
    });
  for (const stack of fleetStacks(bots)) {
    const workspace = workspaceName(prefix, stack.name);
    const botIndex = file.bots.findIndex((b) => b.name === stack.name);
    const path = botIndex >= 0 && file.terraformCloud?.workspacePrefix === undefined ? ["bots", botIndex, "name"] : ["terraformCloud", "workspacePrefix"];
    if (workspace.length > WORKSPACE_NAME_MAX) {
      problems.push({
        path,
        message: `makes the workspace name "${workspace}" ${workspace.length} characters long, over HCP Terraform's ${WORKSPACE_NAME_MAX}; shorten terraformCloud.workspacePrefix or the bot name`,
      });
      continue;
    }
    const subject = oidcSubject(organization, project, workspace, "apply");
    if (stack.bot && stack.cloud === "gcp" && Buffer.byteLength(subject) > GOOGLE_SUBJECT_MAX)
      problems.push({
        path,
        message: `makes the OIDC subject "${subject}" ${Buffer.byteLength(subject)} bytes long, over the ${GOOGLE_SUBJECT_MAX} Google Cloud accepts as google.subject; shorten terraformCloud.workspacePrefix, the bot name or the organization`,
      });
  }
  return problems;
}
