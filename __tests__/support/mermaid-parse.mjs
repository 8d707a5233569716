// Parses Mermaid diagrams with the real mermaid parser (in a jsdom window, as mermaid needs a DOM).
// stdin: a JSON array of diagram texts; stdout: a JSON array of null (valid) or the parse error.
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const { window } = new JSDOM("");
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import("mermaid");
const results = [];
for (const text of JSON.parse(readFileSync(0, "utf8"))) {
  try {
    await mermaid.parse(text);
    results.push(null);
  } catch (e) {
    results.push(String(e.message ?? e));
  }
}
process.stdout.write(JSON.stringify(results));
