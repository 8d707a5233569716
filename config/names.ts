import { createHash } from "node:crypto";

/**
 * Every cloud resource name botfleet creates, derived only from the fleet name, the region and
 * the bot name, so a bot stack can find the shared resources by name without depending on the
 * shared stack. Names with a global namespace (Key Vault, storage account) carry a short stable
 * hash (or the fleet's `azure.uniqueSuffix`) so two fleets with the same name do not collide.
 * The README's "Names" table documents these rules; keep both in step.
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
  readonly identity: string;
  readonly storageAccount: string;
  readonly stateShare: string;
  readonly logAnalytics: string;
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
    identity: `id-${fleet}-${region}`,
    // Storage account: 3-24 lowercase letters and digits, globally unique.
    storageAccount: `st${fleet.replace(/-/g, "").slice(0, 24 - 2 - suffix.length)}${suffix}`,
    stateShare: "bot-state",
    logAnalytics: `log-${fleet}-${region}`,
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
  /** Directory of this bot inside the shared state share. */
  readonly stateDirectory: string;
  /** Key Vault secret name for a bot secret (`--` cannot occur in bot names, so no two bots collide). */
  secret(key: string): string;
  /** Container app (validated to at most 32 characters). */
  readonly containerApp: string;
  /** The bot's own blob container in the region's storage account: the durable copy of its state. */
  readonly stateContainer: string;
}

export function azureBotNames(fleet: string, bot: string): AzureBotNames {
  return {
    resourceGroup: `rg-${fleet}-${bot}`,
    scaleSet: `vmss-${bot}`,
    // Linux host names: at most 15 characters is what every tool agrees on.
    computerNamePrefix: cut(bot, 15),
    stateDirectory: bot,
    secret: (key) => `${bot}--${key}`,
    containerApp: bot,
    stateContainer: `state-${bot}`,
  };
}

export interface GcpSharedNames {
  /** Artifact Registry Docker repository for the fleet's own images. */
  readonly imageRepository: string;
  /** Artifact Registry remote repository that mirrors ghcr.io (Cloud Run cannot pull from it directly). */
  readonly ghcrMirror: string;
  readonly workloadIdentityPool: string;
  readonly githubProvider: string;
  /** Account ID of the service account GitHub Actions deploys as. */
  readonly deployerAccount: string;
}

export function gcpSharedNames(fleet: string, region: string): GcpSharedNames {
  // Pools and service accounts are project-wide, so the region's hash keeps two shared stacks of
  // one fleet (two regions) apart. Pool: 4-32 of [a-z0-9-]; account: 6-30, starting with a letter.
  const suffix = shortHash(fleet, region);
  return {
    imageRepository: `${fleet}-images`,
    ghcrMirror: `${fleet}-ghcr`,
    workloadIdentityPool: `gh-${cut(fleet, 12)}-${suffix}`,
    githubProvider: "github",
    deployerAccount: `deploy-${cut(fleet, 12)}-${suffix}`,
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

/** Where Cloud Run pulls an image from: ghcr.io images through the fleet's mirror, others as they are. */
export function cloudRunImage(image: string, fleet: string, project: string, region: string): string {
  const ghcr = "ghcr.io/";
  if (!image.startsWith(ghcr)) return image;
  return `${region}-docker.pkg.dev/${project}/${gcpSharedNames(fleet, region).ghcrMirror}/${image.slice(ghcr.length)}`;
}
