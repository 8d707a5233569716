import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./support/fleet";
import { run } from "./support/tools";

// A suite rather than a step before jest, so that it runs beside the other suites.
test("the whole program type-checks (tsc --noEmit, strict)", () => {
  const r = run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", ROOT]);
  expect(r.output).toBe("");
  expect(r.status).toBe(0);
  // Incremental: a later run checks again only what changed since (half the time when nothing did).
  const { tsBuildInfoFile } = JSON.parse(readFileSync(join(ROOT, "tsconfig.json"), "utf8")).compilerOptions;
  expect(tsBuildInfoFile).toMatch(/^node_modules\/\.cache\//);
  expect(existsSync(join(ROOT, tsBuildInfoFile))).toBe(true);
});
