import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import type { Suppression } from "../contracts/policy-rules";
import { BUILTIN_DEFAULTS, CROSS_CHECK, definedOnly, FleetFileSchema, suggest, type DmPolicy, type FleetFile, type ModelProvider, type SandboxMode } from "./schema";
import { credentialIn } from "./credentials";
import { HCP_BOOTSTRAP_ENV, terraformCloudProblems } from "./terraform-cloud";
import { targetOf, type TargetId, type TargetSettings } from "../targets/registry";

/** Where synth reads the fleet from unless BOTFLEET_CONFIG says otherwise. */
export const DEFAULT_FLEET_FILE = "fleet.yaml";

export interface FleetProblem {
  /** Dotted path into the file, e.g. `bots[2].name`; empty for the whole file. */
  readonly path: string;
  /** 1-based line in the file where the problem is, when known. */
  readonly line?: number;
  readonly message: string;
}

/** Everything wrong with a fleet file, found before anything is synthesized or written. */
export class FleetConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly FleetProblem[],
  ) {
    super(
      `${file}: ${problems.length === 1 ? "1 problem" : `${problems.length} problems`}\n` +
        problems.map((p) => `  ${p.line ? `line ${p.line}: ` : ""}${p.path ? `${p.path}: ` : ""}${p.message}`).join("\n"),
    );
    this.name = "FleetConfigError";
  }
}

export interface ChannelSettings {
  readonly dmPolicy: DmPolicy;
  readonly allowFrom: readonly string[];
}

/** What every bot has, whatever its target. */
export interface BotBase {
  readonly name: string;
  readonly runtime: NonNullable<FleetFile["bots"][number]["runtime"]>;
  readonly region: string;
  readonly tier: NonNullable<FleetFile["bots"][number]["tier"]>;
  readonly model: string;
  readonly modelProvider: ModelProvider;
  readonly persona: { readonly name: string; readonly theme?: string; readonly emoji?: string };
  readonly channels: { readonly telegram?: ChannelSettings; readonly discord?: ChannelSettings };
  /** Tool sandbox; mode undefined: the runtime's recommended mode. */
  readonly sandbox: { readonly mode?: SandboxMode; readonly network: boolean };
  readonly image?: string;
  /** Policy rules the bot is excused from, each with its reason. */
  readonly suppressions: readonly Suppression[];
  /** Stopped: its stack keeps only its identity, secrets and state (docs/day-2.md#removing-a-bot). */
  readonly retired: boolean;
}

type SettingKeys = { [T in TargetId]: keyof TargetSettings<T> }[TargetId];

/**
 * A bot of target `T` with every default applied: what its stack reads. It carries the settings
 * of its own target (typed by its descriptor); those of other targets are absent.
 */
export type BotOf<T extends TargetId> = BotBase & { readonly target: T } & Readonly<TargetSettings<T>> & { readonly [K in Exclude<SettingKeys, keyof TargetSettings<T>>]?: undefined };

/** A bot with every default applied; `bot.target` tells which target's settings it has. */
export type Bot = { [T in TargetId]: BotOf<T> }[TargetId];

export interface Fleet {
  readonly name: string;
  readonly azure: FleetFile["azure"];
  readonly gcp?: NonNullable<FleetFile["gcp"]>;
  readonly terraformCloud?: NonNullable<FleetFile["terraformCloud"]> & {
    readonly organization: string;
    readonly workspacePrefix: string;
    /** The hcp-terraform stack's first apply, with local state (BOTFLEET_HCP_BOOTSTRAP=1: scripts/hcp-bootstrap.sh). */
    readonly bootstrap: boolean;
  };
  readonly bots: readonly Bot[];
}

/**
 * Reads, parses and validates a fleet file and applies defaults.
 * Throws FleetConfigError listing every problem with its path, value and fix.
 */
export function loadFleet(file: string, env: NodeJS.ProcessEnv = process.env): Fleet {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FleetConfigError(file, [
      {
        path: "",
        message: code === "ENOENT" ? `file not found; create it (see fleet.yaml in the repository) or point BOTFLEET_CONFIG at your fleet file` : `cannot be read (${code ?? String(e)})`,
      },
    ]);
  }
  return parseFleet(text, file, env);
}

/** Validates fleet YAML text; `file` only labels messages. */
export function parseFleet(text: string, file = DEFAULT_FLEET_FILE, env: NodeJS.ProcessEnv = process.env): Fleet {
  if (text.trim() === "" || /^(\s*#.*\n?)*\s*$/.test(text))
    throw new FleetConfigError(file, [{ path: "", message: "is empty; it needs at least `name` and `bots` (see fleet.yaml in the repository)" }]);

  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  // The first syntax error only: the parser's later ones follow from it (a missing "}" gave nine).
  if (doc.errors.length > 0) throw new FleetConfigError(file, [syntaxProblem(text, doc.errors[0], lines)]);

  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new FleetConfigError(file, [{ path: "", message: "must be a YAML mapping with `name` and `bots` at the top level" }]);

  // Before the schema: its messages quote values, and a secret value is never repeated.
  const leaked = credentials(raw);
  if (leaked.length > 0)
    throw new FleetConfigError(
      file,
      leaked.map(({ path, kind }) => ({
        path: formatPath(path),
        line: lineOf(doc, lines, path),
        message: `holds what looks like ${kind} (not shown here). Secret values never go in the fleet file, which is committed and synthesized into cdktf.out: remove it (revoke it if the file was shared) and give it as the bot's secret instead, TF_VAR_<key> at the first deploy, then in Key Vault or Secret Manager (docs/secrets-and-operations.md)`,
      })),
    );

  const parsed = FleetFileSchema.safeParse(raw);
  if (!parsed.success) {
    // A check that combines settings follows from a file whose every key is known and whose every
    // value has its type: a misspelled `target` made the bot an azure-vmss bot, whose region and
    // names then failed too. Such checks are reported once nothing else is.
    const own = parsed.error.issues.filter((issue) => !isCrossCheck(issue));
    const problems = (own.length > 0 ? own : parsed.error.issues).flatMap((issue) => describeIssue(issue, raw, (path) => lineOf(doc, lines, path)));
    throw new FleetConfigError(file, problems);
  }
  const fleet = resolve(parsed.data, env);
  const cloudProblems = terraformCloudProblems(parsed.data, fleet.bots, env);
  if (cloudProblems.length > 0)
    throw new FleetConfigError(
      file,
      cloudProblems.map((p) => ({ path: formatPath(p.path), line: lineOf(doc, lines, p.path), message: p.message })),
    );
  return fleet;
}

/** Every string in the file (keys too) that looks like a credential, with its path. */
function credentials(value: unknown, path: PropertyKey[] = []): { path: PropertyKey[]; kind: string }[] {
  if (typeof value === "string") {
    const kind = credentialIn(value);
    return kind ? [{ path, kind }] : [];
  }
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const key = Array.isArray(value) ? Number(k) : k;
    const kind = typeof key === "string" ? credentialIn(key) : undefined;
    // A key is named by where it is, not by itself.
    return kind ? [{ path, kind: `${kind} as a key` }] : credentials(v, [...path, key]);
  });
}

function isCrossCheck(issue: z.core.$ZodIssue): boolean {
  return issue.code === "custom" && (issue as { params?: Record<string, unknown> }).params?.crossCheck === CROSS_CHECK.crossCheck;
}

/**
 * A YAML syntax error at its line, without the parser's excerpt. An unclosed flow collection is
 * reported at the "{" or "[" left open, where the parser notices only at the next line it reads.
 */
function syntaxProblem(text: string, error: { message: string; pos: [number, number]; linePos?: [{ line: number }, ...unknown[]] }, lines: LineCounter): FleetProblem {
  const message = error.message.split("\n")[0].replace(/ at line \d+, column \d+:$/, "");
  const closer = /end with an? ([}\]])/.exec(message)?.[1];
  const opener = closer ? unclosedOpener(text, error.pos[0], closer === "}" ? "{" : "[") : undefined;
  if (opener !== undefined) return { path: "", line: lines.linePos(opener).line, message: `YAML syntax error: this "${text[opener]}" is never closed; end it with "${closer}" on this line` };
  return { path: "", line: error.linePos?.[0].line, message: `YAML syntax error: ${message}` };
}

/** The offset of the innermost `open` bracket before `end` that no bracket closes (quotes and comments skipped). */
function unclosedOpener(text: string, end: number, open: "{" | "["): number | undefined {
  const stack: number[] = [];
  for (let i = 0; i < end; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      for (i++; i < end && text[i] !== c; i++) if (c === '"' && text[i] === "\\") i++;
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      while (i < end && text[i] !== "\n") i++;
    } else if (c === "{" || c === "[") stack.push(i);
    else if (c === "}" || c === "]") stack.pop();
  }
  for (let k = stack.length - 1; k >= 0; k--) if (text[stack[k]] === open) return stack[k];
  return undefined;
}

function resolve(f: FleetFile, env: NodeJS.ProcessEnv): Fleet {
  const d = { ...BUILTIN_DEFAULTS, ...definedOnly(f.defaults ?? {}) };
  const organization = f.terraformCloud?.organization ?? env.TFC_ORGANIZATION;
  return {
    name: f.name,
    azure: f.azure,
    gcp: f.gcp,
    terraformCloud: organization
      ? {
          // Validated by terraformCloudProblems before the fleet is returned.
          organization,
          hostname: f.terraformCloud?.hostname ?? "app.terraform.io",
          workspacePrefix: f.terraformCloud?.workspacePrefix ?? f.name,
          bootstrap: env[HCP_BOOTSTRAP_ENV] === "1",
        }
      : undefined,
    bots: f.bots.map((b): Bot => {
      const model = b.model ?? d.model;
      const channels = b.channels ?? d.channels ?? {};
      const target = targetOf(b.target ?? d.target);
      return {
        name: b.name,
        target: target.id,
        runtime: b.runtime ?? d.runtime,
        region: b.region ?? d.region,
        tier: b.tier ?? d.tier,
        model,
        modelProvider: model.split("/")[0] as ModelProvider,
        persona: b.persona ?? d.persona ?? { name: b.name },
        channels: {
          telegram: channels.telegram && withPolicy(channels.telegram),
          discord: channels.discord && withPolicy(channels.discord),
        },
        sandbox: { mode: b.sandbox?.mode ?? d.sandbox?.mode, network: b.sandbox?.network ?? d.sandbox?.network ?? false },
        ...target.resolve(b, d, f),
        image: b.image ?? d.image,
        suppressions: b.suppressions ?? [],
        retired: b.retired ?? false,
        // The settings are those `target` resolved, so the bot is that target's.
      } as unknown as Bot;
    }),
  };
}

function withPolicy(c: { dmPolicy?: DmPolicy; allowFrom?: string[] }): ChannelSettings {
  const allowFrom = c.allowFrom ?? [];
  return { dmPolicy: c.dmPolicy ?? (allowFrom.length > 0 ? "allowlist" : "pairing"), allowFrom };
}

type Path = readonly PropertyKey[];

/** `bots[2].channels.telegram` */
export function formatPath(path: Path): string {
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join("");
}

function valueAt(root: unknown, path: Path): unknown {
  let v: unknown = root;
  for (const k of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function lineOf(doc: ReturnType<typeof parseDocument>, lines: LineCounter, path: Path): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

function show(value: unknown): string {
  const s = JSON.stringify(value);
  return s === undefined ? "nothing" : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, line: (p: Path) => number | undefined): FleetProblem[] {
  const path = issue.path;
  const value = valueAt(raw, path);
  if (issue.code === "unrecognized_keys") {
    const known = knownKeys(path);
    return issue.keys.map((key) => ({
      path: formatPath([...path, key]),
      line: line([...path, key]),
      message: `unknown key${suggest(key, known)}${known.length ? ` (allowed here: ${known.join(", ")})` : ""}`,
    }));
  }
  if (issue.code === "invalid_value" && "values" in issue)
    return [
      { path: formatPath(path), line: line(path), message: `${show(value)} is not allowed; use one of: ${issue.values.map(String).join(", ")}${suggest(String(value), issue.values.map(String))}` },
    ];
  if (issue.code === "invalid_type" && value === undefined) return [{ path: formatPath(path), line: line(path), message: `is required (expected ${issue.expected})` }];
  if (issue.code === "invalid_type") return [{ path: formatPath(path), line: line(path), message: `${show(value)} has the wrong type; expected ${issue.expected}` }];
  // A problem of a whole mapping (a bot) names it by its path, not by its contents.
  const scalar = value === undefined || value === null || typeof value !== "object" || Array.isArray(value);
  return [{ path: formatPath(path), line: line(path), message: value === undefined || !scalar ? issue.message : `${show(value)} ${issue.message}` }];
}

/** The keys the schema allows at a path, for "allowed here" hints. */
function knownKeys(path: Path): string[] {
  let schema: unknown = FleetFileSchema;
  for (const k of path) {
    schema = unwrap(schema);
    const def = (schema as { def?: { type?: string; shape?: Record<string, unknown>; element?: unknown } }).def;
    if (def?.type === "object" && typeof k === "string") schema = def.shape?.[k];
    else if (def?.type === "array" && typeof k === "number") schema = def.element;
    else return [];
  }
  const def = (unwrap(schema) as { def?: { shape?: Record<string, unknown> } }).def;
  return Object.keys(def?.shape ?? {}).filter((k) => k !== "$schema");
}

function unwrap(schema: unknown): unknown {
  let s = schema as { def?: { type?: string; innerType?: unknown; in?: unknown } } | undefined;
  while (s?.def && ["optional", "default", "nullable", "pipe", "prefault"].includes(s.def.type ?? "")) s = (s.def.innerType ?? s.def.in) as typeof s;
  return s;
}
