/**
 * Runs botfleet's TypeScript with Node (`node -r ./scripts/ts-register.js main.ts`): Sucrase strips
 * the types, as `sucrase/register` does, and its output is kept in node_modules/.cache, keyed by
 * the file's content, so a file is transformed once and later runs load neither Sucrase nor the
 * transform. Nothing can go stale: an edited file has another key. (tsc --noEmit type-checks.)
 */
const { createHash } = require("node:crypto");
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const CACHE_DIR = join(__dirname, "..", "node_modules", ".cache", "botfleet-ts");
const OPTIONS = { transforms: ["imports", "typescript"] };
const SALT = `sucrase ${require("sucrase/package.json").version} ${JSON.stringify(OPTIONS)}`;

let sucrase;
function transform(source, filename) {
  sucrase ??= require("sucrase");
  const { code, sourceMap } = sucrase.transform(source, { ...OPTIONS, sourceMapOptions: { compiledFilename: filename }, filePath: filename });
  return `${code}\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,${Buffer.from(JSON.stringify(sourceMap)).toString("base64")}`;
}

function compiled(source, filename) {
  const key = createHash("sha256").update(`${SALT}\0${filename}\0${source}`).digest("hex");
  const cached = join(CACHE_DIR, `${key}.js`);
  try {
    return readFileSync(cached, "utf8");
  } catch {
    const code = transform(source, filename);
    try {
      mkdirSync(CACHE_DIR, { recursive: true });
      // Written aside and renamed: a concurrent run never reads half a file.
      writeFileSync(`${cached}.${process.pid}`, code);
      renameSync(`${cached}.${process.pid}`, cached);
    } catch {
      // A read-only checkout still runs, transforming every time.
    }
    return code;
  }
}

require.extensions[".ts"] = (module, filename) => module._compile(compiled(readFileSync(filename, "utf8"), filename), filename);
