// Writes config/openclaw-models.json from the OpenClaw package scripts/setup-live.sh installed.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { extractOpenclawCatalog } from "../config/openclaw-catalog";
import { liveInstallDir } from "../runtimes/openclaw-pins";

const catalog = extractOpenclawCatalog(join(liveInstallDir(), "node_modules", "openclaw"));
writeFileSync(join(__dirname, "..", "config", "openclaw-models.json"), JSON.stringify(catalog, null, 2) + "\n");
console.log(`config/openclaw-models.json: openclaw ${catalog.version}, ${Object.keys(catalog.providers).length} providers`);
