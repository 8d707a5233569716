/**
 * cdktf requires archiver (with its streams, glob and zip libraries) as soon as it is loaded, only
 * to zip TerraformAsset directories of type ARCHIVE, which botfleet never creates: about half of
 * what `require("cdktf")` costs. This stands in for archiver and loads the real one on first call
 * (cdktf only ever calls it: `archiver("zip", options)`, cdktf/lib/private/fs.js).
 * `main.ts` requires it before cdktf, which puts it in Node's module cache where cdktf's
 * `require("archiver")` finds it; jest maps "archiver" to it (jest.config.js).
 */
const { existsSync } = require("node:fs");
const Module = require("node:module");
const { dirname, join } = require("node:path");

/** The archiver cdktf's `require("archiver")` loads: the nearest node_modules/archiver above it. */
function archiverEntry() {
  for (let dir = dirname(require.resolve("cdktf")); dirname(dir) !== dir; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", "archiver");
    // An absolute path: jest's moduleNameMapper, which maps "archiver" here, leaves it alone.
    if (existsSync(join(candidate, "package.json"))) return require.resolve(candidate);
  }
  throw new Error("archiver, a dependency of cdktf, is not installed: run npm ci");
}
const ARCHIVER = archiverEntry();

let real;
function archiver(...args) {
  if (!real) {
    if (require.cache[ARCHIVER]?.exports === archiver) delete require.cache[ARCHIVER];
    real = require(ARCHIVER);
  }
  return real(...args);
}

// In Node, before cdktf is loaded (under jest, whose require.cache ignores writes, this does nothing).
if (!require.cache[ARCHIVER]) {
  const stand = new Module(ARCHIVER);
  stand.filename = ARCHIVER;
  stand.loaded = true;
  stand.exports = archiver;
  require.cache[ARCHIVER] = stand;
}

module.exports = archiver;
