import { spawnSync } from "node:child_process";

/**
 * Fails (never skips) when a validator the tests rely on is missing, naming the package.
 * `.ci/run` installs them all from Debian's packages.
 */
export function requireTool(command: string, debianPackage: string): void {
  const found = spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
  if (!found) throw new Error(`${command} is not installed; install it with: apt-get install -y ${debianPackage} (see .ci/run)`);
}

export function run(command: string, args: string[], options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(command, args, { encoding: "utf8", ...options });
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}
