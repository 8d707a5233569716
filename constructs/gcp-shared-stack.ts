import { ArtifactRegistryRepository } from "@cdktf/provider-google/lib/artifact-registry-repository";
import { ArtifactRegistryRepositoryIamMember } from "@cdktf/provider-google/lib/artifact-registry-repository-iam-member";
import { IamWorkloadIdentityPool } from "@cdktf/provider-google/lib/iam-workload-identity-pool";
import { IamWorkloadIdentityPoolProvider } from "@cdktf/provider-google/lib/iam-workload-identity-pool-provider";
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { ProjectService } from "@cdktf/provider-google/lib/project-service";
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ServiceAccountIamMember } from "@cdktf/provider-google/lib/service-account-iam-member";
import { TerraformOutput } from "cdktf";
import type { Construct } from "constructs";
import type { Fleet } from "../config/load";
import { artifactRegistryRepositoryOf, gcpBotNames, gcpSharedNames } from "../config/names";
import { GITHUB_DEPLOY_ENVIRONMENT } from "../config/schema";
import { hcpTerraformCloudNames } from "../config/terraform-cloud";
import { sharedStackName } from "../contracts";
import { cloudRunServiceImages } from "../targets/gcp-cloud-run/bot-service";
import { cloudOf } from "../targets/registry";
import { FleetStack, fleetTags } from "./fleet-stack";

/**
 * APIs a fleet on Cloud Run needs: running, secrets, images, builds, and (iam, iamcredentials,
 * sts) the token exchange behind keyless deploys. storage backs the bots' state buckets; logging
 * keeps the containers' lines, and monitoring holds the alerts on them (gcp.alerts).
 * cloudresourcemanager: the provider reads the project through it to refresh every
 * google_project_service (resource_google_project_service.go Read, Projects.Get, google v6.50.0)
 * and project IAM; a project made with `gcloud projects create` lacks it, so the walkthrough
 * enables it before the first deploy (docs/targets/gcp-cloud-run.md) and this keeps it on.
 */
export const GCP_APIS = [
  "cloudresourcemanager.googleapis.com",
  "run.googleapis.com",
  "secretmanager.googleapis.com",
  "artifactregistry.googleapis.com",
  "cloudbuild.googleapis.com",
  "storage.googleapis.com",
  "iam.googleapis.com",
  "iamcredentials.googleapis.com",
  "sts.googleapis.com",
  "logging.googleapis.com",
  "monitoring.googleapis.com",
] as const;

/**
 * What the GitHub deployer may do, project-wide: the fewest predefined roles that let
 * `cdktf deploy <bot>` create a bot stack. Each is needed by one kind of resource in it. It holds
 * no service-account role on the project: it may act only as the bots' own runtime accounts,
 * which this stack creates and grants it one by one (see below), and it can create or change none.
 */
export const DEPLOYER_ROLES = {
  "roles/run.admin": "Cloud Run services and their invoker policy",
  "roles/secretmanager.admin": "the bots' secrets and who may read them",
  "roles/storage.admin": "the bots' state buckets and who may use them",
  "roles/artifactregistry.writer": "pushing the fleet's own images, and reading the images it deploys (Cloud Run requires Artifact Registry Reader of the deployer)",
  "roles/serviceusage.serviceUsageConsumer": "calling the enabled APIs",
} as const;

/**
 * With `gcp.alerts`, bot stacks also hold an e-mail notification channel and log-match alert
 * policies: the two narrow Monitoring editor roles, not monitoring.editor or admin (Cloud
 * Monitoring roles, https://cloud.google.com/iam/docs/roles-permissions/monitoring).
 */
export const ALERT_DEPLOYER_ROLES = {
  "roles/monitoring.notificationChannelEditor": "the bots' e-mail notification channels",
  "roles/monitoring.alertPolicyEditor": "the bots' alert policies",
} as const;

/** The deployer's roles for this fleet. */
export function deployerRoles(fleet: Fleet): Record<string, string> {
  return { ...DEPLOYER_ROLES, ...(fleet.gcp?.alerts && ALERT_DEPLOYER_ROLES) };
}

export const GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com";

/**
 * Google Cloud resources shared by the fleet's Cloud Run bots in one region
 * (`gcp-shared-<region>`): the APIs (never disabled on destroy: other workloads may use them),
 * Artifact Registry (a repository for the fleet's images and mirrors of ghcr.io and Docker Hub:
 * Cloud Run pulls only from Artifact Registry and Docker Hub, and a pull from Docker Hub can fail), and, when `gcp.github` is set, Workload
 * Identity Federation that lets only that repository deploy, without stored keys.
 */
export class GcpSharedStack extends FleetStack {
  constructor(scope: Construct, fleet: Fleet, region: string) {
    super(scope, sharedStackName("gcp", region), fleet);
    const gcp = fleet.gcp!;
    const names = gcpSharedNames(fleet.name, region);
    const labels = fleetTags(fleet.name);

    new GoogleProvider(this, "google", { project: gcp.project, region });

    const apis = GCP_APIS.map(
      (service) =>
        new ProjectService(this, `api-${service.split(".")[0]}`, {
          service,
          disableOnDestroy: false,
          disableDependentServices: false,
        }),
    );

    const images = new ArtifactRegistryRepository(this, "image-repository", {
      repositoryId: names.imageRepository,
      location: region,
      format: "DOCKER",
      mode: "STANDARD_REPOSITORY",
      description: `Images of the ${fleet.name} fleet`,
      dockerConfig: { immutableTags: true },
      labels,
      dependsOn: apis,
    });
    const ghcrMirror = new ArtifactRegistryRepository(this, "ghcr-mirror", {
      repositoryId: names.ghcrMirror,
      location: region,
      format: "DOCKER",
      mode: "REMOTE_REPOSITORY",
      description: "Mirror of ghcr.io: Cloud Run pulls the pinned agent images through it",
      remoteRepositoryConfig: {
        description: "ghcr.io",
        dockerRepository: { customRepository: { uri: "https://ghcr.io" } },
      },
      labels,
      dependsOn: apis,
    });
    // The state-sync sidecar's image is on Docker Hub: pulled from there directly, a first revision
    // that fails to import it (Docker Hub's pull limits, an outage) is the taint trap below.
    // google v6.50.0 google/services/artifactregistry/resource_artifact_registry_repository.go:
    // docker_repository.public_repository, ForceNew, "DOCKER_HUB" (:523-531).
    const dockerHubMirror = new ArtifactRegistryRepository(this, "docker-hub-mirror", {
      repositoryId: names.dockerHubMirror,
      location: region,
      format: "DOCKER",
      mode: "REMOTE_REPOSITORY",
      description: "Mirror of Docker Hub: Cloud Run pulls the state-sync sidecar's image through it",
      remoteRepositoryConfig: {
        description: "Docker Hub",
        dockerRepository: { publicRepository: "DOCKER_HUB" },
      },
      labels,
      dependsOn: apis,
    });
    new TerraformOutput(this, "image-repository-url", { value: `${region}-docker.pkg.dev/${gcp.project}/${images.repositoryId}` });

    // Each Google Cloud bot's runtime identity, created here by the project owner, so that deployers
    // need no right over service accounts: a bot stack only runs its service as its own account.
    const runtimeAccounts = fleet.bots
      .filter((b) => cloudOf(b.target) === "gcp" && b.region === region)
      .map((bot) => ({
        bot,
        account: new ServiceAccount(this, `runtime-${bot.name}`, {
          accountId: gcpBotNames(fleet.name, gcp.project, bot.name).serviceAccount,
          displayName: `botfleet ${fleet.name}/${bot.name}`.slice(0, 100),
          description: `Runtime identity of bot ${bot.name}: reads its own secrets and state bucket only`,
          dependsOn: apis,
        }),
      }));

    // HCP Terraform's apply account (made by the hcp-terraform stack) deploys the same services.
    if (fleet.terraformCloud) {
      const applyAccount = `serviceAccount:${hcpTerraformCloudNames(fleet.name).gcp.serviceAccount("apply")}@${gcp.project}.iam.gserviceaccount.com`;
      for (const { bot, account } of runtimeAccounts)
        new ServiceAccountIamMember(this, `hcp-terraform-acts-as-${bot.name}`, {
          serviceAccountId: account.name,
          role: "roles/iam.serviceAccountUser",
          member: applyAccount,
        });
      // "To deploy to Cloud Run, you must have the Artifact Registry Reader role on the project or
      // repository containing the images you want to deploy" (cloud.google.com/artifact-registry/
      // docs/integrate-cloud-run, "Permissions required to deploy"): on each repository of this
      // stack that holds an image of the region's bots, and nowhere else. The GitHub deployer has
      // it through roles/artifactregistry.writer.
      // Where a refusal arrives decides what it costs (google v6.50.0 google/services/cloudrunv2/
      // resource_cloud_run_v2_service.go, Create): one on the create call returns at :1421-1423,
      // before the ID is stored (:1430), and leaves nothing behind; one inside the long-running
      // operation returns at :1436-1439, after it, so the service stays in state, tainted, and
      // with deletion_protection on the replace stops at Delete (:1773-1774). Cloud Run's docs do
      // not say which of the two checks the deployer's image read, so the grant is here, in the
      // stack applied before any bot, not in the bot stack that creates the service.
      const repositories = new Map([
        [names.imageRepository, { id: "image-repository", repository: images }],
        [names.ghcrMirror, { id: "ghcr-mirror", repository: ghcrMirror }],
        [names.dockerHubMirror, { id: "docker-hub-mirror", repository: dockerHubMirror }],
      ]);
      const held = new Set(
        runtimeAccounts.flatMap(({ bot }) => Object.values(cloudRunServiceImages(bot, fleet.name, gcp.project)).map((image) => artifactRegistryRepositoryOf(image, gcp.project, region))),
      );
      for (const [repositoryId, { id, repository }] of repositories)
        if (held.has(repositoryId))
          new ArtifactRegistryRepositoryIamMember(this, `hcp-terraform-reads-${id}`, {
            project: gcp.project,
            location: region,
            repository: repository.name,
            role: "roles/artifactregistry.reader",
            member: applyAccount,
          });
    }

    if (!gcp.github) return;
    const { repository, branch } = gcp.github;

    const pool = new IamWorkloadIdentityPool(this, "github-pool", {
      workloadIdentityPoolId: names.workloadIdentityPool,
      displayName: `GitHub ${fleet.name} ${region}`.slice(0, 32),
      description: `GitHub Actions of ${repository}`,
      dependsOn: apis,
    });
    // GitHub's issuer is shared by every repository on GitHub: the condition is what keeps
    // other repositories out, so it is always set. Within the repository, any branch can rewrite
    // its own workflow (id-token: write, any trigger), so the repository alone would let a pull
    // request become the deployer: only a job in the deploy environment passes, whose branch
    // policy admits main alone (GitHub's OIDC token carries the job's `environment`: docs.github.com,
    // "OpenID Connect reference", token claims; a token without it makes the condition fail).
    const condition = [`assertion.repository == "${repository}"`, `assertion.environment == "${GITHUB_DEPLOY_ENVIRONMENT}"`, ...(branch ? [`assertion.ref == "refs/heads/${branch}"`] : [])].join(
      " && ",
    );
    const provider = new IamWorkloadIdentityPoolProvider(this, "github-provider", {
      workloadIdentityPoolId: pool.workloadIdentityPoolId,
      workloadIdentityPoolProviderId: names.githubProvider,
      displayName: "GitHub Actions",
      attributeMapping: {
        "google.subject": "assertion.sub",
        "attribute.repository": "assertion.repository",
        "attribute.ref": "assertion.ref",
      },
      attributeCondition: condition,
      oidc: { issuerUri: GITHUB_OIDC_ISSUER },
    });

    const deployer = new ServiceAccount(this, "deployer", {
      accountId: names.deployerAccount,
      displayName: names.deployerDisplayName(repository),
      description: "GitHub Actions deploys the fleet's bot stacks as this account",
      dependsOn: apis,
    });
    new ServiceAccountIamMember(this, "deployer-github", {
      serviceAccountId: deployer.name,
      role: "roles/iam.workloadIdentityUser",
      member: `principalSet://iam.googleapis.com/${pool.name}/attribute.repository/${repository}`,
    });
    // Deploying a Cloud Run service that runs as an account needs actAs on that account
    // (roles/iam.serviceAccountUser): on each bot's own account, never on the project.
    for (const { bot, account } of runtimeAccounts)
      new ServiceAccountIamMember(this, `deployer-acts-as-${bot.name}`, {
        serviceAccountId: account.name,
        role: "roles/iam.serviceAccountUser",
        member: `serviceAccount:${deployer.email}`,
      });
    for (const role of Object.keys(deployerRoles(fleet)))
      new ProjectIamMember(this, `deployer-${role.split("/")[1].replace(/\./g, "-")}`, {
        project: gcp.project,
        role,
        member: `serviceAccount:${deployer.email}`,
      });

    new TerraformOutput(this, "workload-identity-provider", { value: provider.name });
    new TerraformOutput(this, "deployer-service-account", { value: deployer.email });
  }
}
