/**
 * Every Mermaid diagram botfleet shows (the docs' and the review's, one per bot) parses with the
 * real Mermaid parser, which runs in a Node process of its own (jsdom and mermaid load in 0.7 s,
 * so this is a tools suite, not part of the inner loop).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { botDiagram } from "../review/diagram";
import { reviewStack } from "../review/stack-review";
import { readSynthOutput } from "../review/synth-output";
import { synthTo } from "../scripts/readme-review-example";
import { pages } from "./support/docs";
import { exampleFleet, ROOT } from "./support/fleet";
import { run } from "./support/tools";

/** The parser's verdict on each diagram: null when it parses, else its error. */
function parseAll(diagrams: string[]): (string | null)[] {
  const r = run(process.execPath, [join(ROOT, "__tests__/support/mermaid-parse.mjs")], { input: JSON.stringify(diagrams), cwd: ROOT });
  expect(r.status).toBe(0);
  return JSON.parse(r.output);
}

test("the docs' diagrams and the review's diagram of each bot parse; a broken one does not", () => {
  const docs = pages().flatMap((page) => [...readFileSync(join(ROOT, page), "utf8").matchAll(/^```mermaid\n([\s\S]*?)^```/gm)].map((m) => m[1]));
  expect(docs.length).toBeGreaterThanOrEqual(2);
  const review = readSynthOutput(synthTo(exampleFleet()))
    .map(reviewStack)
    .filter((s) => s.bot)
    .map((s) => botDiagram(s)!);
  expect(review).toHaveLength(5);
  // The last one proves the parser is not a no-op: an edge with no target is a parse error.
  const verdicts = parseAll([...docs, ...review, "flowchart LR\n  a -->"]);
  expect(verdicts.slice(0, -1)).toEqual([...docs, ...review].map(() => null));
  expect(verdicts.at(-1)).toMatch(/Parse error/);
});
