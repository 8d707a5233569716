import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import catalog from "./openclaw-models.json";

/**
 * The model catalog the pinned OpenClaw release bundles, per provider: each bundled provider
 * plugin's manifest (dist/extensions/<id>/openclaw.plugin.json) names the providers it serves and,
 * for most, the models it knows. `discovery: "runtime"` means the provider lists its models when
 * the gateway runs (OpenRouter, OpenAI, Google), so the manifest's list is not the whole set.
 * config/openclaw-models.json is this, extracted from the installed package by
 * `npm run extract:models`; the live suite extracts it again and compares.
 */
export interface OpenclawCatalog {
  readonly version: string;
  readonly providers: Record<string, { readonly plugin: string; readonly discovery: string; readonly models: readonly string[] }>;
}

export const OPENCLAW_CATALOG: OpenclawCatalog = catalog;

interface Manifest {
  id: string;
  providers?: string[];
  modelCatalog?: { discovery?: Record<string, string>; providers?: Record<string, { models?: { id: string }[] }> };
}

export function extractOpenclawCatalog(packageDir: string): OpenclawCatalog {
  const providers: Record<string, { plugin: string; discovery: string; models: string[] }> = {};
  const extensions = join(packageDir, "dist", "extensions");
  for (const dir of readdirSync(extensions).sort()) {
    const file = join(extensions, dir, "openclaw.plugin.json");
    if (!existsSync(file)) continue;
    const m = JSON.parse(readFileSync(file, "utf8")) as Manifest;
    for (const provider of m.providers ?? []) {
      const models = (m.modelCatalog?.providers?.[provider]?.models ?? []).map((x) => x.id);
      providers[provider] = { plugin: m.id, discovery: m.modelCatalog?.discovery?.[provider] ?? "none", models };
    }
  }
  const version = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")).version as string;
  return { version, providers };
}
