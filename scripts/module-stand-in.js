/**
 * A stand-in for a module that a dependency loads at start-up and botfleet rarely or never uses:
 * put in Node's module cache under the real module's file name before the dependency is loaded,
 * it is what the dependency's `require` returns; `realModule` loads the real one when it is needed.
 * Under jest, whose require.cache ignores writes, `standIn` does nothing (jest.config.js maps
 * the module instead where that matters).
 */
const Module = require("node:module");

/** Makes `exports` the module at `filename` in Node's module cache, unless that is loaded already. */
function standIn(filename, exports) {
  if (require.cache[filename]) return;
  const stand = new Module(filename);
  stand.filename = filename;
  stand.loaded = true;
  stand.exports = exports;
  require.cache[filename] = stand;
}

/** The real module at `filename`, loaded in place of the stand-in whose exports are `standInExports`. */
function realModule(filename, standInExports) {
  if (require.cache[filename]?.exports === standInExports) delete require.cache[filename];
  return require(filename);
}

module.exports = { standIn, realModule };
