import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { DEFAULT_FLEET_FILE, FleetConfigError, loadFleet, type Fleet } from "../config/load";
import { workspaceName } from "../config/terraform-cloud";
import { secretVariableName } from "../constructs/secret-first-value";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";

/**
 * Sets a bot's first secret value as a sensitive Terraform variable of its HCP Terraform
 * workspace, read from standard input, so a remote run gets it as `var.<name>` and writes it
 * write-only; the value never enters the fleet file, the synthesized output or any state.
 * HCP Terraform never shows a sensitive variable's value again.
 *   npm run hcp:secret -- <bot> <variable> < file      e.g. npm run hcp:secret -- bot-alpha llm_api_key < key.txt
 */

export interface WorkspaceSecret {
  /** `https://<hostname>` of HCP Terraform or Terraform Enterprise. */
  readonly api: string;
  readonly token: string;
  readonly organization: string;
  readonly workspace: string;
  readonly key: string;
  readonly value: string;
  readonly description: string;
}

/** Creates the workspace's sensitive Terraform variable, or replaces its value; says which. */
export async function setWorkspaceSecret(s: WorkspaceSecret, fetchImpl: typeof fetch = fetch): Promise<"created" | "updated"> {
  const headers = { Authorization: `Bearer ${s.token}`, "Content-Type": "application/vnd.api+json" };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetchImpl(`${s.api}/api/v2${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) {
      const hint = res.status === 404 ? ` (is the workspace created? run npx cdktf deploy hcp-terraform first)` : res.status === 401 ? " (run terraform login, or set TF_TOKEN_<hostname>)" : "";
      throw new Error(`${method} ${path}: HTTP ${res.status}${hint}`);
    }
    return (await res.json()) as { data: { id: string; attributes: { key: string; category: string } } | { id: string; attributes: { key: string; category: string } }[] };
  };
  const ws = (await call("GET", `/organizations/${encodeURIComponent(s.organization)}/workspaces/${encodeURIComponent(s.workspace)}`)).data as { id: string };
  const vars = (await call("GET", `/workspaces/${ws.id}/vars`)).data as { id: string; attributes: { key: string; category: string } }[];
  const attributes = { key: s.key, value: s.value, category: "terraform", hcl: false, sensitive: true, description: s.description };
  const existing = vars.find((v) => v.attributes.key === s.key && v.attributes.category === "terraform");
  if (existing) {
    await call("PATCH", `/workspaces/${ws.id}/vars/${existing.id}`, { data: { type: "vars", id: existing.id, attributes } });
    return "updated";
  }
  await call("POST", `/workspaces/${ws.id}/vars`, { data: { type: "vars", attributes } });
  return "created";
}

/** Terraform's credential variable for a host: dots become `_`, hyphens `__`. */
export const tokenVariable = (hostname: string) => `TF_TOKEN_${hostname.replace(/\./g, "_").replace(/-/g, "__")}`;

/** The token Terraform itself would use for a host: TF_TOKEN_<host>, then `terraform login`'s file. */
export function terraformToken(hostname: string, env: NodeJS.ProcessEnv = process.env, home = homedir()): string | undefined {
  const fromEnv = env[tokenVariable(hostname)];
  if (fromEnv) return fromEnv;
  const file = join(home, ".terraform.d", "credentials.tfrc.json");
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, "utf8")) as { credentials?: Record<string, { token?: string }> }).credentials?.[hostname]?.token;
}

/** The variables a bot's first secret values go in (not the generated ones), by variable name. */
export function secretVariablesOf(fleet: Fleet, botName: string): Record<string, string> {
  const bot = fleet.bots.find((b) => b.name === botName);
  if (!bot) throw new Error(`no bot "${botName}" in the fleet; bots: ${fleet.bots.map((b) => b.name).join(", ")}`);
  return Object.fromEntries(
    RUNTIME_DESCRIPTIONS[bot.runtime]
      .secrets(bot)
      .filter((s) => !s.generated)
      .map((s) => [secretVariableName(s.key), `First value of ${s.env} (${s.description})`]),
  );
}

if (require.main === module) {
  const [bot, key] = process.argv.slice(2);
  const fail = (message: string, code = 2): never => {
    process.stderr.write(`hcp-secret: ${message}\n`);
    process.exit(code);
  };
  if (!bot || !key) fail("usage: npm run hcp:secret -- <bot> <variable> < file (the value comes from standard input)");
  let fleet: Fleet;
  try {
    fleet = loadFleet(process.env.BOTFLEET_CONFIG ?? DEFAULT_FLEET_FILE);
  } catch (e) {
    fail(e instanceof FleetConfigError ? e.message : String(e));
  }
  const cloud = fleet!.terraformCloud ?? fail("the fleet has no HCP Terraform organization: set terraformCloud.organization or TFC_ORGANIZATION");
  let variables: Record<string, string> = {};
  try {
    variables = secretVariablesOf(fleet!, bot);
  } catch (e) {
    fail((e as Error).message);
  }
  if (!(key in variables)) fail(`${bot} has no secret variable "${key}"; its variables: ${Object.keys(variables).join(", ")}`);
  const token = terraformToken(cloud.hostname) ?? fail(`no token for ${cloud.hostname}: run terraform login ${cloud.hostname}, or set ${tokenVariable(cloud.hostname)}`);
  // A trailing newline from a file or echo is not part of a key or token.
  const value = readFileSync(0, "utf8").replace(/\r?\n$/, "");
  if (value === "") fail("the value on standard input is empty");
  setWorkspaceSecret({
    api: process.env.BOTFLEET_HCP_API ?? `https://${cloud.hostname}`,
    token,
    organization: cloud.organization,
    workspace: workspaceName(cloud.workspacePrefix, bot),
    key,
    value,
    description: variables[key],
  }).then(
    (what) => process.stdout.write(`hcp-secret: ${what} the sensitive variable ${key} of workspace ${workspaceName(cloud.workspacePrefix, bot)}\n`),
    (e) => fail((e as Error).message, 1),
  );
}
