/**
 * `npm run synth [-- <cdktf synth options>]`: `cdktf synth`, with the fleet file checked first so
 * that its problems are printed once. Run by cdktf, the app's output is printed as it comes and
 * again after "cdktf encountered an error while synthesizing" (cdktf-cli 0.21, cli-core
 * synth-stack.js), so every problem showed twice. Also sets CHECKPOINT_DISABLE, the only switch
 * cdktf-cli reads for its telemetry, which offline printed [ERROR] ... ENOTFOUND checkpoint-api....
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_FLEET_FILE, FleetConfigError, loadFleet } from "../config/load";
import { markSynthFailed } from "./synth-failure";

const args = process.argv.slice(2);
const cdktfJson = JSON.parse(readFileSync("cdktf.json", "utf8")) as { output?: string };
const { values } = parseArgs({ args, options: { output: { type: "string", short: "o" } }, strict: false });
const outdir = typeof values.output === "string" ? values.output : (cdktfJson.output ?? "cdktf.out");

try {
  loadFleet(process.env.BOTFLEET_CONFIG ?? DEFAULT_FLEET_FILE);
} catch (e) {
  if (!(e instanceof FleetConfigError)) throw e;
  markSynthFailed(outdir, e.message);
  process.stderr.write(`botfleet: ${e.message}\n`);
  process.exit(1);
}
const cdktf = join(dirname(require.resolve("cdktf-cli/package.json")), "bundle/bin/cdktf");
const run = spawnSync(process.execPath, [cdktf, "synth", ...args], { stdio: "inherit", env: { ...process.env, CHECKPOINT_DISABLE: process.env.CHECKPOINT_DISABLE || "1" } });
process.exit(run.status ?? 1);
