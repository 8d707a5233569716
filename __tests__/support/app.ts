import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");

/** The command `cdktf synth` runs (cdktf.json's app), as the arguments of this Node binary. */
export function appArgs(): string[] {
  const [node, ...args] = JSON.parse(readFileSync(join(ROOT, "cdktf.json"), "utf8")).app.split(/\s+/);
  if (node !== "node") throw new Error(`cdktf.json's app does not start with node: ${node}`);
  return args;
}
