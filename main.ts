// Before cdktf and zod: both load at start-up modules botfleet never calls (see the files).
import "./scripts/lazy-archiver";
import "./scripts/lazy-zod-locales";
import { Annotations, App } from "cdktf";
import { DEFAULT_FLEET_FILE, FleetConfigError, loadFleet } from "./config/load";
import { takenNamesWarning } from "./config/taken-names";
import { buildFleet } from "./constructs/fleet";
import { clearSynthFailed, markSynthFailed } from "./scripts/synth-failure";

// cdktf synth passes its output directory (--output, cdktf.json's "output", or cdktf.out).
const outdir = process.env.CDKTF_OUTDIR ?? "cdktf.out";

// Validate everything before the App exists, so a bad fleet file writes nothing.
let fleet;
try {
  fleet = loadFleet(process.env.BOTFLEET_CONFIG ?? DEFAULT_FLEET_FILE);
} catch (e) {
  markSynthFailed(outdir, e instanceof FleetConfigError ? e.message : `synth stopped: ${String(e)}`);
  if (!(e instanceof FleetConfigError)) throw e;
  process.stderr.write(`botfleet: ${e.message}\n`);
  process.exit(1);
}
try {
  const app = new App();
  buildFleet(app, fleet);
  // cdktf prints a stack's warnings after synth: WARN [azure-shared-<region>]: ...
  const taken = takenNamesWarning(fleet);
  if (taken) for (const stack of app.node.children) if (stack.node.id.startsWith("azure-shared-")) Annotations.of(stack).addWarning(taken);
  app.synth();
} catch (e) {
  markSynthFailed(outdir, `synth stopped: ${String(e)}`);
  throw e;
}
clearSynthFailed(outdir);
