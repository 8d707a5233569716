import { parse } from "yaml";
import { AGENT_CONFIG_ENV } from "../bootstrap/container";
import type { AgentRuntime } from "../runtimes/runtime";
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

export const VM_TYPES = [
  "azurerm_orchestrated_virtual_machine_scale_set",
  "azurerm_linux_virtual_machine_scale_set",
  "azurerm_linux_virtual_machine",
];
export const CONTAINER_APP = "azurerm_container_app";
export const CLOUD_RUN = "google_cloud_run_v2_service";

/** A stack's resources, with the parts of them several rules read (cloud-init, agent config). */
export class StackView {
  private readonly cloudInits = new Map<Json, CloudInit | undefined>();

  constructor(
    readonly json: StackJson,
    readonly runtime: AgentRuntime | undefined,
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

  /** The agent's config file as botfleet renders it for this workload. */
  agentConfig({ type, body }: CheckedResource): Json | undefined {
    if (VM_TYPES.includes(type)) {
      const file = Object.entries(this.cloudInit(body)?.files ?? {}).find(([path]) => path.endsWith("/agent-config.json"))?.[1];
      return file === undefined ? undefined : parseJson(file);
    }
    const template = first(body.template);
    const containers = type === CONTAINER_APP ? list(template?.container) : list(template?.containers);
    const value = containers.flatMap((c) => list(c.env)).find((e) => e.name === AGENT_CONFIG_ENV)?.value;
    return typeof value === "string" ? parseJson(unescapeTerraform(value)) : undefined;
  }

  /** Whether a container app runs in the fleet's internal (VNet-only) environment. */
  inInternalEnvironment(body: Json): boolean {
    const ref = /^\$\{data\.azurerm_container_app_environment\.([^.]+)\.id\}$/.exec(String(body.container_app_environment_id));
    const name = ref ? this.json.data?.azurerm_container_app_environment?.[ref[1]]?.name : undefined;
    // config/names.ts: the internal environment is `cae-<fleet>-<region>-internal`.
    return typeof name === "string" && name.endsWith("-internal");
  }
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

/** Decodes and parses custom data, whoever wrote it. */
export function parseCloudInit(customData: unknown): CloudInit | undefined {
  if (!isLiteral(customData)) return undefined;
  try {
    const config = parse(Buffer.from(customData, "base64").toString("utf8"));
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
