import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { parse } from "yaml";
import { FleetConfigError, parseFleet } from "../config/load";
import { HCP_TERRAFORM_VERSION, hcpTerraformCloudNames } from "../config/terraform-cloud";
import { BOT_GRANTED_ROLES } from "../constructs/role-grant";
import { buildFleet } from "../constructs/fleet";
import { AZURE_APPLY_ACTIONS, AZURE_APPLY_NOT_ACTIONS, AZURE_REFRESH_ACTIONS, GCP_PLAN_ROLES } from "../constructs/hcp-terraform-stack";
import { deployerRoles } from "../constructs/gcp-shared-stack";
import { exampleFleet, resources, ROOT, synthFleet, type StackJson } from "./support/fleet";
import { terraformToken, tokenVariable } from "../scripts/hcp-secret";

const fleet = exampleFleet({ TFC_ORGANIZATION: "acme" });
const { app, stacks } = synthFleet(fleet);
const hcp = stacks["hcp-terraform"];
const names = hcpTerraformCloudNames("demo");

const STACKS = ["azure-shared-eastus2", "bot-alpha", "bot-beta", "bot-delta", "bot-epsilon", "bot-gamma", "gcp-shared-us-central1"];
const AZURE_BOTS = ["bot-alpha", "bot-beta", "bot-delta", "bot-epsilon"];
const subject = (workspace: string, phase: string) => `organization:acme:project:botfleet-demo:workspace:${workspace}:run_phase:${phase}`;

/** tfe_workspace by stack, through the id of each tfe_workspace resource. */
function workspaceOf(stack: string): StackJson {
  return hcp.resource.tfe_workspace[`workspace-${stack}`];
}
/** The env variables of one workspace as key -> value. */
function envOf(stack: string): Record<string, string> {
  const ref = `\${tfe_workspace.workspace-${stack}.id}`;
  return Object.fromEntries(
    resources(hcp, "tfe_variable")
      .filter((v) => v.workspace_id === ref)
      .map((v) => {
        expect(v.category).toBe("env");
        return [v.key, v.value];
      }),
  );
}

describe("hcp-terraform: workspaces", () => {
  test("one workspace per stack, named exactly as that stack's cloud block names it", () => {
    const workspaces = resources(hcp, "tfe_workspace");
    expect(workspaces.map((w) => w.name).sort()).toEqual([...STACKS, "hcp-terraform"].map((s) => `demo-${s}`).sort());
    for (const stack of [...STACKS, "hcp-terraform"]) expect(workspaceOf(stack).name).toBe(stacks[stack].terraform.cloud.workspaces.name);
    expect(Object.keys(stacks).sort()).toEqual([...STACKS, "hcp-terraform"].sort());
    expect(resources(hcp, "tfe_project")).toEqual([{ name: "botfleet-demo", description: "botfleet fleet demo: one workspace per stack" }]);
    for (const w of workspaces) expect(w.project_id).toBe("${tfe_project.project.id}");
  });

  // `terraform init` creates a missing workspace itself, in the cloud block's project or else the
  // organization's default one (terraform v1.11 internal/cloud/backend.go, StateMgr).
  test("every stack's cloud block names the fleet's project, in the JSON and in the HCL (`--hcl`)", () => {
    for (const stack of [...STACKS, "hcp-terraform"]) {
      expect(stacks[stack].terraform.cloud.workspaces).toEqual({ name: `demo-${stack}`, project: "botfleet-demo" });
      const { hcl } = (app.node.findChild(stack) as unknown as { toHclTerraform(): { hcl: string } }).toHclTerraform();
      expect(hcl).toMatch(/workspaces \{\s*name\s*=\s*"demo-[a-z0-9-]+"\s*project\s*=\s*"botfleet-demo"\s*\}/);
    }
  });

  test("bot workspaces run remotely, shared ones locally (their owner applies them), none auto-applies", () => {
    const modes = Object.fromEntries(resources(hcp, "tfe_workspace_settings").map((s) => [s.workspace_id, s.execution_mode]));
    for (const stack of [...STACKS, "hcp-terraform"]) expect([stack, modes[`\${tfe_workspace.workspace-${stack}.id}`]]).toEqual([stack, stack.startsWith("bot-") ? "remote" : "local"]);
    for (const w of resources(hcp, "tfe_workspace")) {
      expect(w.auto_apply).toBe(false);
      expect(w.terraform_version).toBe(HCP_TERRAFORM_VERSION);
      // The CLI uploads the directory it runs in (cdktf.out/stacks/<stack>); a working directory
      // would make it upload that many parents (terraform internal/cloud/backend_plan.go).
      expect(w.working_directory).toBe("");
    }
  });

  // Issue 37: a team shares this stack's state; its first apply cannot use a workspace it is
  // about to create, so it keeps its state locally once (scripts/hcp-bootstrap.sh).
  test("hcp-terraform keeps its state in its own workspace; its bootstrap apply (BOTFLEET_HCP_BOOTSTRAP=1) locally, and only that stack", () => {
    expect(hcp.terraform.cloud).toEqual({ hostname: "app.terraform.io", organization: "acme", workspaces: { name: "demo-hcp-terraform", project: "botfleet-demo" } });
    expect(hcp.terraform.backend).toBeUndefined();
    const bootstrap = synthFleet(exampleFleet({ TFC_ORGANIZATION: "acme", BOTFLEET_HCP_BOOTSTRAP: "1" })).stacks;
    expect(bootstrap["hcp-terraform"].terraform.cloud).toBeUndefined();
    expect(bootstrap["hcp-terraform"].terraform.backend).toEqual({ local: { path: "../../../terraform.hcp-terraform.tfstate" } });
    // The same resources either way: the state pushed is the state the cloud backend plans with.
    expect(bootstrap["hcp-terraform"].resource).toEqual(hcp.resource);
    for (const stack of STACKS) expect(bootstrap[stack].terraform.cloud.workspaces.name).toBe(`demo-${stack}`);
  });

  test("tags name the fleet, and for bots the bot and its target", () => {
    expect(workspaceOf("bot-gamma").tags).toEqual({ fleet: "demo", bot: "bot-gamma", target: "gcp-cloud-run" });
    expect(workspaceOf("bot-delta").tags).toEqual({ fleet: "demo", bot: "bot-delta", target: "azure-container-apps" });
    expect(workspaceOf("azure-shared-eastus2").tags).toEqual({ fleet: "demo", shared: "azure" });
  });

  test("Terraform 1.11 or newer (write-only attributes), the same release the workflows install", () => {
    expect(Number(HCP_TERRAFORM_VERSION.split(".")[1])).toBeGreaterThanOrEqual(11);
    type Steps = { uses?: string; with?: Record<string, unknown> }[];
    // The deploy workflow's jobs install through the composite action they share.
    for (const file of [".github/workflows/pull-request.yml", ".github/actions/synthesize/action.yml"]) {
      const wf = parse(readFileSync(join(ROOT, file), "utf8"));
      const steps: Steps = wf.runs ? wf.runs.steps : Object.values(wf.jobs as Record<string, { steps: Steps }>).flatMap((j) => j.steps);
      const setup = steps.filter((s) => s.uses?.startsWith("hashicorp/setup-terraform@"));
      expect(setup.length).toBe(1);
      expect(setup[0].with?.terraform_version).toBe(HCP_TERRAFORM_VERSION);
    }
  });
});

describe("hcp-terraform: the workflows' teams", () => {
  const access = (team: string) => resources(hcp, "tfe_team_project_access").find((a) => a.team_id === `\${tfe_team.${team}.id}`)!;
  const noExtras = { create: false, delete: false, move: false, run_tasks: false, sentinel_mocks: "none", variables: "read", state_versions: "read" };

  test("a plan team for pull requests (plans, never applies, never writes variables) and a deploy team for the protected environment", () => {
    expect(resources(hcp, "tfe_team").map((t) => [t.name, t.visibility])).toEqual([
      ["botfleet-demo-deploy", "secret"],
      ["botfleet-demo-plan", "secret"],
    ]);
    for (const t of resources(hcp, "tfe_team")) expect(t.organization_access).toBeUndefined();
    expect(access("team-plan")).toEqual({
      team_id: "${tfe_team.team-plan.id}",
      project_id: "${tfe_project.project.id}",
      access: "custom",
      project_access: [{ settings: "read", teams: "none", variable_sets: "none" }],
      workspace_access: [{ ...noExtras, runs: "plan", locking: false }],
    });
    expect(access("team-deploy")).toEqual({
      team_id: "${tfe_team.team-deploy.id}",
      project_id: "${tfe_project.project.id}",
      access: "custom",
      project_access: [{ settings: "read", teams: "none", variable_sets: "none" }],
      workspace_access: [{ ...noExtras, runs: "apply", locking: true }],
    });
  });

  test("no team token is made here: it would sit in this stack's state", () => {
    expect(hcp.resource.tfe_team_token).toBeUndefined();
    expect(hcp.resource.tfe_organization_token).toBeUndefined();
  });
});

describe("hcp-terraform: dynamic credentials", () => {
  test("every Azure bot workspace switches on Azure dynamic credentials, plan and apply apart", () => {
    for (const bot of AZURE_BOTS)
      expect(envOf(bot)).toEqual({
        TFC_AZURE_PROVIDER_AUTH: "true",
        TFC_AZURE_PLAN_CLIENT_ID: "${azurerm_user_assigned_identity.azure-plan-identity.client_id}",
        TFC_AZURE_APPLY_CLIENT_ID: "${azurerm_user_assigned_identity.azure-apply-identity.client_id}",
        ARM_SUBSCRIPTION_ID: "${data.azurerm_client_config.client.subscription_id}",
        ARM_TENANT_ID: "${data.azurerm_client_config.client.tenant_id}",
      });
  });

  test("the Cloud Run bot workspace switches on Google Cloud dynamic credentials, plan and apply apart", () => {
    expect(envOf("bot-gamma")).toEqual({
      TFC_GCP_PROVIDER_AUTH: "true",
      TFC_GCP_WORKLOAD_PROVIDER_NAME: "${google_iam_workload_identity_pool_provider.gcp-provider.name}",
      TFC_GCP_PLAN_SERVICE_ACCOUNT_EMAIL: "${google_service_account.gcp-plan-account.email}",
      TFC_GCP_APPLY_SERVICE_ACCOUNT_EMAIL: "${google_service_account.gcp-apply-account.email}",
    });
  });

  test("shared workspaces get no run credentials: their owner runs them with their own", () => {
    expect(envOf("azure-shared-eastus2")).toEqual({});
    expect(envOf("gcp-shared-us-central1")).toEqual({});
  });

  test("each Azure federated credential pins organization, project, workspace and run phase on its phase's identity", () => {
    const credentials = resources(hcp, "azurerm_federated_identity_credential");
    expect(credentials).toHaveLength(AZURE_BOTS.length * 2);
    for (const bot of AZURE_BOTS)
      for (const phase of ["plan", "apply"]) {
        const c = credentials.find((x) => x.name === `demo-${bot}-${phase}`)!;
        expect(c).toEqual({
          name: `demo-${bot}-${phase}`,
          parent_id: `\${azurerm_user_assigned_identity.azure-${phase}-identity.id}`,
          resource_group_name: "${azurerm_resource_group.azure-resource-group.name}",
          issuer: "https://app.terraform.io",
          audience: ["api://AzureADTokenExchange"],
          subject: subject(`demo-${bot}`, phase),
        });
      }
    expect(
      resources(hcp, "azurerm_user_assigned_identity")
        .map((i) => i.name)
        .sort(),
    ).toEqual(["id-demo-tfc-apply", "id-demo-tfc-plan"]);
  });

  test("the Google Cloud pool admits only this organization's Cloud Run workspaces, by their IDs, each account only its phase", () => {
    const [provider] = resources(hcp, "google_iam_workload_identity_pool_provider");
    expect(provider.oidc).toEqual({ issuer_uri: "https://app.terraform.io" });
    expect(provider.attribute_mapping["google.subject"]).toBe("assertion.sub");
    // Names can be renamed and then taken by another organization; IDs cannot.
    expect(provider.attribute_condition).toBe(
      'assertion.terraform_organization_id == "${data.tfe_organization.organization.external_id}" && assertion.terraform_workspace_id in ["${tfe_workspace.workspace-bot-gamma.id}"]',
    );
    expect(provider.attribute_condition).not.toMatch(/_name\b/);
    expect(Object.values(hcp.data.tfe_organization as Record<string, StackJson>).map(({ "//": _m, ...d }) => d)).toEqual([{ name: "acme" }]);
    const bindings = resources(hcp, "google_service_account_iam_member");
    expect(bindings).toEqual(
      ["apply", "plan"].map((phase) => ({
        service_account_id: `\${google_service_account.gcp-${phase}-account.name}`,
        role: "roles/iam.workloadIdentityUser",
        member: `principal://iam.googleapis.com/\${google_iam_workload_identity_pool.gcp-pool.name}/subject/${subject("demo-bot-gamma", phase)}`,
      })),
    );
    expect(resources(hcp, "google_service_account").map((a) => a.account_id)).toEqual([names.gcp.serviceAccount("apply"), names.gcp.serviceAccount("plan")]);
  });

  test("the Google Cloud plan account cannot read a secret's value (speculative plans run any branch's configuration with it)", () => {
    // The predefined roles that hold secretmanager.versions.access (Secret Manager docs, "Access
    // control with IAM", cloud.google.com/secret-manager/docs/access-control), and the basic roles
    // that hold every permission of a project.
    const readsPayloads = ["roles/secretmanager.admin", "roles/secretmanager.secretAccessor", "roles/owner", "roles/editor"];
    const plan = resources(hcp, "google_project_iam_member").filter((m) => m.member.includes("gcp-plan-account"));
    expect(plan.map((m) => m.role).sort()).toEqual(["roles/iam.securityReviewer", "roles/storage.bucketViewer", "roles/viewer"]);
    for (const m of plan) expect(readsPayloads).not.toContain(m.role);
    // No grant anywhere else gives it a secret either.
    for (const stack of Object.values(stacks)) expect(JSON.stringify(stack.resource?.google_secret_manager_secret_iam_member ?? {})).not.toContain("tfc-plan");
  });

  test("least privilege: the plan identities read, the apply identities deploy bots and grant only the bots' own roles", () => {
    const assignments = resources(hcp, "azurerm_role_assignment");
    expect(assignments.map((a) => [a.principal_id.split(".")[1], a.role_definition_name ?? a.role_definition_id]).sort()).toEqual([
      ["azure-apply-identity", "${azurerm_role_definition.azure-apply-role.role_definition_resource_id}"],
      ["azure-apply-identity", "Role Based Access Control Administrator"],
      ["azure-plan-identity", "${azurerm_role_definition.azure-plan-refresh-role.role_definition_resource_id}"],
      ["azure-plan-identity", "Reader"],
    ]);
    // Per-bot identities get their roles in bot stacks (issue 15): the apply identity may assign
    // exactly those roles, by their IDs, and remove only those.
    const delegation = assignments.find((a) => a.role_definition_name === "Role Based Access Control Administrator")!;
    expect(delegation.condition_version).toBe("2.0");
    for (const id of Object.values(BOT_GRANTED_ROLES)) expect(delegation.condition.match(new RegExp(id, "g"))).toHaveLength(2);
    expect(delegation.condition.match(/GuidEquals \{([^}]*)\}/g)).toHaveLength(2);
    const roles = Object.fromEntries(resources(hcp, "azurerm_role_definition").map((r) => [r.name, r.permissions[0]]));
    expect(roles[names.azure.applyRole].actions).toEqual(Object.keys(AZURE_APPLY_ACTIONS));
    expect(roles[names.azure.applyRole].actions.join(" ")).not.toMatch(/Microsoft\.Authorization|KeyVault|^\*$/);
    expect(roles[names.azure.planRole].actions.every((a: string) => a.endsWith("/read") || a.endsWith("listKeys/action"))).toBe(true);
    expect(roles[names.azure.planRefreshRole].actions).toEqual(["Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.App/containerApps/listSecrets/action"]);
    const members = resources(hcp, "google_project_iam_member");
    const rolesOf = (phase: string) => members.filter((m) => m.member === `serviceAccount:\${google_service_account.gcp-${phase}-account.email}`).map((m) => m.role);
    expect(rolesOf("plan").sort()).toEqual(Object.keys(GCP_PLAN_ROLES).sort());
    expect(rolesOf("apply").sort()).toEqual(
      Object.keys(deployerRoles(fleet))
        .filter((r) => r !== "roles/artifactregistry.writer")
        .sort(),
    );
  });

  /**
   * Types whose refresh only reads (GETs, which Reader covers), each read in azurerm v4.55.0's
   * Read function or in what Terraform itself does; the rest are in AZURE_REFRESH_ACTIONS.
   */
  const REFRESH_ONLY_READS: Record<string, string> = {
    azurerm_resource_group: "resource_group_resource.go: Get",
    azurerm_user_assigned_identity: "user_assigned_identity_resource.go: Get",
    azurerm_role_assignment: "role_assignment_resource.go: Get, and role definitions listed by a GET",
    azurerm_storage_container: "storage_container_resource.go: with storage_account_id, the ARM Get (no data plane)",
    azurerm_key_vault_secret: "key_vault_secret_resource.go: GetSecret, a data action the shared stack grants on the vault",
    azurerm_orchestrated_virtual_machine_scale_set: "orchestrated_virtual_machine_scale_set_resource.go: Get",
    azurerm_monitor_metric_alert: "monitor_metric_alert_resource.go: Get",
    azurerm_monitor_activity_log_alert: "monitor_activity_log_alert_resource.go: Get",
    azurerm_monitor_data_collection_rule_association: "monitor_data_collection_rule_association_resource.go:145: Get",
    azurerm_monitor_scheduled_query_rules_alert_v2: "monitor_scheduled_query_rules_alert_v2_resource.go: Get",
    "data.azurerm_client_config": "no API call",
    "data.azurerm_subnet": "subnet_data_source.go: Get",
    "data.azurerm_key_vault": "key_vault_data_source.go: Get",
    "data.azurerm_container_app_environment": "container_app_environment_data_source.go: Get, and Log Analytics workspaces listed by a GET",
    "data.azurerm_container_registry": "container_registry_data_source.go: ListCredentials only when admin_enabled (the shared registry sets false)",
    "data.azurerm_monitor_action_group": "monitor_action_group_data_source.go: Get",
    random_password: "no cloud API",
    time_sleep: "no cloud API",
  };

  test("the plan identity may call every action refreshing an Azure bot stack calls", () => {
    const types = new Set<string>();
    for (const stack of AZURE_BOTS.map((b) => stacks[b])) {
      for (const type of Object.keys(stack.resource ?? {})) types.add(type);
      for (const type of Object.keys(stack.data ?? {})) types.add(`data.${type}`);
    }
    const unknown = [...types].filter((t) => !(t in AZURE_REFRESH_ACTIONS) && !(t in REFRESH_ONLY_READS));
    expect(unknown).toEqual([]);
    const roles = Object.fromEntries(resources(hcp, "azurerm_role_definition").map((r) => [r.name, r.permissions[0]]));
    const planActions = [...roles[names.azure.planRefreshRole].actions, ...roles[names.azure.planRole].actions];
    for (const [type, action] of Object.entries(AZURE_REFRESH_ACTIONS)) {
      expect(types.has(type)).toBe(true);
      expect(planActions).toContain(action);
    }
    // The plan assignment is subscription-wide: bots' resource groups come and go.
    const refresh = resources(hcp, "azurerm_role_assignment").find((a) => a.role_definition_id?.includes("azure-plan-refresh-role"))!;
    expect(refresh.scope).toBe("/subscriptions/${data.azurerm_client_config.client.subscription_id}");
  });

  test("the apply identity may neither add a federated credential to any identity nor run commands on any VM", () => {
    // Azure's wildcards: `*` matches any characters, case-insensitively.
    const matches = (pattern: string, action: string) => new RegExp(`^${pattern.replace(/[.]/g, "\\.").replace(/\*/g, ".*")}$`, "i").test(action);
    const role = resources(hcp, "azurerm_role_definition").find((r) => r.name === names.azure.applyRole)!.permissions[0];
    const allowed = (action: string) => role.actions.some((a: string) => matches(a, action)) && !role.not_actions.some((a: string) => matches(a, action));
    for (const action of [
      "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
      "Microsoft.Compute/virtualMachines/runCommand/action",
      "Microsoft.Compute/virtualMachines/runCommands/write",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action",
      "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommands/write",
    ])
      expect([action, allowed(action)]).toEqual([action, false]);
    // What bot stacks do stays allowed.
    for (const action of [
      "Microsoft.ManagedIdentity/userAssignedIdentities/write",
      "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
      "Microsoft.Compute/virtualMachineScaleSets/write",
    ])
      expect([action, allowed(action)]).toEqual([action, true]);
    expect(role.not_actions).toEqual(Object.keys(AZURE_APPLY_NOT_ACTIONS));
  });

  test("the shared Azure stack grants the run identities only the region's vault and refresh reads", () => {
    const shared = stacks["azure-shared-eastus2"];
    const data = Object.values(shared.data.azurerm_user_assigned_identity as Record<string, StackJson>).map(({ "//": _m, ...d }) => d);
    expect(data).toEqual([
      { name: "id-demo-tfc-apply", resource_group_name: "rg-demo-hcp-terraform" },
      { name: "id-demo-tfc-plan", resource_group_name: "rg-demo-hcp-terraform" },
    ]);
    const grants = resources(shared, "azurerm_role_assignment")
      .filter((a) => a.principal_id.includes("tfc") || a.principal_id.includes("hcp-terraform"))
      .map((a) => [a.principal_id.includes("plan") ? "plan" : "apply", a.role_definition_name, a.scope])
      .sort();
    expect(grants).toEqual([
      ["apply", "Key Vault Secrets Officer", "${azurerm_key_vault.key-vault.id}"],
      ["plan", names.azure.planRole, "${azurerm_resource_group.resource-group.id}"],
    ]);
    // Without HCP Terraform the shared stack grants nothing to run identities.
    expect(JSON.stringify(synthFleet(exampleFleet()).stacks["azure-shared-eastus2"])).not.toContain("tfc");
  });
});

test("HCP Terraform's Google Cloud apply account may act as each Cloud Run bot's runtime account only", () => {
  const shared = stacks["gcp-shared-us-central1"];
  const actAs = resources(shared, "google_service_account_iam_member").filter((m) => m.member.includes("tfc-apply"));
  expect(actAs).toEqual([
    {
      service_account_id: "${google_service_account.runtime-bot-gamma.name}",
      role: "roles/iam.serviceAccountUser",
      member: `serviceAccount:${names.gcp.serviceAccount("apply")}@botfleet-demo.iam.gserviceaccount.com`,
    },
  ]);
  expect(resources(hcp, "google_project_iam_member").map((m) => m.role)).not.toContain("roles/iam.serviceAccountUser");
});

describe("HCP Terraform's Google Cloud apply account may read the images it deploys, on their repositories only", () => {
  const applyMember = `serviceAccount:${names.gcp.serviceAccount("apply")}@botfleet-demo.iam.gserviceaccount.com`;
  const readers = (shared: StackJson) =>
    resources(shared, "google_artifact_registry_repository_iam_member")
      .filter((m) => m.member === applyMember)
      .map(({ repository, location, role }) => ({ repository, location, role }));

  test("Artifact Registry Reader on the ghcr.io mirror the example's Cloud Run bot pulls from, and no project-wide Artifact Registry role", () => {
    expect(readers(stacks["gcp-shared-us-central1"])).toEqual([
      { repository: "${google_artifact_registry_repository.ghcr-mirror.name}", location: "us-central1", role: "roles/artifactregistry.reader" },
    ]);
    const applyRoles = resources(hcp, "google_project_iam_member").filter((m) => m.member.includes("gcp-apply-account"));
    for (const m of applyRoles) expect(m.role).not.toMatch(/artifactregistry/);
    // Without HCP Terraform there is no apply account to grant.
    expect(readers(synthFleet(exampleFleet()).stacks["gcp-shared-us-central1"])).toEqual([]);
  });

  test("a bot whose image is in the fleet's own repository gets that repository read too; one from another registry none; its state-sync sidecar, the Docker Hub mirror", () => {
    const fleetOf = (image: string) =>
      synthFleet(
        parseFleet(
          `name: demo\ngcp:\n  project: botfleet-demo\nterraformCloud:\n  organization: acme\nbots:\n  - name: bot-g\n    target: gcp-cloud-run\n    region: us-central1\n    image: ${image}\n`,
          "fleet.yaml",
          {},
        ),
      ).stacks["gcp-shared-us-central1"];
    // A bot's own image: state-sync runs as a sidecar (bot-service.ts cloudRunStatePlacement).
    const hub = "${google_artifact_registry_repository.docker-hub-mirror.name}";
    expect(
      readers(fleetOf("us-central1-docker.pkg.dev/botfleet-demo/demo-images/agent:1"))
        .map((r) => r.repository)
        .sort(),
    ).toEqual([hub, "${google_artifact_registry_repository.image-repository.name}"]);
    expect(readers(fleetOf("us-central1-docker.pkg.dev/other-project/theirs/agent:1")).map((r) => r.repository)).toEqual([hub]);
  });
});

describe("hcp-terraform: fleets on one cloud, and Terraform Enterprise", () => {
  const onlyGamma = (extra: string) =>
    synthFleet(
      parseFleet(
        `name: demo\ngcp:\n  project: botfleet-demo\nterraformCloud:\n  organization: acme\n${extra}bots:\n  - name: bot-gamma\n    target: gcp-cloud-run\n    region: us-central1\n`,
        "fleet.yaml",
        {},
      ),
    ).stacks["hcp-terraform"];

  test("a Cloud Run-only fleet gets no Azure resources, and the issuer follows terraformCloud.hostname", () => {
    const stack = onlyGamma("  hostname: tfe.example.com\n");
    expect(Object.keys(stack.provider).sort()).toEqual(["google", "tfe"]);
    expect(stack.provider.tfe).toEqual([{ hostname: "tfe.example.com", organization: "acme" }]);
    expect(resources(stack, "google_iam_workload_identity_pool_provider")[0].oidc).toEqual({ issuer_uri: "https://tfe.example.com" });
    expect(resources(stack, "tfe_workspace").map((w) => w.name)).toEqual(["demo-bot-gamma", "demo-gcp-shared-us-central1", "demo-hcp-terraform"]);
  });

  test("an Azure-only fleet gets no Google Cloud resources", () => {
    const stack = synthFleet(parseFleet("name: demo\nbots:\n  - name: bot-a\n", "fleet.yaml", { TFC_ORGANIZATION: "acme" })).stacks["hcp-terraform"];
    expect(Object.keys(stack.provider).sort()).toEqual(["azurerm", "tfe"]);
    expect(resources(stack, "azurerm_federated_identity_credential").map((c) => c.subject)).toEqual([subject("demo-bot-a", "apply"), subject("demo-bot-a", "plan")]);
  });
});

describe("hcp-terraform: no secret anywhere", () => {
  test("no workspace variable holds a secret; the first secret values are the operator's to set", () => {
    for (const v of resources(hcp, "tfe_variable")) {
      expect(v.sensitive).toBeUndefined();
      expect(v.category).toBe("env");
      expect(v.value === "true" || /^\$\{(data\.)?[a-z_]+\.[A-Za-z0-9_-]+\.[a-z_]+\}$/.test(v.value)).toBe(true);
      expect(v.key).not.toMatch(/SECRET|PASSWORD|TOKEN|_KEY$|CREDENTIALS/);
    }
    const text = JSON.stringify(hcp);
    expect(text).not.toMatch(/llm_api_key|telegram_bot_token|client_secret|private_key|credentials_json/);
    expect(hcp.variable).toBeUndefined();
  });

  test("bot stacks keep their first secret values as sensitive variables without a real value", () => {
    const gamma = stacks["bot-gamma"];
    expect(gamma.variable.llm_api_key).toMatchObject({ sensitive: true, default: "BOTFLEET_UNSET" });
  });
});

describe("hcp-terraform: standalone bot stacks", () => {
  test("manifest.json lists no dependency for any stack, hcp-terraform included", () => {
    const outdir = mkdtempSync(join(tmpdir(), "botfleet-hcp-"));
    const app = new App({ outdir });
    buildFleet(app, fleet);
    app.synth();
    const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")) as { stacks: Record<string, StackJson> };
    expect(Object.keys(manifest.stacks).sort()).toEqual([...STACKS, "hcp-terraform"].sort());
    for (const stack of Object.values(manifest.stacks)) expect(stack.dependencies).toEqual([]);
    for (const bot of AZURE_BOTS) expect(JSON.stringify(stacks[bot])).not.toMatch(/terraform_remote_state|tfe_|hcp-terraform/);
  });
});

describe("hcp-terraform: more Azure bots than one identity has federated credentials (issue 37)", () => {
  // A user-assigned identity holds at most 20 federated credentials (Microsoft Entra limits): each
  // further 20 Azure bots get a plan and an apply identity of their own, with the same roles.
  const bots = Array.from({ length: 41 }, (_, i) => `  - name: bot-${i}x\n`).join("");
  const big = synthFleet(parseFleet(`name: demo\nterraformCloud:\n  organization: acme\nbots:\n${bots}`, "fleet.yaml", {})).stacks;
  const stack = big["hcp-terraform"];
  const identityIds = ["azure-apply-identity", "azure-apply-identity-2", "azure-apply-identity-3", "azure-plan-identity", "azure-plan-identity-2", "azure-plan-identity-3"];

  test("each 20 Azure bots, in fleet order, get their own plan and apply identity; the first 20 keep the names of before", () => {
    expect(Object.keys(stack.resource.azurerm_user_assigned_identity).sort()).toEqual(identityIds);
    expect(stack.resource.azurerm_user_assigned_identity["azure-plan-identity"].name).toBe("id-demo-tfc-plan");
    expect(stack.resource.azurerm_user_assigned_identity["azure-apply-identity-3"].name).toBe("id-demo-tfc-apply-3");
    const perIdentity: Record<string, number> = {};
    for (const c of resources(stack, "azurerm_federated_identity_credential")) perIdentity[c.parent_id] = (perIdentity[c.parent_id] ?? 0) + 1;
    expect(Object.values(perIdentity).sort((a, b) => a - b)).toEqual([1, 1, 20, 20, 20, 20]);
    const credential = (bot: string, phase: string) => stack.resource.azurerm_federated_identity_credential[`azure-${phase}-${bot}`].parent_id;
    expect(credential("bot-19x", "plan")).toBe("${azurerm_user_assigned_identity.azure-plan-identity.id}");
    expect(credential("bot-20x", "plan")).toBe("${azurerm_user_assigned_identity.azure-plan-identity-2.id}");
    expect(credential("bot-40x", "apply")).toBe("${azurerm_user_assigned_identity.azure-apply-identity-3.id}");
    const vars = resources(stack, "tfe_variable").filter((v) => v.workspace_id === "${tfe_workspace.workspace-bot-40x.id}" && v.key.endsWith("_CLIENT_ID"));
    expect(vars.map((v) => v.value).sort()).toEqual(["${azurerm_user_assigned_identity.azure-apply-identity-3.client_id}", "${azurerm_user_assigned_identity.azure-plan-identity-3.client_id}"]);
  });

  test("every identity of a phase holds the same roles, here and on the region's shared resources", () => {
    const assignments = resources(stack, "azurerm_role_assignment");
    const rolesOf = (identity: string) =>
      assignments
        .filter((a) => a.principal_id === `\${azurerm_user_assigned_identity.${identity}.principal_id}`)
        .map((a) => a.role_definition_name ?? a.role_definition_id)
        .sort();
    for (const phase of ["plan", "apply"]) for (const n of ["-2", "-3"]) expect(rolesOf(`azure-${phase}-identity${n}`)).toEqual(rolesOf(`azure-${phase}-identity`));
    const shared = big["azure-shared-eastus2"];
    const lookedUp = Object.values(shared.data.azurerm_user_assigned_identity as Record<string, StackJson>).map((d) => d.name);
    expect(lookedUp.sort()).toEqual(["id-demo-tfc-apply", "id-demo-tfc-apply-2", "id-demo-tfc-apply-3", "id-demo-tfc-plan", "id-demo-tfc-plan-2", "id-demo-tfc-plan-3"]);
    const grants = resources(shared, "azurerm_role_assignment").filter((a) => a.principal_id.includes("azurerm_user_assigned_identity.hcp-terraform"));
    expect(grants.map((a) => a.role_definition_name).sort()).toEqual([...Array(3).fill("Key Vault Secrets Officer"), ...Array(3).fill(names.azure.planRole)].sort());
  });
});

describe("hcp-terraform: the walkthroughs work in their order (issue 37)", () => {
  const doc = (file: string) => readFileSync(join(ROOT, "docs", file), "utf8");

  // The stack enables iam, iamcredentials and sts as google_project_service and sets project IAM:
  // a refresh of either reads the project through Cloud Resource Manager (google v6.50.0
  // resource_google_project_service.go, Read: Projects.Get), which a new project lacks.
  test("the HCP Terraform walkthrough enables Cloud Resource Manager before it bootstraps hcp-terraform", () => {
    const text = doc("secrets-and-operations.md");
    const walkthrough = text.slice(text.indexOf("### From an empty organization"));
    const enable = walkthrough.indexOf("gcloud services enable cloudresourcemanager.googleapis.com --project botfleet-demo");
    expect(enable).toBeGreaterThan(0);
    expect(enable).toBeLessThan(walkthrough.indexOf("npm run hcp:bootstrap"));
    expect(resources(hcp, "google_project_iam_member").length).toBeGreaterThan(0);
  });

  // With HCP Terraform the shared stack grants the apply account (made by hcp-terraform) actAs and
  // image reads: deployed first, it fails with "service account ... does not exist".
  test("the Cloud Run page bootstraps hcp-terraform before gcp-shared when TFC_ORGANIZATION is set", () => {
    const walkthrough = doc("targets/gcp-cloud-run.md");
    const hcpFirst = walkthrough.indexOf("npm run hcp:bootstrap");
    expect(hcpFirst).toBeGreaterThan(walkthrough.indexOf("gcloud services enable cloudresourcemanager.googleapis.com --project botfleet-demo"));
    expect(hcpFirst).toBeLessThan(walkthrough.indexOf("npx cdktf deploy gcp-shared-us-central1"));
    expect(JSON.stringify(stacks["gcp-shared-us-central1"])).toContain(names.gcp.serviceAccount("apply"));
  });
});

test("hcp-terraform matches its snapshot", () => {
  expect(hcp).toMatchSnapshot();
});

describe("HCP Terraform settings: bad input fails at synth, naming the field, the value and the fix", () => {
  const fleetFile = (extra: string, bots = "  - name: bot-a\n") => `name: demo\n${extra}bots:\n${bots}`;
  const problems = (text: string, env: NodeJS.ProcessEnv = {}) => {
    try {
      parseFleet(text, "fleet.yaml", env);
    } catch (e) {
      expect(e).toBeInstanceOf(FleetConfigError);
      return (e as Error).message;
    }
    throw new Error("expected the fleet to be rejected");
  };

  test("a terraformCloud section without an organization, here or in TFC_ORGANIZATION", () => {
    expect(problems(fleetFile("terraformCloud:\n  workspacePrefix: bots\n"))).toContain(
      "line 3: terraformCloud.organization: is required when terraformCloud is set: name your HCP Terraform organization here, or set TFC_ORGANIZATION",
    );
    expect(parseFleet(fleetFile("terraformCloud:\n  workspacePrefix: bots\n"), "fleet.yaml", { TFC_ORGANIZATION: "acme" }).terraformCloud).toEqual({
      organization: "acme",
      hostname: "app.terraform.io",
      workspacePrefix: "bots",
      bootstrap: false,
    });
  });

  test("an organization with characters HCP Terraform refuses, from the file or from TFC_ORGANIZATION", () => {
    expect(problems(fleetFile("terraformCloud:\n  organization: acme corp\n"))).toContain(
      'terraformCloud.organization: "acme corp" is not an HCP Terraform organization name: use 1-40 letters, digits, - and _',
    );
    expect(problems(fleetFile(""), { TFC_ORGANIZATION: "acme/prod" })).toContain('terraformCloud.organization: "acme/prod" (from TFC_ORGANIZATION) is not an HCP Terraform organization name');
  });

  test("a workspace name over HCP Terraform's 90 characters", () => {
    const prefix = "p".repeat(60);
    const m = problems(fleetFile(`terraformCloud:\n  organization: acme\n  workspacePrefix: ${prefix}\n`, `  - name: ${"b".repeat(30)}\n`));
    expect(m).toContain(
      `terraformCloud.workspacePrefix: makes the workspace name "${prefix}-${"b".repeat(30)}" 91 characters long, over HCP Terraform's 90; shorten terraformCloud.workspacePrefix or the bot name`,
    );
    expect(m).toMatch(/^ {2}line 4: /m);
  });

  test("an OIDC subject too long for Google Cloud's google.subject", () => {
    const m = problems(
      fleetFile(`gcp:\n  project: botfleet-demo\nterraformCloud:\n  organization: ${"o".repeat(40)}\n`, `  - name: ${"g".repeat(40)}\n    target: gcp-cloud-run\n    region: us-central1\n`),
    );
    expect(m).toMatch(/bots\[0\]\.name: makes the OIDC subject "organization:o+:project:botfleet-demo:workspace:demo-g+:run_phase:apply" 1\d\d bytes long, over the 127 Google Cloud accepts/);
  });

  test("a bot named like the bootstrap stack", () => {
    expect(problems(fleetFile("", "  - name: hcp-terraform\n"))).toMatch(/bots\[0\]\.name: "hcp-terraform" is reserved/);
  });
});

test("the token is Terraform's own for the host: TF_TOKEN_ with dots as _ and hyphens as __, then terraform login's file", () => {
  expect(tokenVariable("tfe.example-corp.com")).toBe("TF_TOKEN_tfe_example__corp_com");
  const home = mkdtempSync(join(tmpdir(), "botfleet-home-"));
  expect(terraformToken("tfe.example-corp.com", { TF_TOKEN_tfe_example__corp_com: "from-env", TF_TOKEN_tfe_example_corp_com: "wrong" }, home)).toBe("from-env");
  mkdirSync(join(home, ".terraform.d"));
  writeFileSync(join(home, ".terraform.d", "credentials.tfrc.json"), JSON.stringify({ credentials: { "tfe.example-corp.com": { token: "from-login" } } }));
  expect(terraformToken("tfe.example-corp.com", {}, home)).toBe("from-login");
  expect(terraformToken("app.terraform.io", {}, home)).toBeUndefined();
});

describe("scripts/hcp-secret.ts against a stand-in HCP Terraform API", () => {
  /** Workspace demo-bot-gamma of organization acme with its variables, as the API serves them. */
  async function withHcp(body: (api: string, calls: string[], vars: StackJson[]) => Promise<void>) {
    const vars: StackJson[] = [{ id: "var-other", attributes: { key: "llm_api_key", category: "env" } }];
    const calls: string[] = [];
    const server = createServer((req, res) => {
      let data = "";
      req.on("data", (c) => (data += c));
      req.on("end", () => {
        calls.push(`${req.method} ${req.url} ${req.headers.authorization}`);
        const reply = (status: number, json: unknown) => {
          res.statusCode = status;
          res.end(JSON.stringify(json));
        };
        if (req.method === "GET" && req.url === "/api/v2/organizations/acme/workspaces/demo-bot-gamma") return reply(200, { data: { id: "ws-123" } });
        if (req.method === "GET" && req.url === "/api/v2/workspaces/ws-123/vars") return reply(200, { data: vars });
        if (req.method === "POST" && req.url === "/api/v2/workspaces/ws-123/vars") {
          vars.push({ id: "var-new", attributes: JSON.parse(data).data.attributes });
          return reply(201, { data: vars[vars.length - 1] });
        }
        if (req.method === "PATCH" && req.url === "/api/v2/workspaces/ws-123/vars/var-new") {
          vars[vars.length - 1].attributes = JSON.parse(data).data.attributes;
          return reply(200, { data: vars[vars.length - 1] });
        }
        reply(404, { errors: [{ status: "404" }] });
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, vars);
    } finally {
      server.close();
    }
  }
  /** Runs the script as `npm run hcp:secret -- ...` would, with `input` on standard input. */
  function hcpSecret(api: string, args: string[], input: string): Promise<{ status: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ["-r", join(ROOT, "scripts/ts-register.js"), join(ROOT, "scripts/hcp-secret.ts"), ...args], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), "botfleet-home-")), TFC_ORGANIZATION: "acme", TF_TOKEN_app_terraform_io: "tok-123", BOTFLEET_HCP_API: api },
      });
      let output = "";
      child.stdout.on("data", (c) => (output += c));
      child.stderr.on("data", (c) => (output += c));
      child.on("close", (status) => resolve({ status, output }));
      child.stdin.end(input);
    });
  }

  test("creates the sensitive Terraform variable from standard input, then replaces its value, never echoing it", async () => {
    await withHcp(async (api, calls, vars) => {
      const first = await hcpSecret(api, ["bot-gamma", "llm_api_key"], "sk-first\n");
      expect(first.output).toBe("hcp-secret: created the sensitive variable llm_api_key of workspace demo-bot-gamma\n");
      expect(first.status).toBe(0);
      expect(vars[1].attributes).toEqual({
        key: "llm_api_key",
        value: "sk-first",
        category: "terraform",
        hcl: false,
        sensitive: true,
        description: expect.stringContaining("First value of ANTHROPIC_API_KEY"),
      });
      const second = await hcpSecret(api, ["bot-gamma", "llm_api_key"], "sk-second");
      expect(second.output).toContain("updated the sensitive variable llm_api_key");
      expect(vars).toHaveLength(2);
      expect(vars[1].attributes.value).toBe("sk-second");
      expect(calls.every((c) => c.endsWith("Bearer tok-123"))).toBe(true);
      expect(first.output + second.output).not.toMatch(/sk-|tok-123/);
    });
  });

  test("refuses a variable the bot does not have, and a bot stack's generated secret, before calling the API", async () => {
    await withHcp(async (api, calls) => {
      const r = await hcpSecret(api, ["bot-gamma", "gateway_token"], "x");
      expect(r.status).toBe(2);
      expect(r.output).toBe('hcp-secret: bot-gamma has no secret variable "gateway_token"; its variables: llm_api_key, telegram_bot_token, search_api_key\n');
      const unknown = await hcpSecret(api, ["bot-zeta", "llm_api_key"], "x");
      expect(unknown.output).toContain('no bot "bot-zeta" in the fleet');
      expect(calls).toEqual([]);
    });
  });
});
