import { GITHUB_OIDC_ISSUER, GCP_APIS, deployerRoles } from "../constructs/gcp-shared-stack";
import { cloudRunImage, gcpBotNames } from "../config/names";
import { UNSET_SECRET } from "../runtimes/runtime";
import { gunzipSync } from "node:zlib";
import { STATE_SYNC_COMMAND, STATE_SYNC_IMAGE, STATE_SYNC_LOADER, STATE_SYNC_MOUNT, STATE_SYNC_SOURCE, withoutCommentLines } from "../bootstrap/state-sync";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { exampleFleet, fleetFrom, resources, ROOT, synthFleet } from "./support/fleet";

const fleet = exampleFleet();
const { stacks } = synthFleet(fleet);
const gamma = stacks["bot-gamma"];
const shared = stacks["gcp-shared-us-central1"];
const [service] = resources(gamma, "google_cloud_run_v2_service");
const [container] = service.template.containers;
const envOf = (c: { env: { name: string; value?: string }[] }) => Object.fromEntries(c.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
const names = gcpBotNames("demo", "botfleet-demo", "bot-gamma");
const account = gamma.data.google_service_account["service-account"];
const accountRef = "${data.google_service_account.service-account.email}";

const gcpFleet = (botExtra = "", gcpBlock = "gcp:\n  project: my-proj-123\n") =>
  fleetFrom(`name: tf\n${gcpBlock}bots:\n  - name: bot-one\n    target: gcp-cloud-run\n    region: europe-west1\n${botExtra}`);

describe("bot-gamma: the Cloud Run service", () => {
  test("runs exactly one instance, never zero, with CPU always allocated and a startup boost", () => {
    expect(service.template.scaling).toEqual({ min_instance_count: 1, max_instance_count: 1 });
    for (const c of service.template.containers) {
      // The provider drops cpu_idle = false from the request (an empty value); CPU stays allocated
      // because resources are set: "if 'resources' is set, this field must be explicitly set to
      // true to preserve the default" (google v6.50.0 resource_cloud_run_v2_service.go, cpu_idle).
      expect(c.resources.cpu_idle).toBe(false);
      expect(Object.keys(c.resources.limits).sort()).toEqual(["cpu", "memory"]);
      // Alike on every container: with the boost on one only, the provider keeps failing to
      // apply it (hashicorp/terraform-provider-google#20784).
      expect(c.resources.startup_cpu_boost).toBe(true);
    }
  });

  test("gets the tier's CPU and memory (and state-sync's, when it runs inside), a 3600 s request timeout and the runtime's port", () => {
    // light: 2560 MiB for the agent, 768 for state-sync beside a 256 MiB state (bot-service.ts).
    expect(container.resources.limits).toEqual({ cpu: "1", memory: "3328Mi" });
    expect(service.template.timeout).toBe("3600s");
    expect(container.ports).toEqual({ container_port: 18789 });
    const big = synthFleet(gcpFleet("    tier: performance\n")).stacks["bot-one"];
    expect(resources(big, "google_cloud_run_v2_service")[0].template.containers[0].resources.limits).toEqual({ cpu: "2", memory: "8Gi" });
  });

  test("pulls the pinned image through the fleet's ghcr.io mirror in Artifact Registry", () => {
    expect(container.image).toBe("us-central1-docker.pkg.dev/botfleet-demo/demo-ghcr/openclaw/openclaw:2026.9.6");
    const mirror = resources(shared, "google_artifact_registry_repository").find((r) => r.repository_id === "demo-ghcr")!;
    expect(mirror.mode).toBe("REMOTE_REPOSITORY");
    expect(mirror.remote_repository_config.docker_repository.custom_repository.uri).toBe("https://ghcr.io");
  });

  test("pulls nothing from outside the project: Docker Hub images through the fleet's Docker Hub mirror, official ones in library/", () => {
    const mirror = resources(shared, "google_artifact_registry_repository").find((r) => r.repository_id === "demo-dockerhub")!;
    expect(mirror.mode).toBe("REMOTE_REPOSITORY");
    expect(mirror.remote_repository_config.docker_repository).toEqual({ public_repository: "DOCKER_HUB" });
    const at = (image: string) => cloudRunImage(image, "demo", "botfleet-demo", "us-central1");
    const hub = "us-central1-docker.pkg.dev/botfleet-demo/demo-dockerhub";
    expect(at("node:24.21.0-bookworm-slim")).toBe(`${hub}/library/node:24.21.0-bookworm-slim`);
    expect(at("docker.io/library/node:24")).toBe(`${hub}/library/node:24`);
    expect(at("docker.io/node:24")).toBe(`${hub}/library/node:24`);
    expect(at("docker.io/acme/agent:1.0")).toBe(`${hub}/acme/agent:1.0`);
    expect(at("acme/agent@sha256:" + "a".repeat(64))).toBe(`${hub}/acme/agent@sha256:${"a".repeat(64)}`);
    expect(at("ghcr.io/acme/agent:1.0")).toBe("us-central1-docker.pkg.dev/botfleet-demo/demo-ghcr/acme/agent:1.0");
    for (const elsewhere of ["us-central1-docker.pkg.dev/botfleet-demo/demo-images/agent:1", "localhost:5000/agent:1", "registry.example.com/agent:1"]) expect(at(elsewhere)).toBe(elsewhere);
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

  // A first revision that cannot read its secrets fails, and the provider
  // keeps the service tainted (it stores the ID before it waits: google v6.50.0
  // google/services/cloudrunv2/resource_cloud_run_v2_service.go, Create), which
  // deletion_protection then refuses to replace. Google: allow-policy changes "typically propagate
  // in 2 minutes, but could potentially take 7 minutes or longer" (IAM, Access change propagation).
  test("creates its first revision only after the secrets' first versions exist and the grants had 7 minutes to propagate", () => {
    const deps: string[] = service.depends_on;
    expect(deps.filter((d) => d.startsWith("google_secret_manager_secret_version."))).toHaveLength(4);
    expect(deps).toContain("time_sleep.iam-propagation");
    const [sleep] = resources(gamma, "time_sleep");
    expect(sleep.create_duration).toBe("7m");
    expect(sleep.depends_on.filter((d: string) => d.startsWith("google_secret_manager_secret_iam_member."))).toHaveLength(4);
    expect(sleep.depends_on).toContain("google_storage_bucket_iam_member.state-bucket-user");
  });

  test("a grant added by a later deploy (a new channel's secret) makes the service update wait again: the sleep's triggers name every grant", () => {
    const [sleep] = resources(gamma, "time_sleep");
    const grants = [
      ...Object.keys(gamma.resource.google_secret_manager_secret_iam_member).map((id) => `\${google_secret_manager_secret_iam_member.${id}.id}`),
      "${google_storage_bucket_iam_member.state-bucket-user.id}",
    ];
    expect(Object.values(sleep.triggers as Record<string, string>).sort()).toEqual(grants.sort());
  });

  test("with a secret unset, the first revision serves the waiting text instead of failing, and says how to set it and restart", () => {
    const env = Object.fromEntries(container.env.filter((e: { value?: string }) => e.value !== undefined).map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env.BOTFLEET_WAITING_SERVER).toMatch(/^'node' '-e' /);
    expect(env.BOTFLEET_SECRET_HINT).toBe(
      "Add each with: printf '%s' \"$VALUE\" | gcloud secrets versions add demo--bot-gamma--<key> --project botfleet-demo --data-file=-, then restart: gcloud run services update demo-bot-gamma --project botfleet-demo --region us-central1 --update-env-vars BOTFLEET_RESTARTED_AT=$(date +%s)",
    );
  });
});

describe("bot-gamma: secrets", () => {
  const secrets = resources(gamma, "google_secret_manager_secret");
  const versions = resources(gamma, "google_secret_manager_secret_version");

  test("one Secret Manager secret per bot secret, named <fleet>--<bot>--<key>", () => {
    expect(secrets.map((s) => s.secret_id).sort()).toEqual(["gateway-token", "llm-api-key", "search-api-key", "telegram-bot-token"].map(names.secret).sort());
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
    expect(resources(open, "google_cloud_run_v2_service_iam_member")).toEqual([expect.objectContaining({ role: "roles/run.invoker", member: "allUsers" })]);
  });
});

describe("bot-gamma: state", () => {
  const [bucket] = resources(gamma, "google_storage_bucket");
  const standard = synthFleet(gcpFleet("    tier: standard\n")).stacks["bot-one"];
  const standardSidecar = resources(standard, "google_cloud_run_v2_service")[0].template.containers[1];
  const oneNames = gcpBotNames("tf", "my-proj-123", "bot-one");

  test("lives in the bot's own private, versioned bucket, as the durable copy of the live state", () => {
    expect(bucket).toMatchObject({
      name: names.stateBucket,
      location: "US-CENTRAL1",
      uniform_bucket_level_access: true,
      public_access_prevention: "enforced",
      versioning: { enabled: true },
      force_destroy: false,
    });
    expect(bucket.name).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    expect(service.template.execution_environment).toBe("EXECUTION_ENVIRONMENT_GEN2");
  });

  // Issue 14: SQLite in WAL mode needs locking and one writer; Cloud Storage FUSE has neither.
  test("the live state is on the instance's in-memory volume, never a Cloud Storage mount", () => {
    expect(service.template.volumes).toEqual([{ name: "state", empty_dir: { medium: "MEMORY", size_limit: "256Mi" } }]);
    expect(JSON.stringify(service.template)).not.toContain('"gcs"');
    expect(container.volume_mounts).toEqual([{ name: "state", mount_path: "/home/node/.openclaw" }]);
    expect(standardSidecar.volume_mounts).toEqual([{ name: "state", mount_path: STATE_SYNC_MOUNT }]);
  });

  // Issue 33: a sidecar takes a whole vCPU (fractional CPU needs request-based billing), which
  // doubled a light bot's CPU price. Where the image's own node can run the engine and the agent's
  // vCPU allows the memory, the launcher runs it inside the agent's container instead.
  test("state-sync runs inside the agent's container of a light OpenClaw bot, with the engine's own source and no secret", () => {
    expect(service.template.containers).toHaveLength(1);
    expect(container).not.toHaveProperty("depends_on");
    const env = envOf(container);
    expect(env).toMatchObject({
      STATE_SYNC_MAIN: "1",
      STATE_SYNC_DIR: "/home/node/.openclaw",
      STATE_SYNC_STORE: `gcs:${names.stateBucket}`,
      BOTFLEET_STATE_SYNC_NODE: "node",
      BOTFLEET_STATE_SYNC_LOADER: STATE_SYNC_LOADER,
      BOTFLEET_STATE_READY: "/home/node/.openclaw/.botfleet-state-ready",
      // The agent's stop is bounded so the final snapshot after it fits Cloud Run's 10 s.
      BOTFLEET_AGENT_STOP_SECONDS: "4",
    });
    expect(env).not.toHaveProperty("STATE_SYNC_PORT");
    expect(gunzipSync(Buffer.from(env.BOTFLEET_STATE_SYNC_ENGINE!, "base64")).toString("utf8")).toBe(withoutCommentLines(STATE_SYNC_SOURCE));
    // A literal value is at most 32768 bytes (Cloud Run Admin API v2, EnvVar.value).
    for (const e of container.env) expect(Buffer.byteLength(e.value ?? "")).toBeLessThanOrEqual(32768);
  });

  test("a sidecar where the agent's vCPU cannot hold state-sync's memory too (standard: 4 GiB + 1280 MiB > 4 GiB), the image has no node for it (nanobot) or is the bot's own", () => {
    const containersOf = (extra: string) => resources(synthFleet(gcpFleet(extra)).stacks["bot-one"], "google_cloud_run_v2_service")[0].template.containers;
    expect(containersOf("    tier: standard\n").map((c: { name: string }) => c.name)).toEqual(["agent", "state-sync"]);
    expect(containersOf("    tier: performance\n").map((c: { name: string }) => c.name)).toEqual(["agent", "state-sync"]);
    expect(containersOf("    runtime: nanobot\n").map((c: { name: string }) => c.name)).toEqual(["agent", "state-sync"]);
    // A bot's own image: its node is not known.
    expect(containersOf("    image: ghcr.io/example/openclaw-custom:1.0\n").map((c: { name: string }) => c.name)).toEqual(["agent", "state-sync"]);
    expect(containersOf("    tier: standard\n")[0].resources.limits).toEqual({ cpu: "1", memory: "4Gi" });
  });

  test("the state-sync sidecar keeps the durable copy in the bot's bucket, from the pinned Node image, with the engine's own source", () => {
    const sidecar = standardSidecar;
    expect(sidecar.name).toBe("state-sync");
    expect(sidecar.image).toBe(`europe-west1-docker.pkg.dev/my-proj-123/tf-dockerhub/library/${STATE_SYNC_IMAGE}`);
    expect(sidecar.command).toEqual(STATE_SYNC_COMMAND);
    expect(gunzipSync(Buffer.from(sidecar.command[3], "base64")).toString("utf8")).toBe(withoutCommentLines(STATE_SYNC_SOURCE));
    expect(envOf(sidecar)).toMatchObject({
      STATE_SYNC_MAIN: "1",
      STATE_SYNC_DIR: STATE_SYNC_MOUNT,
      STATE_SYNC_STORE: `gcs:${oneNames.stateBucket}`,
      STATE_SYNC_OWNER: "1000:1000",
      STATE_SYNC_PORT: "8479",
    });
    // 1 vCPU, twice the 512 MiB volume plus 256 MiB.
    expect(sidecar.resources.limits).toEqual({ cpu: "1", memory: "1280Mi" });
    // Its startup probe passes while it waits for the lock, so an overlapping revision can start.
    expect(sidecar.startup_probe.tcp_socket).toEqual({ port: 8479 });
    expect(sidecar).not.toHaveProperty("ports");
  });

  test("with a sidecar, the agent starts after it, and its launcher waits for the restored state", () => {
    const [agent] = resources(standard, "google_cloud_run_v2_service")[0].template.containers;
    expect(agent.depends_on).toEqual(["state-sync"]);
    expect(agent.env).toContainEqual({ name: "BOTFLEET_STATE_READY", value: "/home/node/.openclaw/.botfleet-state-ready" });
    expect(envOf(agent)).not.toHaveProperty("BOTFLEET_STATE_SYNC_ENGINE");
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
    for (const name of ["run", "secretmanager", "artifactregistry", "cloudbuild", "iam", "iamcredentials", "sts"]) expect(apis.map((a) => a.service)).toContain(`${name}.googleapis.com`);
    for (const a of apis) expect(a.disable_on_destroy).toBe(false);
  });

  // Refreshing a google_project_service reads the project through Cloud Resource Manager
  // (google v6.50.0 google/services/resourcemanager/resource_google_project_service.go, Read:
  // Projects.Get), which a new project lacks: the shared stack cannot be the one to switch it on.
  test("the walkthrough enables Cloud Resource Manager before the first deploy, and the shared stack keeps it on", () => {
    const walkthrough = readFileSync(join(ROOT, "docs/targets/gcp-cloud-run.md"), "utf8");
    const enable = walkthrough.indexOf("gcloud services enable cloudresourcemanager.googleapis.com --project botfleet-demo");
    expect(enable).toBeGreaterThan(walkthrough.indexOf("gcloud projects create botfleet-demo"));
    expect(enable).toBeLessThan(walkthrough.indexOf("npx cdktf deploy gcp-shared-us-central1"));
    expect(resources(shared, "google_project_service").map((a) => a.service)).toContain("cloudresourcemanager.googleapis.com");
  });

  test("has a Docker repository for the fleet's images", () => {
    const repo = resources(shared, "google_artifact_registry_repository").find((r) => r.mode === "STANDARD_REPOSITORY")!;
    expect(repo).toMatchObject({ repository_id: "demo-images", format: "DOCKER", location: "us-central1" });
  });

  // A branch of the repository can rewrite its workflow (id-token: write, any trigger): only a job
  // in the deploy environment, whose branch policy admits main alone, may become the deployer.
  test("federates GitHub Actions of the configured repository, branch and deploy environment only", () => {
    const [provider] = resources(shared, "google_iam_workload_identity_pool_provider");
    expect(provider.oidc.issuer_uri).toBe(GITHUB_OIDC_ISSUER);
    expect(provider.attribute_condition).toBe('assertion.repository == "example-org/bot-fleet" && assertion.environment == "production" && assertion.ref == "refs/heads/main"');
    expect(provider.attribute_mapping["attribute.repository"]).toBe("assertion.repository");
  });

  test("creates each Cloud Run bot's own runtime account, which the bot stack finds by name", () => {
    const runtime = resources(shared, "google_service_account").filter((a) => a.account_id.startsWith("run-"));
    expect(runtime.map((a) => a.account_id)).toEqual([names.serviceAccount]);
    expect(account.account_id).toBe(names.serviceAccount);
    expect(gamma.resource.google_service_account).toBeUndefined();
  });

  // The deployer used to hold roles/iam.serviceAccountUser (act as any account in the project)
  // and roles/iam.serviceAccountAdmin (which can grant that on any account to itself).
  test("lets the deployer act only as the bots' runtime accounts, one grant each, and change no service account", () => {
    const actAs = resources(shared, "google_service_account_iam_member").filter((m) => m.role === "roles/iam.serviceAccountUser");
    expect(actAs).toEqual([
      { service_account_id: "${google_service_account.runtime-bot-gamma.name}", role: "roles/iam.serviceAccountUser", member: "serviceAccount:${google_service_account.deployer.email}" },
    ]);
    const projectRoles = resources(shared, "google_project_iam_member").map((m) => m.role);
    expect(projectRoles.filter((r) => r.startsWith("roles/iam."))).toEqual([]);
  });

  test("lets only that repository impersonate the deployer, which holds the deploy roles and no more", () => {
    const [binding] = resources(shared, "google_service_account_iam_member").filter((m) => m.role === "roles/iam.workloadIdentityUser");
    expect(binding.role).toBe("roles/iam.workloadIdentityUser");
    expect(binding.member).toBe("principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github-pool.name}/attribute.repository/example-org/bot-fleet");
    const roles = resources(shared, "google_project_iam_member")
      .map((m) => m.role)
      .sort();
    expect(roles).toEqual(Object.keys(deployerRoles(fleet)).sort());
    expect(roles).not.toContain("roles/owner");
    expect(roles).not.toContain("roles/editor");
  });

  test("without gcp.github there is no federation at all", () => {
    const plain = synthFleet(gcpFleet()).stacks["gcp-shared-europe-west1"];
    expect(plain.resource.google_iam_workload_identity_pool).toBeUndefined();
    expect(resources(plain, "google_service_account").map((a) => a.account_id)).toEqual([gcpBotNames("tf", "my-proj-123", "bot-one").serviceAccount]);
  });

  test("pins the repository and the deploy environment when no branch is given", () => {
    const anyBranch = synthFleet(gcpFleet("", "gcp:\n  project: my-proj-123\n  github:\n    repository: o/r\n")).stacks["gcp-shared-europe-west1"];
    expect(resources(anyBranch, "google_iam_workload_identity_pool_provider")[0].attribute_condition).toBe('assertion.repository == "o/r" && assertion.environment == "production"');
  });
});
