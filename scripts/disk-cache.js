/**
 * A cache in node_modules/.cache for what botfleet derives at every run from inputs that rarely
 * change (its TypeScript without types, its templates precompiled, each VM bot's gzipped
 * cloud-init): one file per content hash, so an edited source can never meet a stale result,
 * written aside and renamed so that a concurrent run never reads half a file. Entries are never
 * pruned (a VM bot's is about 33 KB); delete the directory at will; `npm ci` does.
 */
const { createHash } = require("node:crypto");
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const CACHE_DIR = join(__dirname, "..", "node_modules", ".cache");

/** What `produce()` returns for `key` (everything the result depends on), from cache `name`. */
function cachedText(name, key, produce) {
  const file = join(CACHE_DIR, name, `${createHash("sha256").update(key).digest("hex")}.js`);
  try {
    return readFileSync(file, "utf8");
  } catch {
    const text = produce();
    try {
      mkdirSync(join(CACHE_DIR, name), { recursive: true });
      writeFileSync(`${file}.${process.pid}`, text);
      renameSync(`${file}.${process.pid}`, file);
    } catch {
      // A read-only checkout still runs, producing every time.
    }
    return text;
  }
}

module.exports = { cachedText };
