/**
 * cdktf requires archiver (with its streams, glob and zip libraries) as soon as it is loaded, only
 * to zip TerraformAsset directories of type ARCHIVE, which botfleet never creates: about half of
 * what `require("cdktf")` costs. This stands in for archiver and loads the real one on first call
 * (cdktf only ever calls it: `archiver("zip", options)`, cdktf/lib/private/fs.js).
 * `main.ts` requires it before cdktf, which puts it in Node's module cache where cdktf's
 * `require("archiver")` finds it; jest maps "archiver" to it (jest.config.js).
 */
const { existsSync } = require("node:fs");
const { dirname, join } = require("node:path");
const { realModule, standIn } = require("./module-stand-in");

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
  real ??= realModule(ARCHIVER, archiver);
  return real(...args);
}

standIn(ARCHIVER, archiver);

module.exports = archiver;
