/**
 * Regenerates the review examples in docs/review.md (between the review-example markers): the review
 * of the example fleet, and its diff against a modified fleet (one bot added, one changed).
 *   npm run readme:review
 * A test fails when the page is out of date.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { parseFleet, type Fleet } from "../config/load";
import { buildFleet } from "../constructs/fleet";
import { diffOutputs } from "../review/diff";
import { renderDiff, renderFleet, renderStack } from "../review/markdown";
import { reviewStack } from "../review/stack-review";
import { readSynthOutput } from "../review/synth-output";

const ROOT = join(__dirname, "..");
const PAGE = join(ROOT, "docs/review.md");
const START = "<!-- review-example:start -->";
const END = "<!-- review-example:end -->";

/** The example fleet with bot-zeta added and bot-beta moved from tier light to performance. */
export function modifiedExampleFleet(): string {
  return readFileSync(join(ROOT, "fleet.yaml"), "utf8")
    .replace("  - name: bot-beta\n    domain: beta.bots.example.com\n    tier: light", "  - name: bot-beta\n    domain: beta.bots.example.com\n    tier: performance")
    .concat('\n  - name: bot-zeta\n    domain: zeta.bots.example.com\n    tier: light\n    channels:\n      telegram:\n        allowFrom: ["13579"]\n');
}

/** Synthesizes a fleet for real into a fresh directory, as `cdktf synth` does; returns the directory. */
export function synthTo(fleet: Fleet): string {
  const outdir = mkdtempSync(join(tmpdir(), "botfleet-review-"));
  const app = new App({ outdir, stackTraces: false });
  buildFleet(app, fleet);
  app.synth();
  return outdir;
}

const synth = (fleetYaml: string) => synthTo(parseFleet(fleetYaml, "fleet.yaml", {}));

/** The page's example section, generated. */
export function reviewExample(): string {
  const example = readSynthOutput(synth(readFileSync(join(ROOT, "fleet.yaml"), "utf8")));
  const modified = readSynthOutput(synth(modifiedExampleFleet()));
  const reviews = example.map(reviewStack);
  const fence = (text: string) => text.replace(/^/gm, "> ").replace(/^> $/gm, ">");
  return [
    START,
    "The review of the example fleet (`npm run review`; the per-stack sections, folded in the comment, are shown for bot-alpha only):",
    "",
    fence(renderFleet(reviews, undefined, { details: false }).trimEnd()),
    ">",
    fence(renderStack(reviews.find((r) => r.name === "bot-alpha")!).trimEnd()),
    "",
    "Against a modified fleet (bot-zeta added, bot-beta from tier light to performance), the review adds:",
    "",
    fence(renderDiff(diffOutputs(example, modified)).join("\n")),
    END,
  ].join("\n");
}

export function readmeWithExample(readme: string, example: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < 0) throw new Error(`docs/review.md has no ${START} ... ${END} section`);
  return readme.slice(0, start) + example + readme.slice(end + END.length);
}

if (require.main === module) {
  writeFileSync(PAGE, readmeWithExample(readFileSync(PAGE, "utf8"), reviewExample()));
  process.stdout.write("docs/review.md: review example regenerated\n");
}
