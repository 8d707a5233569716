import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./support/fleet";

const LongestFirst = require("./support/sequencer");

/** A test as jest hands it to a sequencer: its path, and a context with the file's size. */
function suites(sizes: Record<string, number>, cache: boolean) {
  const context = { config: { cache, cacheDirectory: "/nonexistent", id: "t" }, hasteFS: { getSize: (p: string) => sizes[p.split("/").pop()!] } };
  return Object.keys(sizes).map((file) => ({ path: `/repo/__tests__/${file}`, context }));
}
const names = (tests: { path: string }[]) => tests.map((t) => t.path.split("/").pop());

describe("the test sequencer", () => {
  // A new clone's first `npm test` once ended with the tools suites alone: jest, with no timings,
  // starts the largest files first, and those suites are small files. Cold, 4 rounds each:
  // 46.5-50.0 s with jest's order, 40.0-49.2 s (three of four near 40 s) with this one.
  test("with no timings, starts the longest suites first, then keeps jest's order (largest file first)", () => {
    const order = new LongestFirst().sort(suites({ "config.test.ts": 9000, "lint.test.ts": 300, "policy.test.ts": 20000, "vm-caddy.test.ts": 8000 }, false));
    expect(names(order)).toEqual(["vm-caddy.test.ts", "lint.test.ts", "policy.test.ts", "config.test.ts"]);
  });

  test("with timings of an earlier run, keeps jest's order (longest earlier run first)", () => {
    const sequencer = new LongestFirst();
    const tests = suites({ "config.test.ts": 9000, "lint.test.ts": 300, "policy.test.ts": 20000 }, false);
    sequencer._cache.set(tests[0].context, { "/repo/__tests__/config.test.ts": [1, 9], "/repo/__tests__/lint.test.ts": [1, 2], "/repo/__tests__/policy.test.ts": [1, 5] });
    expect(names(sequencer.sort(tests))).toEqual(["config.test.ts", "policy.test.ts", "lint.test.ts"]);
  });

  test("with timings for some suites only (a suite added since), keeps jest's order, failures first", () => {
    const sequencer = new LongestFirst();
    const tests = suites({ "config.test.ts": 9000, "lint.test.ts": 300, "policy.test.ts": 20000 }, false);
    sequencer._cache.set(tests[0].context, { "/repo/__tests__/config.test.ts": [0, 1] });
    expect(names(sequencer.sort(tests))).toEqual(["config.test.ts", "policy.test.ts", "lint.test.ts"]);
  });

  test("every suite it starts first exists", () => {
    for (const name of LongestFirst.LONGEST) expect(existsSync(join(ROOT, "__tests__", `${name}.test.ts`))).toBe(true);
  });
});
