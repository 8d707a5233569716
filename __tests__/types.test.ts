import { join } from "node:path";
import { ROOT } from "./support/fleet";
import { run } from "./support/tools";

// A suite rather than a step before jest, so that it runs beside the other suites.
test("the whole program type-checks (tsc --noEmit, strict)", () => {
  const r = run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", ROOT]);
  expect(r.output).toBe("");
  expect(r.status).toBe(0);
});
