import { z } from "zod";
import { TIERS, type Tier } from "../contracts";
import { HOSTNAME } from "../contracts";
import { cidr, cidrContains, cidrPrefix, cidrsOverlap, isIpv4Cidr } from "./cidr";
import { OPENCLAW_CATALOG } from "./openclaw-catalog";
import { POLICY_RULES, RULE_IDS } from "../contracts/policy-rules";
import { CLOUD_CHECKS } from "../targets/clouds";
import { CLOUDS_IN_ORDER, DEFAULT_TARGET, TARGET_IDS, TARGET_ONLY_SETTINGS, TARGETS as TARGET_DESCRIPTORS, targetOf, targetSettingsShape, type TargetId } from "../targets/registry";

/**
 * The fleet file's schema. TypeScript types, the JSON Schema for editors (`npm run schema`) and
 * the validation all come from here, so they cannot drift apart.
 */

export const TARGETS = TARGET_IDS;
export const RUNTIMES = ["openclaw", "nanobot"] as const;
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

/** GitHub environment of the deploy job in .github/workflows/deploy.yml (part of its OIDC subject). */
export const GITHUB_DEPLOY_ENVIRONMENT = "production";
/** GitHub environment of the owner job (.github/workflows/owner-stacks.yml): its runs an owner approves. */
export const GITHUB_OWNER_ENVIRONMENT = "fleet-admin";

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

const NAME_RULE = "3-40 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen";
const BOT_NAME = /^[a-z](?:[a-z0-9]|-(?!-)){1,38}[a-z0-9]$/;
const FLEET_NAME = /^[a-z](?:[a-z0-9]|-(?!-)){0,14}[a-z0-9]$/;

const botName = z
  .string()
  .regex(BOT_NAME, `must be ${NAME_RULE} (it becomes the stack name and part of every resource name), e.g. "bot-alpha"`)
  .meta({ description: `Bot name: ${NAME_RULE}. Also the cdktf stack name. Container Apps: at most 32 characters and no name Azure reserves; Cloud Run: <fleet>-<bot> at most 49, without "google".` });

const channel = z
  .strictObject({
    dmPolicy: z.enum(DM_POLICIES).optional().meta({
      description: "Who may DM the bot. Default: allowlist when allowFrom is set, otherwise pairing.",
    }),
    allowFrom: z.array(z.string().min(1).max(200)).max(500).optional().meta({ description: 'User ids allowed to talk to the bot; ["*"] with dmPolicy open allows everyone.' }),
  })
  .superRefine((c, ctx) => {
    const allow = c.allowFrom ?? [];
    if (c.dmPolicy === "allowlist" && allow.length === 0) ctx.addIssue({ code: "custom", path: ["allowFrom"], message: 'dmPolicy "allowlist" needs at least one user id in allowFrom' });
    if (c.dmPolicy === "open" && !allow.includes("*")) ctx.addIssue({ code: "custom", path: ["allowFrom"], message: 'dmPolicy "open" needs allowFrom: ["*"] (it lets anyone talk to the bot)' });
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

/** When a runtime's tool sandbox applies (OpenClaw's agents.defaults.sandbox.mode). */
export const SANDBOX_MODES = ["off", "non-main", "all"] as const;

const sandbox = z.strictObject({
  mode: z.enum(SANDBOX_MODES).optional().meta({
    description:
      "Which sessions run their tools in sandbox containers (off, non-main: all but the owner's main chat, all), where the target has a Docker engine for them (a VM's daemon under Sysbox) and the runtime a Docker sandbox (openclaw). Default: the runtime's recommended mode (openclaw: non-main); off elsewhere, the only mode accepted there.",
  }),
  network: z.boolean().optional().meta({ description: "Sandbox containers may reach the network (still not the metadata service). Default: false." }),
});

/** Settings a bot may set itself or inherit from `defaults`. */
const botSettings = {
  target: z
    .enum(TARGETS)
    .optional()
    .meta({ description: `Where the bot runs. Default: ${DEFAULT_TARGET}.` }),
  runtime: z.enum(RUNTIMES).optional().meta({ description: "Agent runtime. Default: openclaw." }),
  region: z.string().optional().meta({ description: "Cloud region of the target, e.g. eastus2. Default: eastus2." }),
  tier: z.enum(TIERS).optional().meta({ description: "Size class. Default: standard." }),
  model: model.optional().meta({ description: 'LLM as "provider/model". Default: anthropic/claude-sonnet-5.' }),
  persona: persona.optional(),
  sandbox: sandbox.optional().meta({ description: "The agent's tool sandbox: tools run in throwaway containers of a Docker daemon under Sysbox (VM only)." }),
  channels: z.strictObject({ telegram: channel.optional(), discord: channel.optional() }).optional().meta({ description: "Chat channels; a channel is on when its section is present." }),
  image: z
    .string()
    .regex(/^[a-z0-9.-]+(?::[0-9]+)?\/[a-z0-9._/-]+(?::[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$/, "must be a pinned image reference (registry/name:tag or @sha256:digest), never :latest")
    .refine((i) => !i.endsWith(":latest"), { message: "must be pinned to a version, not :latest" })
    .optional()
    .meta({ description: "Override the runtime's pinned image." }),
  // Settings of some targets only (targets/<target>/index.ts).
  ...targetSettingsShape("inheritable"),
};

const suppression = z.strictObject({
  rule: z
    .enum(RULE_IDS)
    .refine((id) => POLICY_RULES[id].suppressible, { message: "cannot be suppressed: it guards what botfleet promises every bot (docs/policy.md#rules)" })
    .meta({ description: "Policy rule id, e.g. BF-TLS-1 (docs/policy.md#rules)." }),
  reason: z
    .string()
    .trim()
    .min(12, "must say why the rule does not hold for this bot (at least 12 characters); it is shown in every review")
    .max(500)
    .meta({ description: "Why the rule does not hold for this bot; shown in the review summary." }),
});

const bot = z.strictObject({
  name: botName,
  ...targetSettingsShape("botOnly"),
  ...botSettings,
  suppressions: z.array(suppression).max(RULE_IDS.length).optional().meta({ description: "Policy rules this bot is excused from, each with a written reason." }),
  retired: z.boolean().optional().meta({
    description:
      "Stops the bot and deletes what runs it (VM, container app or Cloud Run service, its alerts), keeping its identity, secrets and state with the last snapshot; false brings it back with that state. Remove the bot from the file after a deploy to delete the rest (docs/day-2.md#removing-a-bot). Default: false.",
  }),
});

const azure = z
  .strictObject({
    addressSpace: cidr("10.0.0.0/16").default("10.0.0.0/16"),
    botSubnet: cidr("10.0.1.0/24").default("10.0.1.0/24"),
    uniqueSuffix: z
      .string()
      .regex(/^[a-z0-9]{4,8}$/, "must be 4-8 lowercase letters or digits")
      .optional()
      .meta({ description: "Moves the globally unique Azure names (Key Vault, container registry, storage accounts): set it before the first deploy. Its fleet keeps its Azure bots in one region." }),
    containerAppsSubnet: cidr("10.0.2.0/27").optional().meta({
      description: "Subnet of the internal Container Apps environment (/27 or larger, inside addressSpace, apart from botSubnet). Needed by internalOnly bots.",
    }),
    logRetentionDays: z.number().int().min(30).max(730).default(30).meta({ description: "Log Analytics retention of the region's workspace, where Container Apps and VM bots log." }),
    logDailyCapGb: z.number().min(0.1).max(1000).default(1).meta({ description: "Log Analytics daily ingestion cap (GB); logs stop for the day when reached." }),
    alerts: z
      .strictObject({
        email: z.email({ message: "must be an e-mail address" }).meta({ description: "Where Azure bots' alerts go (VM and Container Apps bots)." }),
        restartThreshold: z
          .number()
          .int()
          .min(1)
          .default(3)
          .meta({ description: "Container Apps: restarts of the running replica (since it started) that alert; VM: restarts of the agent's unit in 15 minutes." }),
        authFailureThreshold: z.number().int().min(1).default(10).meta({ description: "Gateway authentication failures in 15 minutes that alert." }),
        disconnectThreshold: z.number().int().min(1).default(5).meta({ description: "Channel disconnect lines in 15 minutes that alert." }),
        messageVolumeThreshold: z.number().int().min(1).default(500).meta({ description: "Channel log lines in 1 hour that count as unusual volume." }),
      })
      .optional()
      .meta({ description: "Alerts for Azure bots (VM and Container Apps); omit for none." }),
  })
  .superRefine((a, ctx) => {
    if (isIpv4Cidr(a.addressSpace) && isIpv4Cidr(a.botSubnet) && !cidrContains(a.addressSpace, a.botSubnet))
      ctx.addIssue({ code: "custom", path: ["botSubnet"], message: `must lie inside addressSpace ${a.addressSpace}` });
    const apps = a.containerAppsSubnet;
    if (apps === undefined || !isIpv4Cidr(apps) || !isIpv4Cidr(a.addressSpace) || !isIpv4Cidr(a.botSubnet)) return;
    if (!cidrContains(a.addressSpace, apps)) ctx.addIssue({ code: "custom", path: ["containerAppsSubnet"], message: `must lie inside addressSpace ${a.addressSpace}` });
    else if (cidrsOverlap(apps, a.botSubnet)) ctx.addIssue({ code: "custom", path: ["containerAppsSubnet"], message: `overlaps botSubnet ${a.botSubnet}; pick a range apart from it` });
    if (cidrPrefix(apps) > 27) ctx.addIssue({ code: "custom", path: ["containerAppsSubnet"], message: "is smaller than /27, the least a Container Apps environment accepts" });
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
  alerts: z
    .strictObject({
      email: z.email({ message: "must be an e-mail address" }).meta({ description: "Where Cloud Run alerts go (a Cloud Monitoring e-mail channel per bot)." }),
    })
    .optional()
    .meta({ description: "Alerts for Cloud Run bots (Cloud Monitoring, on their log lines); omit for none." }),
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
    name: z.string().regex(FLEET_NAME, "must be 2-16 lowercase letters, digits and single hyphens, starting with a letter (it prefixes every resource name)").meta({
      description:
        'Fleet name; prefixes every cloud resource name. With Cloud Run bots it may not start with "goog" or contain "google" (bucket names); with Azure bots not contain "microsoft" or "windows".',
    }),
    defaults: z.strictObject(botSettings).optional(),
    azure: azure.prefault({}),
    gcp: gcp.optional().meta({ description: "Google Cloud settings; required when a bot targets gcp-cloud-run." }),
    terraformCloud: terraformCloud.optional(),
    bots: z.array(bot).min(1, "must list at least one bot"),
  })
  .superRefine((f, ctx) => {
    // Checks that combine settings (a bot's region with its target, a setting with the bot's target,
    // names across bots) are tagged: they only follow from a file whose every key is known.
    const cross = (path: readonly PropertyKey[], message: string) => ctx.addIssue({ code: "custom", path: [...path], message, params: CROSS_CHECK });
    const github = f.gcp?.github;
    if (github)
      for (const { field, subject } of githubDeploySubjects(github.repository, github.branch))
        if (Buffer.byteLength(subject) > GOOGLE_SUBJECT_MAX_BYTES)
          ctx.addIssue({
            code: "custom",
            path: ["gcp", "github", field],
            message: `makes GitHub's deploy subject "${subject}" ${Buffer.byteLength(subject)} bytes, more than the ${GOOGLE_SUBJECT_MAX_BYTES} Google accepts for google.subject, so every keyless deploy would be refused; use a shorter ${field} name`,
          });
    const report = cross;
    const targetOfBot = (b: (typeof f.bots)[number]) => targetOf(b.target ?? f.defaults?.target ?? BUILTIN_DEFAULTS.target);
    for (const t of TARGET_DESCRIPTORS)
      t.checkFleet?.(
        f,
        f.bots.filter((b) => targetOfBot(b) === t),
        report,
      );
    for (const cloud of CLOUDS_IN_ORDER) {
      const bots = f.bots.filter((b) => targetOfBot(b).cloud === cloud);
      if (bots.length > 0) CLOUD_CHECKS[cloud].checkFleet?.(f, [...new Set(bots.map((b) => b.region ?? f.defaults?.region ?? BUILTIN_DEFAULTS.region))], report);
    }
    const seen = new Map<string, number>();
    f.bots.forEach((b, i) => {
      const first = seen.get(b.name);
      if (first !== undefined) ctx.addIssue({ code: "custom", path: ["bots", i, "name"], message: `duplicates bots[${first}].name; bot names must be unique (they are stack names)` });
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
      const { target: targetId, region, runtime } = s;
      const target = targetOf(targetId);
      if (!target.regions.includes(region)) {
        if (b.region === undefined && f.defaults?.region === undefined)
          cross(["bots", i], `has no region, and the default region "${region}" is not ${target.regionNoun}; set the bot's region to one (all regions: config/regions.ts)`);
        else
          cross(
            b.region !== undefined ? ["bots", i, "region"] : ["defaults", "region"],
            `is not ${target.regionNoun} for target ${target.id}${suggest(region, target.regions)} (all regions: config/regions.ts)`,
          );
      }
      // In `defaults` such a setting simply applies to the bots of its targets.
      for (const [key, targets] of TARGET_ONLY_SETTINGS)
        if ((b as Record<string, unknown>)[key] !== undefined && !targets.includes(target.id))
          cross(["bots", i, key], `applies only to target ${targets.join(" or ")}, and this bot's target is ${target.id}; remove it or change the target`);
      // Only a target with a Docker engine for sandbox containers (a VM's daemon under Sysbox) can
      // back one, and only a runtime that has a Docker sandbox uses it.
      if (b.sandbox?.mode !== undefined && b.sandbox.mode !== "off" && (!("engine" in target.toolSandbox) || runtime !== "openclaw"))
        cross(
          ["bots", i, "sandbox", "mode"],
          `is not available: ${"none" in target.toolSandbox ? target.toolSandbox.none : `runtime ${runtime} has no Docker tool sandbox`}; remove it (the sandbox is off there) or use target ${TARGETS.filter((t) => "engine" in targetOf(t).toolSandbox).join(" or ")} with runtime openclaw`,
        );
      const modelProvider = s.model.split("/")[0] as ModelProvider;
      const openclawProblem = runtime === "openclaw" && modelProvider in MODEL_PROVIDERS ? openclawModelProblem(s.model) : undefined;
      if (openclawProblem) cross(b.model !== undefined ? ["bots", i, "model"] : ["defaults", "model"], openclawProblem);
      if (runtime === "nanobot" && modelProvider in MODEL_PROVIDERS && !(modelProvider in NANOBOT_PROVIDERS))
        cross(
          ["bots", i, b.model !== undefined ? "model" : "runtime"],
          `uses provider "${modelProvider}", which nanobot has no section for; use one of: ${Object.keys(NANOBOT_PROVIDERS).join(", ")}, or runtime openclaw`,
        );
      CLOUD_CHECKS[target.cloud].checkBot?.(f, b, ["bots", i], report);
      target.check?.({ fleet: f, bot: b, settings: s, path: ["bots", i], report });
    });
  });

/** The `params` of a problem that combines settings (see FleetFileSchema's refinement). */
export const CROSS_CHECK = { crossCheck: true } as const;

export const BUILTIN_DEFAULTS = {
  target: DEFAULT_TARGET,
  runtime: "openclaw",
  region: "eastus2",
  tier: "standard",
  model: "anthropic/claude-sonnet-5",
} as const;

/** `o` without the keys whose value is undefined, so spreading it never overrides a default. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export { TIERS, type Tier };
export type FleetFile = z.output<typeof FleetFileSchema>;
export type Target = TargetId;
export type Runtime = (typeof RUNTIMES)[number];
export type DmPolicy = (typeof DM_POLICIES)[number];
export type SandboxMode = (typeof SANDBOX_MODES)[number];

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
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
