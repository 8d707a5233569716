import { gunzipSync } from "node:zlib";
import { parse } from "yaml";
import { AGENT_CONFIG_ENV } from "../contracts";
import { renderedCloudInit } from "./rendered-cloud-init";

/** Reading cdktf's synthesized Terraform JSON: what the policy rules and the review both need. */

// Terraform JSON is untyped: blocks are objects or lists, values literals or `${...}` expressions.
export type Json = any;

/** A stack's synthesized `cdk.tf.json`. */
export interface StackJson {
  readonly resource?: Record<string, Record<string, Json>>;
  readonly data?: Record<string, Record<string, Json>>;
  readonly variable?: Record<string, Json>;
  readonly [key: string]: Json;
}

/** One resource of a stack, as a rule sees it. */
export interface CheckedResource {
  readonly type: string;
  /** Terraform address, `azurerm_key_vault.key-vault`. */
  readonly address: string;
  /** Construct path, `azure-shared-eastus2/key-vault`. */
  readonly path: string;
  readonly body: Json;
}

/** What the policy asks of the bot's runtime (runtimes/runtime.ts AgentRuntime has it). */
export interface RuntimeChecks {
  gatewayAuthProblem(config: unknown): string | undefined;
}

/** A stack's resources, with the parts of them several rules read (cloud-init, agent config). */
export class StackView {
  private readonly cloudInits = new Map<Json, CloudInit | undefined>();

  constructor(
    readonly json: StackJson,
    readonly runtime: RuntimeChecks | undefined,
  ) {}

  resources(types: readonly string[]): CheckedResource[] {
    return types.flatMap((type) =>
      Object.entries(this.json.resource?.[type] ?? {}).map(([name, body]) => ({
        type,
        address: `${type}.${name}`,
        path: body?.["//"]?.metadata?.path ?? `${type}.${name}`,
        body,
      })),
    );
  }

  /** The decoded `#cloud-config` of a VM: its settings and the files it writes. */
  cloudInit(body: Json): CloudInit | undefined {
    if (!this.cloudInits.has(body)) this.cloudInits.set(body, decodeCloudInit(first(body.os_profile)?.custom_data ?? body.custom_data));
    return this.cloudInits.get(body);
  }

  /** Site addresses of a VM's Caddyfile (`alpha.example.com`, `:80`); undefined without one. */
  caddySites(body: Json): string[] | undefined {
    const caddyfile = Object.entries(this.cloudInit(body)?.files ?? {}).find(([path]) => path.endsWith("/Caddyfile"))?.[1];
    return caddyfile === undefined ? undefined : [...caddyfile.matchAll(/^([^\s{}(#][^{\n]*?)[ \t]*\{[ \t]*$/gm)].map((m) => m[1]);
  }

  /** The agent config botfleet wrote into a VM's cloud-init (`agent-config.json`). */
  cloudInitAgentConfig(body: Json): Json | undefined {
    const file = Object.entries(this.cloudInit(body)?.files ?? {}).find(([path]) => path.endsWith("/agent-config.json"))?.[1];
    return file === undefined ? undefined : parseJson(file);
  }

  /** The resource or data source a whole-value reference (`${type.name.attribute}`) names in this stack. */
  referenced(value: unknown): { kind: "resource" | "data"; type: string; name: string; attribute: string; body: Json } | undefined {
    const m = /^\$\{(data\.)?([a-z0-9_]+)\.([^.}]+)\.([^}]+)\}$/.exec(String(value));
    if (!m) return undefined;
    const kind = m[1] ? "data" : "resource";
    const body = (kind === "data" ? this.json.data : this.json.resource)?.[m[2]]?.[m[3]];
    return body === undefined ? undefined : { kind, type: m[2], name: m[3], attribute: m[4], body };
  }

  /**
   * What the workload's identity may reach, from the grants in this stack, and what about each is
   * wrong for a bot (its blast radius if it is compromised): a bot reaches its own secrets and
   * state, and pulls from the fleet's registry, and nothing else.
   */
  identityReach(): Reach[] {
    const reach: Reach[] = [];
    for (const { address, body } of this.resources(["azurerm_role_assignment"])) {
      const target = this.referenced(body.scope);
      const role = String(body.role_definition_name);
      if (target?.type === "azurerm_key_vault_secret" && target.attribute === "resource_versionless_id")
        reach.push({ address, role, target: `Key Vault secret ${target.body.name}`, problem: /--vm-admin-password$/.test(target.body.name) ? "lets the bot read the VM's admin password" : undefined });
      else if (target?.kind === "resource" && target.type === "azurerm_storage_account" && target.attribute === "id")
        reach.push({ address, role, target: `storage account ${target.body.name} (this bot's own)` });
      else if (target?.kind === "resource" && target.type === "azurerm_storage_container" && target.attribute === "id")
        reach.push({ address, role, target: `blob container ${target.body.name} of this bot's own storage account` });
      else if (target?.type === "azurerm_container_registry" && role === "AcrPull") reach.push({ address, role, target: `registry ${target.body.name} (pull only)` });
      else
        reach.push({
          address,
          role,
          target: target ? `${target.kind === "data" ? "data." : ""}${target.type} ${target.body.name ?? target.name}` : String(body.scope),
          problem: `grants ${role} on something that is not this bot's own (${target ? `${target.kind === "data" ? "shared " : ""}${target.type}` : "a scope from outside the stack"}), so this bot could reach other bots' secrets or state`,
        });
    }
    for (const { address, type, body } of this.resources(["google_secret_manager_secret_iam_member", "google_storage_bucket_iam_member"])) {
      const target = this.referenced(type === "google_storage_bucket_iam_member" ? body.bucket : body.secret_id);
      const own = target?.kind === "resource" && (target.type === "google_secret_manager_secret" || target.type === "google_storage_bucket");
      reach.push({
        address,
        role: String(body.role),
        target: own
          ? target!.type === "google_storage_bucket"
            ? `bucket ${target!.body.name}`
            : `Secret Manager secret ${target!.body.secret_id}`
          : String(target?.body.name ?? body.bucket ?? body.secret_id),
        problem: own ? undefined : "grants on a secret or bucket this stack does not own, so this bot could reach another bot's",
      });
    }
    return reach;
  }

  /** Whether a container app runs in the fleet's internal (VNet-only) environment. */
  inInternalEnvironment(body: Json): boolean {
    const ref = /^\$\{data\.azurerm_container_app_environment\.([^.]+)\.id\}$/.exec(String(body.container_app_environment_id));
    const name = ref ? this.json.data?.azurerm_container_app_environment?.[ref[1]]?.name : undefined;
    // config/names.ts: the internal environment is `cae-<fleet>-<region>-internal`.
    return typeof name === "string" && name.endsWith("-internal");
  }
}

/** The agent config botfleet passes one of `containers` in AGENT_CONFIG_ENV (their `env` lists of name and value). */
export function envAgentConfig(containers: unknown): Json | undefined {
  const value = list(containers)
    .flatMap((c) => list(c.env))
    .find((e) => e.name === AGENT_CONFIG_ENV)?.value;
  return typeof value === "string" ? parseJson(unescapeTerraform(value)) : undefined;
}

/** One thing a bot's identity may reach, through one grant. */
export interface Reach {
  readonly address: string;
  readonly role: string;
  readonly target: string;
  /** Why this grant widens the bot's blast radius beyond its own secrets and state. */
  readonly problem?: string;
}

export interface CloudInit {
  readonly config: Json;
  /** Content of every file cloud-init writes, by path. */
  readonly files: Record<string, string>;
}

export function decodeCloudInit(customData: unknown): CloudInit | undefined {
  const rendered = typeof customData === "string" ? renderedCloudInit(customData) : undefined;
  if (rendered) return rendered;
  return parseCloudInit(customData);
}

/** The text of base64 custom data, gunzipped when it is gzip (as cloud-init does). */
export function decodeCustomData(customData: string): string {
  const bytes = Buffer.from(customData, "base64");
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8");
}

/** Decodes and parses custom data, whoever wrote it. */
export function parseCloudInit(customData: unknown): CloudInit | undefined {
  if (!isLiteral(customData)) return undefined;
  try {
    const config = parse(decodeCustomData(customData));
    const files = Object.fromEntries(list(config?.write_files).map((f) => [String(f.path), String(f.content ?? "")]));
    return { config: config ?? {}, files };
  } catch {
    return undefined;
  }
}

/** `[a]` for `a`, `a` for a list, `[]` for nothing: Terraform JSON writes one-block lists either way. */
export function list(value: unknown): Json[] {
  return value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
}

export function first(value: unknown): Json | undefined {
  return list(value)[0];
}

/** A Caddy site address that gets a certificate: a host name, not `:80` or `http://...`. */
export function isDomainSite(site: string): boolean {
  return !site.startsWith(":") && !site.startsWith("http://");
}

export function members(body: Json): string[] {
  return [body.member, ...list(body.members)].filter((m): m is string => typeof m === "string");
}

export function eq(a: unknown, b: string): boolean {
  return typeof a === "string" && a.toLowerCase() === b.toLowerCase();
}

/** A string Terraform takes as it is: no `${...}` interpolation in it. */
export function isLiteral(value: unknown): value is string {
  return typeof value === "string" && !/(^|[^$])\$\{/.test(value);
}

export function variablesIn(value: unknown): string[] {
  return typeof value === "string" ? [...value.matchAll(/\$\{var\.([A-Za-z0-9_-]+)\}/g)].map((m) => m[1]) : [];
}

/** Undoes `terraformLiteral`: `$${` and `%%{` are how Terraform JSON writes a literal `${` and `%{`. */
export function unescapeTerraform(value: string): string {
  return value.replace(/([$%])\1\{/g, (_, sigil: string) => `${sigil}{`);
}

export function parseJson(text: string): Json | undefined {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
