import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./fleet";

/** README.md, CONTRIBUTING.md and every page under docs/, as paths from the repository root. */
export function pages(): string[] {
  const under = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? under(join(dir, e.name)) : e.name.endsWith(".md") ? [join(dir, e.name)] : []));
  return ["README.md", "CONTRIBUTING.md"].filter((p) => existsSync(join(ROOT, p))).concat(under("docs"));
}
