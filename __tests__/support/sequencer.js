/**
 * Jest's order, except on a run with no timings yet (a new clone): jest then starts the largest
 * files first, which put the longest suites (small files that start tools) last, and the run
 * ended on them alone. Those are started first instead, longest first, as a later run would.
 */
const Sequencer = require("@jest/test-sequencer").default;
const { basename } = require("node:path");

/** The suites that take longest with cold caches, longest first (a new clone's `npm test`). */
const LONGEST = ["vm-bootstrap-validators", "vm-caddy", "lint", "vm-secret-fetch", "types", "workflows", "hcp-terraform", "vm-firewall"];

class LongestFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    if (sorted.some((t) => t.duration != null)) return sorted;
    const rank = (t) => {
      const i = LONGEST.indexOf(basename(t.path, ".test.ts"));
      return i < 0 ? LONGEST.length : i;
    };
    return sorted
      .map((t, i) => [t, i])
      .sort(([a, i], [b, j]) => rank(a) - rank(b) || i - j)
      .map(([t]) => t);
  }
}

module.exports = LongestFirst;
module.exports.LONGEST = LONGEST;
