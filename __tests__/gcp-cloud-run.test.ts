import { GITHUB_OIDC_ISSUER, GCP_APIS, DEPLOYER_ROLES } from "../constructs/gcp-shared-stack";
import { gcpBotNames } from "../config/names";
import { UNSET_SECRET } from "../runtimes/runtime";
import { exampleFleet, fleetFrom, resources, synthFleet } from "./support/fleet";

const fleet = exampleFleet();
const { stacks } = synthFleet(fleet);
const gamma = stacks["bot-gamma"];
const shared = stacks["gcp-shared-us-central1"];
const [service] = resources(gamma, "google_cloud_run_v2_service");
const [container] = service.template.containers;
const names = gcpBotNames("demo", "botfleet-demo", "bot-gamma");
const [account] = resources(gamma, "google_service_account");
const accountRef = "${google_service_account.service-account.email}";

const gcpFleet = (botExtra = "", gcpBlock = "gcp:\n  project: my-proj-123\n") =>
  fleetFrom(`name: tf\n${gcpBlock}bots:\n  - name: bot-one\n    target: gcp-cloud-run\n    region: europe-west1\n${botExtra}`);

describe("bot-gamma: the Cloud Run service", () => {
  test("runs exactly one instance, never zero, with CPU always allocated and a startup boost", () => {
    expect(service.template.scaling).toEqual({ min_instance_count: 1, max_instance_count: 1 });
    expect(container.resources.cpu_idle).toBe(false);
    expect(container.resources.startup_cpu_boost).toBe(true);
  });

  test("gets the tier's CPU and memory, a 3600 s request timeout and the runtime's port", () => {
    expect(container.resources.limits).toEqual({ cpu: "1", memory: "1Gi" });
    expect(service.template.timeout).toBe("3600s");
    expect(container.ports).toEqual({ container_port: 18789 });
    const big = synthFleet(gcpFleet("    tier: performance\n")).stacks["bot-one"];
    expect(resources(big, "google_cloud_run_v2_service")[0].template.containers[0].resources.limits).toEqual({ cpu: "2", memory: "4Gi" });
  });

  test("pulls the pinned image through the fleet's ghcr.io mirror in Artifact Registry", () => {
    expect(container.image).toBe("us-central1-docker.pkg.dev/botfleet-demo/demo-ghcr/openclaw/openclaw:2026.9.6");
    const mirror = resources(shared, "google_artifact_registry_repository").find((r) => r.mode === "REMOTE_REPOSITORY")!;
    expect(mirror.repository_id).toBe("demo-ghcr");
    expect(mirror.remote_repository_config.docker_repository.custom_repository.uri).toBe("https://ghcr.io");
  });

  test("runs as the bot's own service account, with deletion protection on by default", () => {
    expect(service.template.service_account).toBe(accountRef);
    expect(account.account_id).toBe(names.serviceAccount);
    expect(account.account_id).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
    expect(service.deletion_protection).toBe(true);
    const off = synthFleet(gcpFleet("    deletionProtection: false\n")).stacks["bot-one"];
    expect(resources(off, "google_cloud_run_v2_service")[0].deletion_protection).toBe(false);
  });

  test("probes the runtime's health path at startup and while live", () => {
    expect(container.startup_probe.http_get).toEqual({ path: "/healthz", port: 18789 });
    expect(container.liveness_probe.http_get).toEqual({ path: "/healthz", port: 18789 });
  });

  test("waits for the secret and bucket grants before its first revision", () => {
    const deps: string[] = service.depends_on;
    expect(deps.filter((d) => d.startsWith("google_secret_manager_secret_iam_member."))).toHaveLength(4);
    expect(deps).toContain("google_storage_bucket_iam_member.state-bucket-user");
  });
});

describe("bot-gamma: secrets", () => {
  const secrets = resources(gamma, "google_secret_manager_secret");
  const versions = resources(gamma, "google_secret_manager_secret_version");

  test("one Secret Manager secret per bot secret, named <fleet>--<bot>--<key>", () => {
    expect(secrets.map((s) => s.secret_id).sort()).toEqual(
      ["gateway-token", "llm-api-key", "search-api-key", "telegram-bot-token"].map(names.secret).sort(),
    );
    expect(secrets.every((s) => "auto" in s.replication)).toBe(true);
  });

  test("reach the container only as secret references, each readable only by the bot's account", () => {
    const refs = container.env.filter((e: any) => e.value_source);
    expect(refs.map((e: any) => e.name).sort()).toEqual(["ANTHROPIC_API_KEY", "BRAVE_API_KEY", "OPENCLAW_GATEWAY_TOKEN", "TELEGRAM_BOT_TOKEN"]);
    for (const ref of refs) {
      expect(ref).not.toHaveProperty("value");
      expect(ref.value_source.secret_key_ref.version).toBe("latest");
    }
    const grants = resources(gamma, "google_secret_manager_secret_iam_member");
    expect(grants).toHaveLength(secrets.length);
    for (const g of grants) expect(g).toMatchObject({ role: "roles/secretmanager.secretAccessor", member: `serviceAccount:${accountRef}` });
    expect(resources(gamma, "google_project_iam_member")).toHaveLength(0);
  });

  test("the gateway token is generated; the others' first value is a sensitive, write-only variable; no value is in the plan", () => {
    const byKey = (key: string) => versions.find((v) => v.secret.includes(`secrets_${key}_`))!;
    expect(byKey("gateway-token").secret_data).toMatch(/^\$\{random_password\.secrets_gateway-token-value_[0-9A-F]+\.result\}$/);
    for (const key of ["llm-api-key", "telegram-bot-token", "search-api-key"]) {
      const variable = key.replace(/-/g, "_");
      expect(byKey(key)).toMatchObject({ secret_data_wo: `\${var.${variable}}`, secret_data_wo_version: 1 });
      expect(byKey(key)).not.toHaveProperty("secret_data");
      expect(gamma.variable[variable]).toMatchObject({ sensitive: true, nullable: false, default: UNSET_SECRET, type: "string" });
    }
    const plain = container.env.filter((e: any) => "value" in e).map((e: any) => e.name);
    for (const name of ["OPENCLAW_GATEWAY_TOKEN", "ANTHROPIC_API_KEY", "TELEGRAM_BOT_TOKEN"]) expect(plain).not.toContain(name);
  });

  test("the agent config names secrets as references for the agent, and reaches Terraform without interpolation", () => {
    const config = container.env.find((e: any) => e.name === "BOTFLEET_AGENT_CONFIG").value as string;
    expect(config).toContain('"botToken":{"source":"env","provider":"default","id":"TELEGRAM_BOT_TOKEN"}');
    expect(config.replace(/\$\$\{/g, "")).not.toContain("${");
    expect(JSON.parse(config.replace(/\$\$\{/g, "${")).channels.telegram.allowFrom).toEqual(["987654321", "555000111"]);
  });
});

describe("bot-gamma: ingress", () => {
  test("has no public invoker by default: every request needs IAM", () => {
    expect(service.invoker_iam_disabled).toBe(false);
    expect(gamma.resource.google_cloud_run_v2_service_iam_member).toBeUndefined();
    expect(JSON.stringify(gamma)).not.toContain("allUsers");
  });

  test("grants run.invoker to allUsers only when the bot opts in with publicAccess", () => {
    const open = synthFleet(gcpFleet("    publicAccess: true\n")).stacks["bot-one"];
    expect(resources(open, "google_cloud_run_v2_service_iam_member")).toEqual([
      expect.objectContaining({ role: "roles/run.invoker", member: "allUsers" }),
    ]);
  });
});

describe("bot-gamma: state", () => {
  const [bucket] = resources(gamma, "google_storage_bucket");

  test("lives in the bot's own private, versioned bucket mounted at the state directory", () => {
    expect(bucket).toMatchObject({
      name: names.stateBucket,
      location: "US-CENTRAL1",
      uniform_bucket_level_access: true,
      public_access_prevention: "enforced",
      versioning: { enabled: true },
      force_destroy: false,
    });
    expect(bucket.name).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    expect(service.template.volumes).toEqual([{ name: "state", gcs: { bucket: "${google_storage_bucket.state-bucket.name}", read_only: false } }]);
    expect(container.volume_mounts).toEqual([{ name: "state", mount_path: "/home/node/.openclaw" }]);
    expect(service.template.execution_environment).toBe("EXECUTION_ENVIRONMENT_GEN2");
  });

  test("only the bot's account may use it, as object user", () => {
    expect(resources(gamma, "google_storage_bucket_iam_member")).toEqual([
      { bucket: "${google_storage_bucket.state-bucket.name}", role: "roles/storage.objectUser", member: `serviceAccount:${accountRef}` },
    ]);
  });
});

describe("gcp-shared-us-central1", () => {
  test("enables the APIs and never disables them on destroy", () => {
    const apis = resources(shared, "google_project_service");
    expect(apis.map((a) => a.service).sort()).toEqual([...GCP_APIS].sort());
    for (const name of ["run", "secretmanager", "artifactregistry", "cloudbuild", "iam", "iamcredentials", "sts"])
      expect(apis.map((a) => a.service)).toContain(`${name}.googleapis.com`);
    for (const a of apis) expect(a.disable_on_destroy).toBe(false);
  });

  test("has a Docker repository for the fleet's images", () => {
    const repo = resources(shared, "google_artifact_registry_repository").find((r) => r.mode === "STANDARD_REPOSITORY")!;
    expect(repo).toMatchObject({ repository_id: "demo-images", format: "DOCKER", location: "us-central1" });
  });

  test("federates GitHub Actions of the configured repository and branch only", () => {
    const [provider] = resources(shared, "google_iam_workload_identity_pool_provider");
    expect(provider.oidc.issuer_uri).toBe(GITHUB_OIDC_ISSUER);
    expect(provider.attribute_condition).toBe('assertion.repository == "example-org/bot-fleet" && assertion.ref == "refs/heads/main"');
    expect(provider.attribute_mapping["attribute.repository"]).toBe("assertion.repository");
  });

  test("lets only that repository impersonate the deployer, which holds the deploy roles and no more", () => {
    const [binding] = resources(shared, "google_service_account_iam_member");
    expect(binding.role).toBe("roles/iam.workloadIdentityUser");
    expect(binding.member).toBe("principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github-pool.name}/attribute.repository/example-org/bot-fleet");
    const roles = resources(shared, "google_project_iam_member").map((m) => m.role).sort();
    expect(roles).toEqual(Object.keys(DEPLOYER_ROLES).sort());
    expect(roles).not.toContain("roles/owner");
    expect(roles).not.toContain("roles/editor");
  });

  test("without gcp.github there is no federation at all", () => {
    const plain = synthFleet(gcpFleet()).stacks["gcp-shared-europe-west1"];
    expect(plain.resource.google_iam_workload_identity_pool).toBeUndefined();
    expect(plain.resource.google_service_account).toBeUndefined();
  });

  test("pins the repository alone when no branch is given", () => {
    const anyBranch = synthFleet(gcpFleet("", "gcp:\n  project: my-proj-123\n  github:\n    repository: o/r\n")).stacks["gcp-shared-europe-west1"];
    expect(resources(anyBranch, "google_iam_workload_identity_pool_provider")[0].attribute_condition).toBe('assertion.repository == "o/r"');
  });
});
