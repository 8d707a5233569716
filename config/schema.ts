import { z } from "zod";
import { AZURE_REGIONS, GCP_REGIONS } from "./regions";
import { cidrContains, cidrPrefix, cidrsOverlap, isIpv4Cidr } from "./cidr";
import { OPENCLAW_CATALOG } from "./openclaw-catalog";
import { POLICY_RULES, RULE_IDS } from "../policy/catalog";
import { azureBotNames, azureReservedNameProblem, azureSharedNames, bucketNameProblem, gcpBotNames } from "./names";

/**
 * The fleet file's schema. TypeScript types, the JSON Schema for editors (`npm run schema`) and
 * the validation all come from here, so they cannot drift apart.
 */

export const TARGETS = ["azure-vmss", "azure-container-apps", "gcp-cloud-run"] as const;
export const RUNTIMES = ["openclaw", "nanobot"] as const;
export const TIERS = ["light", "standard", "performance"] as const;
export const DM_POLICIES = ["pairing", "allowlist", "open", "disabled"] as const;

/** LLM providers botfleet knows the API-key variable of, keyed by the model's `provider/` prefix. */
export const MODEL_PROVIDERS = {
  anthropic: "ANTHROPIC_API_KEY",
  openai: "OPENAI_API_KEY",
  openrouter: "OPENROUTER_API_KEY",
  google: "GEMINI_API_KEY",
  mistral: "MISTRAL_API_KEY",
  groq: "GROQ_API_KEY",
  xai: "XAI_API_KEY",
  deepseek: "DEEPSEEK_API_KEY",
} as const;
export type ModelProvider = keyof typeof MODEL_PROVIDERS;

/** nanobot's `providers.<name>` section for each model provider it supports. */
export const NANOBOT_PROVIDERS: Partial<Record<ModelProvider, string>> = {
  anthropic: "anthropic",
  openai: "openai",
  openrouter: "openrouter",
  deepseek: "deepseek",
  groq: "groq",
  google: "gemini",
};

export const TARGET_CLOUD: Record<Target, "azure" | "gcp"> = { "azure-vmss": "azure", "azure-container-apps": "azure", "gcp-cloud-run": "gcp" };

/** Bot settings that mean something on some targets only; elsewhere they are an error, not ignored. */
export const TARGET_ONLY_SETTINGS = {
  domain: ["azure-vmss"],
  publicAccess: ["gcp-cloud-run", "azure-container-apps"],
  deletionProtection: ["gcp-cloud-run"],
  allowedIpRanges: ["azure-container-apps"],
  deniedIpRanges: ["azure-container-apps"],
  internalOnly: ["azure-container-apps"],
} as const satisfies Record<string, readonly Target[]>;

/** GitHub environment of the deploy job in .github/workflows/deploy.yml (part of its OIDC subject). */
export const GITHUB_DEPLOY_ENVIRONMENT = "production";

/**
 * The subjects GitHub Actions presents for deploys of `repository`: the deploy job's environment,
 * and pushes to the pinned branch (docs.github.com, "About security hardening with OpenID
 * Connect", example subject claims). Workload Identity Federation maps `google.subject` to it and
 * refuses a mapped subject over 127 bytes (cloud.google.com/iam/docs/workload-identity-federation,
 * attribute mappings), so the token exchange of every deploy would fail.
 */
export function githubDeploySubjects(repository: string, branch?: string): { field: "repository" | "branch"; subject: string }[] {
  return [
    { field: "repository", subject: `repo:${repository}:environment:${GITHUB_DEPLOY_ENVIRONMENT}` },
    ...(branch ? [{ field: "branch" as const, subject: `repo:${repository}:ref:refs/heads/${branch}` }] : []),
  ];
}
const GOOGLE_SUBJECT_MAX_BYTES = 127;

/** Registries Cloud Run can pull from: ghcr.io goes through the fleet's Artifact Registry mirror. */
export const CLOUD_RUN_REGISTRIES = /^(ghcr\.io|docker\.io|[a-z0-9-]+-docker\.pkg\.dev)\//;

const NAME_RULE = "3-40 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen";
const BOT_NAME = /^[a-z](?:[a-z0-9]|-(?!-)){1,38}[a-z0-9]$/;
const FLEET_NAME = /^[a-z](?:[a-z0-9]|-(?!-)){0,14}[a-z0-9]$/;
const HOSTNAME = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

const botName = z
  .string()
  .regex(BOT_NAME, `must be ${NAME_RULE} (it becomes the stack name and part of every resource name), e.g. "bot-alpha"`)
  .meta({ description: `Bot name: ${NAME_RULE}. Also the cdktf stack name. Container Apps: at most 32 characters and no name Azure reserves; Cloud Run: <fleet>-<bot> at most 49, without "google".` });

const channel = z
  .strictObject({
    dmPolicy: z.enum(DM_POLICIES).optional().meta({
      description: "Who may DM the bot. Default: allowlist when allowFrom is set, otherwise pairing.",
    }),
    allowFrom: z
      .array(z.string().min(1).max(200))
      .max(500)
      .optional()
      .meta({ description: 'User ids allowed to talk to the bot; ["*"] with dmPolicy open allows everyone.' }),
  })
  .superRefine((c, ctx) => {
    const allow = c.allowFrom ?? [];
    if (c.dmPolicy === "allowlist" && allow.length === 0)
      ctx.addIssue({ code: "custom", path: ["allowFrom"], message: 'dmPolicy "allowlist" needs at least one user id in allowFrom' });
    if (c.dmPolicy === "open" && !allow.includes("*"))
      ctx.addIssue({ code: "custom", path: ["allowFrom"], message: 'dmPolicy "open" needs allowFrom: ["*"] (it lets anyone talk to the bot)' });
  });

const persona = z.strictObject({
  name: z.string().min(1).max(50).meta({ description: "Display name of the agent." }),
  theme: z.string().max(4000).optional().meta({ description: "Persona description / voice of the agent." }),
  emoji: z.string().max(16).optional(),
});

const model = z
  .string()
  .regex(/^[a-z0-9-]+\/\S+$/, 'must be "provider/model", e.g. "anthropic/claude-sonnet-5"')
  .refine((m) => m.split("/")[0] in MODEL_PROVIDERS, {
    message: `has an unknown provider prefix; use one of: ${Object.keys(MODEL_PROVIDERS).join(", ")}`,
  });

const cidr = (what: string) =>
  z.string().refine(isIpv4Cidr, { message: `is not an IPv4 CIDR with its network address (e.g. ${what})` });

/** Settings a bot may set itself or inherit from `defaults`. */
const botSettings = {
  target: z.enum(TARGETS).optional().meta({ description: "Where the bot runs. Default: azure-vmss." }),
  runtime: z.enum(RUNTIMES).optional().meta({ description: "Agent runtime. Default: openclaw." }),
  region: z.string().optional().meta({ description: "Cloud region of the target, e.g. eastus2. Default: eastus2." }),
  tier: z.enum(TIERS).optional().meta({ description: "Size class. Default: standard." }),
  model: model.optional().meta({ description: 'LLM as "provider/model". Default: anthropic/claude-sonnet-5.' }),
  persona: persona.optional(),
  channels: z
    .strictObject({ telegram: channel.optional(), discord: channel.optional() })
    .optional()
    .meta({ description: "Chat channels; a channel is on when its section is present." }),
  image: z
    .string()
    .regex(/^[a-z0-9.-]+(?::[0-9]+)?\/[a-z0-9._/-]+(?::[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$/, "must be a pinned image reference (registry/name:tag or @sha256:digest), never :latest")
    .refine((i) => !i.endsWith(":latest"), { message: "must be pinned to a version, not :latest" })
    .optional()
    .meta({ description: "Override the runtime's pinned image." }),
  publicAccess: z.boolean().optional().meta({
    description: "gcp-cloud-run, azure-container-apps: let anyone on the internet reach the gateway; the gateway token is then the only gate. Default: false.",
  }),
  allowedIpRanges: z.array(cidr("203.0.113.0/24")).min(1).max(100).optional().meta({
    description: "azure-container-apps: the only source ranges (IPv4 CIDR) the app's ingress admits.",
  }),
  deniedIpRanges: z.array(cidr("203.0.113.0/24")).min(1).max(100).optional().meta({
    description: "azure-container-apps: source ranges the otherwise public ingress refuses (needs publicAccess: true).",
  }),
  internalOnly: z.boolean().optional().meta({
    description: "azure-container-apps: run in the fleet's internal environment, reachable only from the VNet (needs azure.containerAppsSubnet). Default: false.",
  }),
  deletionProtection: z.boolean().optional().meta({
    description: "gcp-cloud-run: Terraform refuses to destroy the Cloud Run service until this is false. Default: true.",
  }),
};

const suppression = z.strictObject({
  rule: z
    .enum(RULE_IDS)
    .refine((id) => POLICY_RULES[id].suppressible, { message: "cannot be suppressed: it guards what botfleet promises every bot (README: Policy)" })
    .meta({ description: "Policy rule id, e.g. BF-TLS-1 (README: Policy)." }),
  reason: z
    .string()
    .trim()
    .min(12, "must say why the rule does not hold for this bot (at least 12 characters); it is shown in every review")
    .max(500)
    .meta({ description: "Why the rule does not hold for this bot; shown in the review summary." }),
});

const bot = z.strictObject({
  name: botName,
  domain: z
    .string()
    .regex(HOSTNAME, 'must be a lowercase DNS name like "alpha.example.com" (no scheme, port or path)')
    .optional()
    .meta({ description: "Public DNS name; Caddy gets a certificate for it. Omit to serve plain HTTP on :80." }),
  ...botSettings,
  suppressions: z
    .array(suppression)
    .max(RULE_IDS.length)
    .optional()
    .meta({ description: "Policy rules this bot is excused from, each with a written reason." }),
});

const azure = z
  .strictObject({
    addressSpace: cidr("10.0.0.0/16").default("10.0.0.0/16"),
    botSubnet: cidr("10.0.1.0/24").default("10.0.1.0/24"),
    uniqueSuffix: z
      .string()
      .regex(/^[a-z0-9]{4,8}$/, "must be 4-8 lowercase letters or digits")
      .optional()
      .meta({ description: "Replaces the hash in globally unique names (Key Vault, storage) if one is taken." }),
    containerAppsSubnet: cidr("10.0.2.0/27").optional().meta({
      description: "Subnet of the internal Container Apps environment (/27 or larger, inside addressSpace, apart from botSubnet). Needed by internalOnly bots.",
    }),
    logRetentionDays: z.number().int().min(30).max(730).default(30).meta({ description: "Log Analytics retention of Container Apps logs." }),
    logDailyCapGb: z.number().min(0.1).max(1000).default(1).meta({ description: "Log Analytics daily ingestion cap (GB); logs stop for the day when reached." }),
    alerts: z
      .strictObject({
        email: z.email({ message: "must be an e-mail address" }).meta({ description: "Where Container Apps alerts go." }),
        restartThreshold: z.number().int().min(1).default(3).meta({ description: "Restarts of the running replica (since it started) that alert." }),
        authFailureThreshold: z.number().int().min(1).default(10).meta({ description: "Gateway authentication failures in 15 minutes that alert." }),
        disconnectThreshold: z.number().int().min(1).default(5).meta({ description: "Channel disconnect lines in 15 minutes that alert." }),
        messageVolumeThreshold: z.number().int().min(1).default(500).meta({ description: "Channel log lines in 1 hour that count as unusual volume." }),
      })
      .optional()
      .meta({ description: "Alerts for Container Apps bots; omit for none." }),
  })
  .superRefine((a, ctx) => {
    if (isIpv4Cidr(a.addressSpace) && isIpv4Cidr(a.botSubnet) && !cidrContains(a.addressSpace, a.botSubnet))
      ctx.addIssue({ code: "custom", path: ["botSubnet"], message: `must lie inside addressSpace ${a.addressSpace}` });
    const apps = a.containerAppsSubnet;
    if (apps === undefined || !isIpv4Cidr(apps) || !isIpv4Cidr(a.addressSpace) || !isIpv4Cidr(a.botSubnet)) return;
    if (!cidrContains(a.addressSpace, apps))
      ctx.addIssue({ code: "custom", path: ["containerAppsSubnet"], message: `must lie inside addressSpace ${a.addressSpace}` });
    else if (cidrsOverlap(apps, a.botSubnet))
      ctx.addIssue({ code: "custom", path: ["containerAppsSubnet"], message: `overlaps botSubnet ${a.botSubnet}; pick a range apart from it` });
    if (cidrPrefix(apps) > 27)
      ctx.addIssue({ code: "custom", path: ["containerAppsSubnet"], message: "is smaller than /27, the least a Container Apps environment accepts" });
  });

const gcp = z.strictObject({
  project: z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, "must be a Google Cloud project ID: 6-30 lowercase letters, digits and hyphens, starting with a letter (the ID, not the display name or number)")
    .meta({ description: "Project every gcp-cloud-run bot runs in." }),
  github: z
    .strictObject({
      repository: z
        .string()
        .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/, 'must be "owner/name" of a GitHub repository, e.g. "octo-org/bots"')
        .meta({ description: "The only repository whose workflows may deploy (Workload Identity Federation). repo:<owner/name>:environment:production must fit google.subject's 127 bytes." }),
      branch: z
        .string()
        .regex(/^[A-Za-z0-9._/-]{1,200}$/, "must be a branch name such as main")
        .optional()
        .meta({ description: "Also pin the branch (refs/heads/<branch>). Default: any ref of the repository." }),
    })
    .optional()
    .meta({ description: "Keyless deploys from GitHub Actions; omit to create no Workload Identity Federation." }),
});

const terraformCloud = z.strictObject({
  // Checked with TFC_ORGANIZATION in config/terraform-cloud.ts, since either may name it.
  organization: z.string().optional().meta({ description: "HCP Terraform organization (1-40 letters, digits, - and _). Default: $TFC_ORGANIZATION; one of them is required." }),
  workspacePrefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,60}$/, "must be letters, digits, - and _")
    .optional()
    .meta({ description: "Workspaces are named <prefix>-<stack>. Default: the fleet name." }),
  hostname: z.string().regex(HOSTNAME).default("app.terraform.io"),
});

export const FleetFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z
      .string()
      .regex(FLEET_NAME, "must be 2-16 lowercase letters, digits and single hyphens, starting with a letter (it prefixes every resource name)")
      .meta({ description: 'Fleet name; prefixes every cloud resource name. With Cloud Run bots it may not start with "goog" or contain "google" (bucket names); with Azure bots not contain "microsoft" or "windows".' }),
    defaults: z.strictObject(botSettings).optional(),
    azure: azure.prefault({}),
    gcp: gcp.optional().meta({ description: "Google Cloud settings; required when a bot targets gcp-cloud-run." }),
    terraformCloud: terraformCloud.optional(),
    bots: z.array(bot).min(1, "must list at least one bot"),
  })
  .superRefine((f, ctx) => {
    const github = f.gcp?.github;
    if (github)
      for (const { field, subject } of githubDeploySubjects(github.repository, github.branch))
        if (Buffer.byteLength(subject) > GOOGLE_SUBJECT_MAX_BYTES)
          ctx.addIssue({
            code: "custom",
            path: ["gcp", "github", field],
            message: `makes GitHub's deploy subject "${subject}" ${Buffer.byteLength(subject)} bytes, more than the ${GOOGLE_SUBJECT_MAX_BYTES} Google accepts for google.subject, so every keyless deploy would be refused; use a shorter ${field} name`,
          });
    // State buckets start with the fleet name: a fleet name Cloud Storage refuses is reported once.
    const cloudRun = f.bots.find((b) => (b.target ?? f.defaults?.target ?? BUILTIN_DEFAULTS.target) === "gcp-cloud-run");
    const fleetBucketProblem = bucketNameProblem(f.name);
    if (f.gcp && cloudRun && fleetBucketProblem)
      ctx.addIssue({
        code: "custom",
        path: ["name"],
        message: `${fleetBucketProblem}, so every Cloud Run bot's state bucket name (e.g. "${gcpBotNames(f.name, f.gcp.project, cloudRun.name).stateBucket}") would too, which Cloud Storage refuses; pick a fleet name without "goog" at the start or "google" in it`,
      });
    // Each Azure region's Key Vault and registry carry the fleet name.
    const azureRegions = new Set(
      f.bots.filter((b) => TARGET_CLOUD[b.target ?? f.defaults?.target ?? BUILTIN_DEFAULTS.target] === "azure").map((b) => b.region ?? f.defaults?.region ?? BUILTIN_DEFAULTS.region),
    );
    const reservedShared = [...azureRegions]
      .map((region) => azureSharedNames(f.name, region, f.azure.uniqueSuffix))
      .flatMap((n) => [n.keyVault, n.containerRegistry])
      .map((name) => ({ name, problem: azureReservedNameProblem(name) }))
      .find((n) => n.problem);
    if (reservedShared)
      ctx.addIssue({ code: "custom", path: ["name"], message: `makes the shared name "${reservedShared.name}", which ${reservedShared.problem}; Azure refuses it as a reserved word (ReservedResourceName); pick another fleet name${f.azure.uniqueSuffix ? " or azure.uniqueSuffix" : ""}` });
    const seen = new Map<string, number>();
    f.bots.forEach((b, i) => {
      const first = seen.get(b.name);
      if (first !== undefined)
        ctx.addIssue({ code: "custom", path: ["bots", i, "name"], message: `duplicates bots[${first}].name; bot names must be unique (they are stack names)` });
      else seen.set(b.name, i);
      (b.suppressions ?? []).forEach((s, j) => {
        if (b.suppressions!.findIndex((o) => o.rule === s.rule) !== j)
          ctx.addIssue({ code: "custom", path: ["bots", i, "suppressions", j, "rule"], message: "is suppressed twice for this bot; keep one entry" });
      });
      if (b.name.startsWith("azure-shared-") || b.name.startsWith("gcp-shared-") || b.name === "hcp-terraform")
        ctx.addIssue({ code: "custom", path: ["bots", i, "name"], message: "is reserved for shared stacks and the hcp-terraform stack; pick another bot name" });
    });
    f.bots.forEach((b, i) => {
      // The bot's settings with defaults applied, as the loader will resolve them.
      const s = { ...BUILTIN_DEFAULTS, ...definedOnly(f.defaults ?? {}), ...definedOnly(b) };
      const { target, region, runtime } = s;
      const known: readonly string[] = TARGET_CLOUD[target] === "azure" ? AZURE_REGIONS : GCP_REGIONS;
      if (!known.includes(region)) {
        const path = b.region !== undefined ? ["bots", i, "region"] : ["defaults", "region"];
        ctx.addIssue({ code: "custom", path, message: `is not ${TARGET_CLOUD[target] === "azure" ? "an Azure" : "a Google Cloud"} region for target ${target}${suggest(region, known)} (all regions: config/regions.ts)` });
      }
      // In `defaults` such a setting simply applies to the bots of its targets.
      for (const [key, targets] of Object.entries(TARGET_ONLY_SETTINGS) as [keyof typeof b, readonly Target[]][])
        if (b[key] !== undefined && !targets.includes(target))
          ctx.addIssue({ code: "custom", path: ["bots", i, key], message: `applies only to target ${targets.join(" or ")}, and this bot's target is ${target}; remove it or change the target` });
      const modelProvider = s.model.split("/")[0] as ModelProvider;
      const openclawProblem = runtime === "openclaw" && modelProvider in MODEL_PROVIDERS ? openclawModelProblem(s.model) : undefined;
      if (openclawProblem) ctx.addIssue({ code: "custom", path: b.model !== undefined ? ["bots", i, "model"] : ["defaults", "model"], message: openclawProblem });
      if (runtime === "nanobot" && modelProvider in MODEL_PROVIDERS && !(modelProvider in NANOBOT_PROVIDERS))
        ctx.addIssue({ code: "custom", path: ["bots", i, b.model !== undefined ? "model" : "runtime"], message: `uses provider "${modelProvider}", which nanobot has no section for; use one of: ${Object.keys(NANOBOT_PROVIDERS).join(", ")}, or runtime openclaw` });
      // An Azure bot's own storage account (an endpoint) carries its name.
      const account = TARGET_CLOUD[target] === "azure" ? azureBotNames(f.name, b.name).storageAccount : undefined;
      const reservedAccount = account && azureReservedNameProblem(account);
      if (reservedAccount)
        ctx.addIssue({ code: "custom", path: ["bots", i, "name"], message: `makes the bot's storage account name "${account}", which ${reservedAccount}; Azure refuses it as a reserved word (ReservedResourceName); pick another bot name` });
      if (target === "azure-container-apps") {
        if (s.allowedIpRanges && s.deniedIpRanges)
          ctx.addIssue({ code: "custom", path: ["bots", i, b.deniedIpRanges ? "deniedIpRanges" : "allowedIpRanges"], message: "mixes allow and deny rules; Container Apps needs every IP rule of an app to use one action: keep allowedIpRanges or deniedIpRanges, not both" });
        if (s.publicAccess && s.allowedIpRanges)
          ctx.addIssue({ code: "custom", path: ["bots", i, "publicAccess"], message: "contradicts allowedIpRanges (which admits only those ranges); remove one" });
        if (s.deniedIpRanges && !s.publicAccess)
          ctx.addIssue({ code: "custom", path: ["bots", i, "deniedIpRanges"], message: "opens the app to everyone else; set publicAccess: true to say so, or use allowedIpRanges" });
        if (s.internalOnly && f.azure?.containerAppsSubnet === undefined)
          ctx.addIssue({ code: "custom", path: ["bots", i, "internalOnly"], message: "needs a subnet for the internal environment; set azure.containerAppsSubnet (e.g. 10.0.2.0/27)" });
        if (s.internalOnly && s.publicAccess)
          ctx.addIssue({ code: "custom", path: ["bots", i, "internalOnly"], message: "contradicts publicAccess; remove one" });
        if (b.name.length > 32)
          ctx.addIssue({ code: "custom", path: ["bots", i, "name"], message: "is longer than 32 characters, the most a container app name may have; shorten it" });
        // The container app is named as the bot, and it has an endpoint (its FQDN).
        const reserved = azureReservedNameProblem(b.name);
        if (reserved)
          ctx.addIssue({ code: "custom", path: ["bots", i, "name"], message: `${reserved}; the container app is named as the bot, and Azure refuses that as a reserved word (ReservedResourceName); pick another bot name` });
      }
      if (target === "gcp-cloud-run") {
        if (f.gcp === undefined)
          ctx.addIssue({ code: "custom", path: ["gcp"], message: `is required because bots[${i}] (${b.name}) targets gcp-cloud-run; add "gcp: { project: <your project ID> }"` });
        if (s.image !== undefined && !CLOUD_RUN_REGISTRIES.test(s.image))
          ctx.addIssue({ code: "custom", path: b.image !== undefined ? ["bots", i, "image"] : ["defaults", "image"], message: `is in a registry Cloud Run cannot pull from; use ghcr.io (mirrored), docker.io or Artifact Registry (<region>-docker.pkg.dev/...)` });
        const bucket = f.gcp && gcpBotNames(f.name, f.gcp.project, b.name).stateBucket;
        if (bucket && !fleetBucketProblem && bucketNameProblem(bucket))
          ctx.addIssue({ code: "custom", path: ["bots", i, "name"], message: `makes the state bucket name "${bucket}", which ${bucketNameProblem(bucket)}; Cloud Storage refuses it; pick a bot name without "google"` });
        const service = `${f.name}-${b.name}`;
        if (service.length > 49)
          ctx.addIssue({ code: "custom", path: ["bots", i, "name"], message: `makes the Cloud Run service name "${service}" longer than 49 characters; shorten the bot or fleet name` });
      }
    });
  });

export const BUILTIN_DEFAULTS = {
  target: "azure-vmss",
  runtime: "openclaw",
  region: "eastus2",
  tier: "standard",
  model: "anthropic/claude-sonnet-5",
} as const;

/** `o` without the keys whose value is undefined, so spreading it never overrides a default. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type FleetFile = z.output<typeof FleetFileSchema>;
export type Target = (typeof TARGETS)[number];
export type Runtime = (typeof RUNTIMES)[number];
export type Tier = (typeof TIERS)[number];
export type DmPolicy = (typeof DM_POLICIES)[number];

/** Closest candidate by edit distance, as a "did you mean" hint; empty when nothing is close. */
/**
 * Why the pinned OpenClaw cannot run `model` as configured (config/openclaw-models.json, extracted
 * from the package), or undefined when it can.
 */
export function openclawModelProblem(model: string): string | undefined {
  const [provider, ...rest] = model.split("/");
  const id = rest.join("/");
  const { version, providers } = OPENCLAW_CATALOG;
  const entry = providers[provider];
  const usable = Object.keys(MODEL_PROVIDERS).filter((p) => p in providers);
  if (!entry)
    return `uses provider "${provider}", for which OpenClaw ${version} bundles no plugin (the gateway would fetch one from npm at start); use one of: ${usable.join(", ")}, or runtime nanobot`;
  // Runtime discovery: the provider lists its models to the running gateway; the manifest's list is partial.
  if (entry.discovery === "runtime" || entry.models.includes(id)) return undefined;
  const close = [...entry.models].sort((a, b) => editDistance(id, a) - editDistance(id, b)).slice(0, 3);
  return `is not a model OpenClaw ${version} knows for ${provider}; close matches: ${close.map((m) => `${provider}/${m}`).join(", ")} (all: config/openclaw-models.json)`;
}

export function suggest(value: string, candidates: readonly string[]): string {
  let best = "";
  let bestDistance = Math.max(2, Math.floor(value.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(value.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best ? `; did you mean "${best}"?` : "";
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
