/**
 * Runs botfleet's TypeScript with Node (`node -r ./scripts/ts-register.js main.ts`): Sucrase strips
 * the types, as `sucrase/register` does, and its output is kept in node_modules/.cache (see
 * disk-cache.js), so a file is transformed once and later runs load neither Sucrase nor the
 * transform. (`tsc --noEmit` type-checks: the types test suite.)
 */
const { readFileSync } = require("node:fs");
const { cachedText } = require("./disk-cache");

const OPTIONS = { transforms: ["imports", "typescript"] };
const SALT = `sucrase ${require("sucrase/package.json").version} ${JSON.stringify(OPTIONS)}`;

function transform(source, filename) {
  const { code, sourceMap } = require("sucrase").transform(source, { ...OPTIONS, sourceMapOptions: { compiledFilename: filename }, filePath: filename });
  return `${code}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(sourceMap)).toString("base64")}`;
}

require.extensions[".ts"] = (module, filename) => {
  const source = readFileSync(filename, "utf8");
  // The file name is part of the key: the source map names it.
  module._compile(
    cachedText("botfleet-ts", `${SALT}\0${filename}\0${source}`, () => transform(source, filename)),
    filename,
  );
};
