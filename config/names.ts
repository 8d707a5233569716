import { createHash } from "node:crypto";

/**
 * Every cloud resource name botfleet creates, derived only from the fleet name, the region and
 * the bot name, so a bot stack can find the shared resources by name without depending on the
 * shared stack. Names with a global namespace (Key Vault, storage account) carry a short stable
 * hash (or the fleet's `azure.uniqueSuffix`) so two fleets with the same name do not collide.
 * docs/architecture.md#stacks-and-names documents these rules; keep both in step.
 */

/** First 6 hex characters of SHA-256: stable across machines and releases. */
export function shortHash(...parts: string[]): string {
  return createHash("sha256").update(parts.join("/")).digest("hex").slice(0, 6);
}

/** Cuts to `max` characters without leaving a trailing hyphen. */
function cut(s: string, max: number): string {
  return s.slice(0, max).replace(/-+$/, "");
}

export interface AzureSharedNames {
  readonly resourceGroup: string;
  readonly virtualNetwork: string;
  readonly botSubnet: string;
  readonly networkSecurityGroup: string;
  readonly keyVault: string;
  readonly logAnalytics: string;
  /** The data collection rule that sends VM bots' syslog to the region's workspace. */
  readonly vmSyslogRule: string;
  /** Azure Container Registry (global, 5-50 letters and digits). */
  readonly containerRegistry: string;
  /** Container Apps environment on the public internet, and the internal one in the VNet. */
  readonly containerAppsEnvironment: string;
  readonly internalContainerAppsEnvironment: string;
  readonly containerAppsSubnet: string;
  readonly actionGroup: string;
}

export function azureSharedNames(fleet: string, region: string, uniqueSuffix?: string): AzureSharedNames {
  const suffix = uniqueSuffix ?? shortHash(fleet, region);
  return {
    resourceGroup: `rg-${fleet}-${region}`,
    virtualNetwork: `vnet-${fleet}-${region}`,
    botSubnet: "snet-bots",
    networkSecurityGroup: `nsg-${fleet}-${region}-bots`,
    // Key Vault: 3-24 of [a-zA-Z0-9-], starts with a letter, no "--", globally unique.
    keyVault: `kv-${cut(fleet, 24 - 4 - suffix.length)}-${suffix}`,
    logAnalytics: `log-${fleet}-${region}`,
    vmSyslogRule: `dcr-${fleet}-${region}-vm-syslog`,
    containerRegistry: `acr${fleet.replace(/-/g, "")}${suffix}`,
    containerAppsEnvironment: `cae-${fleet}-${region}`,
    internalContainerAppsEnvironment: `cae-${fleet}-${region}-internal`,
    containerAppsSubnet: "snet-container-apps",
    actionGroup: `ag-${fleet}-${region}`,
  };
}

export interface AzureBotNames {
  readonly resourceGroup: string;
  readonly scaleSet: string;
  readonly computerNamePrefix: string;
  /** The bot's own user-assigned identity: what it runs as, and all it may reach. */
  readonly identity: string;
  /** The bot's own storage account (global, 3-24 lowercase letters and digits) and its blob
   * container holding the durable copy of the bot's state. */
  readonly storageAccount: string;
  readonly stateContainer: string;
  /** Key Vault secret name for a bot secret (`--` cannot occur in bot names, so no two bots collide). */
  secret(key: string): string;
  /** Container app (validated to at most 32 characters). */
  readonly containerApp: string;
}

/** `uniqueSuffix` (azure.uniqueSuffix) joins the storage account's hash: a taken name moves with it. */
export function azureBotNames(fleet: string, bot: string, uniqueSuffix?: string): AzureBotNames {
  return {
    resourceGroup: `rg-${fleet}-${bot}`,
    scaleSet: `vmss-${bot}`,
    // Linux host names: at most 15 characters is what every tool agrees on.
    computerNamePrefix: cut(bot, 15),
    identity: `id-${bot}`,
    // Storage account: 3-24 lowercase letters and digits, globally unique.
    storageAccount: `st${bot.replace(/-/g, "").slice(0, 16)}${uniqueSuffix ? shortHash(fleet, bot, uniqueSuffix) : shortHash(fleet, bot)}`,
    stateContainer: "state",
    secret: (key) => `${bot}--${key}`,
    containerApp: bot,
  };
}

export interface GcpSharedNames {
  /** Artifact Registry Docker repository for the fleet's own images. */
  readonly imageRepository: string;
  /** Artifact Registry remote repository that mirrors ghcr.io (Cloud Run cannot pull from it directly). */
  readonly ghcrMirror: string;
  /** Artifact Registry remote repository that mirrors Docker Hub (the state-sync sidecar's image, docker.io images). */
  readonly dockerHubMirror: string;
  readonly workloadIdentityPool: string;
  readonly githubProvider: string;
  /** Account ID of the service account GitHub Actions deploys as. */
  readonly deployerAccount: string;
  /** Its display name, naming the repository when it fits IAM's 100 bytes. */
  deployerDisplayName(repository: string): string;
}

export function gcpSharedNames(fleet: string, region: string): GcpSharedNames {
  // Pools and service accounts are project-wide, so the region's hash keeps two shared stacks of
  // one fleet (two regions) apart. Pool: 4-32 of [a-z0-9-]; account: 6-30, starting with a letter.
  const suffix = shortHash(fleet, region);
  return {
    imageRepository: `${fleet}-images`,
    ghcrMirror: `${fleet}-ghcr`,
    dockerHubMirror: `${fleet}-dockerhub`,
    workloadIdentityPool: `gh-${cut(fleet, 12)}-${suffix}`,
    githubProvider: "github",
    deployerAccount: `deploy-${cut(fleet, 12)}-${suffix}`,
    // IAM refuses display names over 100 UTF-8 bytes; repository names are ASCII (schema).
    deployerDisplayName: (repository) => {
      const name = `botfleet ${fleet} deployer`;
      const full = `${name} (GitHub ${repository})`;
      return full.length <= 100 ? full : name;
    },
  };
}

export interface GcpBotNames {
  readonly service: string;
  /** Account ID of the bot's own runtime service account. */
  readonly serviceAccount: string;
  /** Cloud Storage bucket holding the bot's state (global namespace). */
  readonly stateBucket: string;
  /** Secret Manager secret ID for a bot secret. */
  secret(key: string): string;
}

export function gcpBotNames(fleet: string, project: string, bot: string): GcpBotNames {
  return {
    // Validated to fit Cloud Run's 49 characters.
    service: `${fleet}-${bot}`,
    serviceAccount: `run-${cut(bot, 19)}-${shortHash(fleet, bot)}`,
    stateBucket: `${cut(`${fleet}-${bot}`, 48)}-state-${shortHash(project, fleet, bot)}`,
    // Neither fleet nor bot names contain "--", so the parts cannot run into each other.
    secret: (key) => `${fleet}--${bot}--${key}`,
  };
}

/** Whole names Azure reserves for resources with an endpoint (see azureReservedNameProblem). */
const AZURE_RESERVED_NAMES = new Set([
  "access",
  "app_code",
  "app_themes",
  "app_data",
  "app_globalresources",
  "app_localresources",
  "app_webreferences",
  "app_browsers",
  "azure",
  "bing",
  "bizspark",
  "biztalk",
  "cortana",
  "directx",
  "dotnet",
  "dynamics",
  "excel",
  "exchange",
  "forefront",
  "groove",
  "hololens",
  "hyperv",
  "kinect",
  "lync",
  "msdn",
  "o365",
  "office",
  "office365",
  "onedrive",
  "onenote",
  "outlook",
  "powerpoint",
  "sharepoint",
  "skype",
  "visio",
  "visualstudio",
  "web.config",
  "xbox",
]);

/**
 * Why Azure would refuse the name of a resource with an endpoint (Key Vault, storage account,
 * registry, container app) with ReservedResourceName, or undefined: "microsoft" and "windows"
 * anywhere, "login" at the start, or a reserved word as the whole name
 * (https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-reserved-resource-name).
 * The provider does not check this; ARM refuses it at apply time.
 */
export function azureReservedNameProblem(name: string): string | undefined {
  const n = name.toLowerCase();
  const word = ["microsoft", "windows"].find((w) => n.includes(w));
  if (word) return `contains "${word}"`;
  if (n.startsWith("login")) return 'starts with "login"';
  if (AZURE_RESERVED_NAMES.has(n)) return `is the reserved word "${n}"`;
  return undefined;
}

/**
 * Why Cloud Storage would refuse a bucket name that is otherwise well formed, or undefined:
 * names may not start with "goog" or contain "google" or a close misspelling
 * (https://cloud.google.com/storage/docs/buckets#naming). The provider does not check this; the
 * API refuses it at apply time.
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.startsWith("goog")) return 'starts with "goog"';
  if (/g[o0][o0]g[l1]e/.test(name)) return 'contains "google" or a look-alike such as "g00gle"';
  return undefined;
}

/**
 * The Artifact Registry repository of `project` in `region` that holds an image as Cloud Run pulls
 * it (cloudRunImage), or undefined for an image elsewhere.
 */
export function artifactRegistryRepositoryOf(image: string, project: string, region: string): string | undefined {
  const prefix = `${region}-docker.pkg.dev/${project}/`;
  return image.startsWith(prefix) ? image.slice(prefix.length).split("/")[0] : undefined;
}

/**
 * Where Cloud Run pulls an image from: ghcr.io and Docker Hub images through the fleet's mirrors in
 * Artifact Registry, others as they are. Docker Hub's registry API names an official image in the
 * `library/` namespace (`node` is `library/node`): the mirror is asked for that name.
 * A first revision whose image fails to import leaves the service tainted behind deletion
 * protection (gcp-shared-stack.ts), so no image comes from a registry outside the project.
 */
export function cloudRunImage(image: string, fleet: string, project: string, region: string): string {
  const names = gcpSharedNames(fleet, region);
  const mirror = (repository: string, path: string) => `${region}-docker.pkg.dev/${project}/${repository}/${path}`;
  if (image.startsWith("ghcr.io/")) return mirror(names.ghcrMirror, image.slice("ghcr.io/".length));
  // The first part names a registry when there are more, and it has a dot or a port, or is
  // localhost (Docker's own rule); otherwise, and for docker.io, the image is on Docker Hub.
  const parts = image.split("/");
  const registry = parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === "localhost") ? parts[0] : undefined;
  if (registry === undefined || registry === "docker.io") {
    const path = registry ? parts.slice(1) : parts;
    return mirror(names.dockerHubMirror, (path.length === 1 ? ["library", ...path] : path).join("/"));
  }
  return image;
}
