import { ROOT } from "./support/fleet";
import { run } from "./support/tools";

// `npm run lint` (eslint, then prettier --check) as a suite, so it runs beside the other suites;
// both keep a cache in node_modules/.cache, so an unchanged tree lints in about a second.
test("the code passes eslint and is formatted as prettier formats it (npm run lint)", () => {
  const r = run("npm", ["run", "--silent", "lint"], { cwd: ROOT });
  expect(r.status === 0 ? "" : r.output).toBe("");
});
