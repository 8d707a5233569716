import { z } from "zod";
import { bucketNameProblem, gcpBotNames } from "../../config/names";
import { GCP_REGIONS } from "../../config/regions";
import { envAgentConfig, first, list, members } from "../../tfjson/terraform-json";
import { gibibytes, PRICES, SECONDS_PER_MONTH } from "../prices";
import { publicAccess } from "../public-access";
import { agentConfigChecks, type AgentConfigOf, literalSecretEnv } from "../checks";
import { defineTarget } from "../types";

const { gcp } = PRICES;

/** Registries Cloud Run can pull from: ghcr.io and docker.io go through the fleet's Artifact Registry mirrors. */
export const CLOUD_RUN_REGISTRIES = /^(ghcr\.io|docker\.io|[a-z0-9-]+-docker\.pkg\.dev)\//;

/**
 * CPU and memory of the agent per tier, and the size of the in-memory volume that holds its live
 * state (Cloud Run counts it against the instance's memory).
 */
export const CLOUD_RUN_SIZES = {
  // 2.5 GiB at least: the pinned gateway reaches 1.3 to 1.8 GB in a busy session (containers/
  // gateway-memory); Cloud Run gives 1 vCPU up to 4 GiB, 2 vCPU up to 8 GiB.
  light: { cpu: "1", memory: "2560Mi", state: "256Mi" },
  standard: { cpu: "1", memory: "4Gi", state: "512Mi" },
  performance: { cpu: "2", memory: "8Gi", state: "1Gi" },
};

export const CLOUD_RUN = "google_cloud_run_v2_service";

/** The agent config a workload of this target carries. */
const agentConfigOf: AgentConfigOf = ({ body }) => envAgentConfig(first(body.template)?.containers);
const agentConfig = agentConfigChecks(agentConfigOf);

/** A bot as one always-on Cloud Run service instance, state-sync inside its container or in a sidecar. */
export const gcpCloudRun = defineTarget({
  id: "gcp-cloud-run",
  cloud: "gcp",
  regions: GCP_REGIONS,
  regionNoun: "a Google Cloud region",
  settings: {
    inheritable: {
      publicAccess,
      deletionProtection: z.boolean().optional().meta({
        description: "gcp-cloud-run: Terraform refuses to destroy the Cloud Run service until this is false. Default: true.",
      }),
    },
  },
  resolve: (b, d, fleet) => {
    // The `check` below refuses a Cloud Run bot in a fleet without `gcp`.
    if (!fleet.gcp) throw new Error("a gcp-cloud-run bot needs the fleet's gcp settings");
    return {
      /** Anyone may reach the gateway (its token is the only gate). */
      publicAccess: (b.publicAccess ?? d.publicAccess ?? false) as boolean,
      /** Terraform refuses to destroy the service. */
      deletionProtection: (b.deletionProtection ?? d.deletionProtection ?? true) as boolean,
      /** The project the bot runs in (the fleet's `gcp.project`). */
      project: fleet.gcp.project,
    };
  },
  // State buckets start with the fleet name: a fleet name Cloud Storage refuses is reported once.
  checkFleet(f, bots, report) {
    const problem = bucketNameProblem(f.name);
    if (f.gcp && bots.length > 0 && problem)
      report(
        ["name"],
        `${problem}, so every Cloud Run bot's state bucket name (e.g. "${gcpBotNames(f.name, f.gcp.project, bots[0].name).stateBucket}") would too, which Cloud Storage refuses; pick a fleet name without "goog" at the start or "google" in it`,
      );
  },
  check({ fleet: f, bot: b, settings: s, path, report }) {
    if (f.gcp === undefined) report(["gcp"], `is required because bots[${String(path[1])}] (${b.name}) targets gcp-cloud-run; add "gcp: { project: <your project ID> }"`);
    if (typeof s.image === "string" && !CLOUD_RUN_REGISTRIES.test(s.image))
      report(
        b.image !== undefined ? [...path, "image"] : ["defaults", "image"],
        `is in a registry Cloud Run cannot pull from; use ghcr.io or docker.io (both mirrored) or Artifact Registry (<region>-docker.pkg.dev/...)`,
      );
    const bucket = f.gcp && gcpBotNames(f.name, f.gcp.project, b.name).stateBucket;
    if (bucket && !bucketNameProblem(f.name) && bucketNameProblem(bucket))
      report([...path, "name"], `makes the state bucket name "${bucket}", which ${bucketNameProblem(bucket)}; Cloud Storage refuses it; pick a bot name without "google"`);
    // Terraform deletes a service under deletion protection only once `false` is in its state
    // (google v6.50.0 google/services/cloudrunv2/resource_cloud_run_v2_service.go:1773-1774).
    if (b.retired === true && s.deletionProtection !== false)
      report(
        [...path, "retired"],
        'would delete the bot\'s Cloud Run service, which deletion protection keeps (Terraform refuses until "false" is deployed); first deploy the bot with "deletionProtection: false", then retire it',
      );
    const service = `${f.name}-${b.name}`;
    if (service.length > 49) report([...path, "name"], `makes the Cloud Run service name "${service}" longer than 49 characters; shorten the bot or fleet name`);
  },
  sizes: CLOUD_RUN_SIZES,
  sharedStack: () => require("../../constructs/gcp-shared-stack").GcpSharedStack,
  botStack: () => require("./bot-stack").GcpCloudRunBotStack,
  compute: {
    [CLOUD_RUN]: {
      "BF-SSH-1": { notApplicable: "Cloud Run runs no SSH server and has no admin user" },
      "BF-GW-1": { notApplicable: "the gateway listens in the instance's own sandbox; only Cloud Run's front end reaches it (BF-ING-1)" },
      "BF-SOCK-1": { notApplicable: "Cloud Run has no Docker socket to give a container" },
      "BF-TLS-1": { notApplicable: "Cloud Run serves its run.app address over HTTPS only" },
      "BF-AUTH-1": agentConfig.auth,
      "BF-DM-1": agentConfig.dms,
      "BF-ING-1": ({ body }) => (body.invoker_iam_disabled === true && body.ingress !== "INGRESS_TRAFFIC_INTERNAL_ONLY" ? ["turns the invoker IAM check off: anyone can call the service"] : []),
      "BF-SEC-1": (resource, stack) => [...list(first(resource.body.template)?.containers).flatMap((c) => literalSecretEnv(c.env)), ...agentConfig.secrets(resource, stack)],
      "BF-ID-1": ({ body }) => {
        const account: unknown = first(body.template)?.service_account;
        return account === undefined || (typeof account === "string" && account.endsWith("-compute@developer.gserviceaccount.com")) ? ["runs as the project's default compute service account"] : [];
      },
      "BF-ONE-1": ({ body }) => {
        const max = first(first(body.template)?.scaling)?.max_instance_count;
        return max !== 1 ? [`max_instance_count is ${max ?? "unset (100)"}, not 1`] : [];
      },
      "BF-ISO-1": ({ body }, stack) => {
        // Bot stacks only (they have a runtime); shared stacks grant the deployer, not a bot.
        if (!stack.runtime) return [];
        const account: unknown = first(body.template)?.service_account;
        const own = stack.referenced(account);
        // The bot's own account: made in this stack, or made for this bot by the shared stack and
        // looked up by its name. The project's default compute account is BF-ID-1's finding.
        if (own?.type === "google_service_account" || String(account).endsWith("-compute@developer.gserviceaccount.com")) return [];
        return [`runs as service account ${account}, which this stack does not own and other bots may share`];
      },
    },
  },
  agentConfig: agentConfigOf,
  toolSandbox: { none: "Cloud Run cannot run Sysbox, so there is no Docker engine for sandbox containers" },
  secretTypes: ["google_secret_manager_secret", "google_secret_manager_secret_version"],
  review: {
    logs: "Cloud Logging: the project's _Default bucket, 30 days",
    noAlerts: "none: set gcp.alerts.email",
    endpoints(view) {
      const publicInvoker = view
        .resources(["google_cloud_run_v2_service_iam_member", "google_cloud_run_v2_service_iam_binding"])
        .some(({ body }) => body.role === "roles/run.invoker" && members(body).includes("allUsers"));
      return view
        .resources([CLOUD_RUN])
        .map(
          ({ body }) =>
            `https://${body.name}-<hash>.${body.location}.run.app: ${publicInvoker || body.invoker_iam_disabled === true ? "anyone (public invoker)" : "callers with roles/run.invoker only"}`,
        );
    },
    diagram({ view, json, runtime, vault, endpoints, label }) {
      const [service] = view.resources([CLOUD_RUN]);
      if (!service) return undefined;
      const containers = list(first(service.body.template)?.containers);
      const limits = first(first(containers)?.resources)?.limits ?? {};
      const bucket = Object.values<{ name: string }>(json.resource?.google_storage_bucket ?? {})[0]?.name ?? "state bucket";
      const open = endpoints.some((e) => e.includes("anyone"));
      return [
        `  callers((${open ? "Internet" : "IAM principals"})) -- ${label(open ? "HTTPS, public" : "HTTPS, IAM-checked")} --> agent`,
        `  agent[${label(`Cloud Run ${service.body.name} · ${runtime.id} · ${limits.cpu} vCPU / ${limits.memory} · 1 instance`)}]`,
        `  agent -- ${label("secret references")} --> vault[(${label(`Secret Manager · ${vault}`)})]`,
        `  agent -- ${label("in-memory volume")} --> sync[${label(containers.length > 1 ? "state-sync sidecar" : "state-sync, in the agent's container")}]`,
        `  sync -- ${label("snapshots, lock object")} --> state[(${label(`bucket ${bucket}`)})]`,
      ];
    },
    pricers: {
      [CLOUD_RUN]: (b, address) => {
        const template = first(b.template);
        const instances = Number(first(template?.scaling)?.min_instance_count ?? 0);
        const containers = list(template?.containers);
        const limits = containers.map((c) => first(c.resources)?.limits ?? {});
        const cpu = limits.reduce((sum, l) => sum + Number(l.cpu), 0);
        const gib = limits.reduce((sum, l) => sum + gibibytes(l.memory), 0);
        if (!Number.isFinite(cpu + gib)) return undefined;
        const monthly = instances * SECONDS_PER_MONTH * (cpu * gcp.cloudRunVcpuSecond + gib * gcp.cloudRunGibSecond);
        return [{ address, item: `${instances} × instance always allocated, ${cpu} vCPU / ${gib} GiB`, monthly }];
      },
      google_secret_manager_secret: (_, address) => [{ address, item: "Secret Manager: 1 active version", monthly: gcp.secretVersionPerMonth }],
    },
  },
});
