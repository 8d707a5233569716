/**
 * A failed synth leaves a mark beside the output it did not replace, so that `npm run review`
 * refuses to review that older output as if it were the fleet file's (issue 38: after a failed
 * synth, the review quietly reviewed the previous output).
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The mark's name inside the output directory (cdktf.out). */
export const SYNTH_FAILED_FILE = "synth-failed.txt";

/**
 * Records that a synth into `outdir` failed, and why (one line). Only into an existing output
 * directory: a failed first synth writes nothing, and a review then finds no output at all.
 */
export function markSynthFailed(outdir: string, why: string): void {
  if (!existsSync(outdir)) return;
  writeFileSync(join(outdir, SYNTH_FAILED_FILE), `${new Date().toISOString()} ${why.split("\n")[0]}\n`);
}

/** A synth into `outdir` succeeded: its output is current again. */
export function clearSynthFailed(outdir: string): void {
  rmSync(join(outdir, SYNTH_FAILED_FILE), { force: true });
}

/** Why the output in `outdir` is older than the last failed synth into it, or undefined when it is not. */
export function staleOutput(outdir: string): string | undefined {
  const mark = join(outdir, SYNTH_FAILED_FILE);
  const manifest = join(outdir, "manifest.json");
  if (!existsSync(mark) || !existsSync(manifest)) return undefined;
  if (statSync(mark).mtimeMs < statSync(manifest).mtimeMs) return undefined;
  const [when, ...why] = readFileSync(mark, "utf8").trim().split(" ");
  return `${outdir} is older than the last synth, which failed at ${when} (${why.join(" ")}); fix the fleet file and run npm run synth again, or remove ${mark} to review the older output anyway`;
}
