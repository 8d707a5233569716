/**
 * A cache in node_modules/.cache for what botfleet derives at every run from inputs that rarely
 * change (its TypeScript without types, its templates precompiled, each VM bot's gzipped
 * cloud-init): one file per content hash, so an edited source can never meet a stale result,
 * written aside and renamed so that a concurrent run never reads half a file. Entries are never
 * pruned (a VM bot's is about 33 KB); delete the directory at will; `npm ci` does.
 */
const { createHash } = require("node:crypto");
const { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const CACHE_DIR = join(__dirname, "..", "node_modules", ".cache");

/** Where cache `name` keeps the result for `key`. */
function cacheFile(name, key) {
  return join(CACHE_DIR, name, `${createHash("sha256").update(key).digest("hex")}.js`);
}

/**
 * What `produce()` returns for `key` (everything the result depends on), from cache `name`. A
 * kept result that `valid` refuses is produced again and replaced.
 */
function cachedText(name, key, produce, valid = () => true) {
  const file = cacheFile(name, key);
  try {
    const kept = readFileSync(file, "utf8");
    if (valid(kept)) return kept;
  } catch {
    // Not kept yet.
  }
  const text = produce();
  const aside = `${file}.${process.pid}`;
  try {
    mkdirSync(join(CACHE_DIR, name), { recursive: true });
    writeFileSync(aside, text);
    renameSync(aside, file);
  } catch {
    // A read-only checkout or a full disk still runs, producing every time.
    rmSync(aside, { force: true });
  }
  return text;
}

module.exports = { cacheFile, cachedText };
