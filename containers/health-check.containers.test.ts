import { readFileSync } from "node:fs";
import { join } from "node:path";
import { shellQuote } from "../bootstrap/templates";
import { ROOT } from "../__tests__/support/fleet";
import { nanobot } from "../runtimes/nanobot";
import { openclaw } from "../runtimes/openclaw";
import { docker } from "./support/docker";

/**
 * Issue 34: the managed launcher's health gate runs each runtime's `httpCheck` inside the agent's
 * image (templates/container/launch.sh). Here in the images the suite runs: it passes against the
 * runtime's own waiting server (200 on every path) and fails where nothing listens.
 */
test.each([openclaw, nanobot])("$id's health check runs with what its image has: 0 for an answer, 1 for none", (runtime) => {
  const check = (url: string) => [...runtime.httpCheck, url].map(shellQuote).join(" ");
  const script = [
    `${runtime.waitingServer.map(shellQuote).join(" ")} &`,
    `i=0; until ${check("http://127.0.0.1:18080/health")}; do i=$((i + 1)); [ "$i" -lt 50 ] || break; sleep 0.2; done`,
    `${check("http://127.0.0.1:18080/health")}; echo "answered=$?"`,
    `${check("http://127.0.0.1:18081/health")}; echo "nothing=$?"`,
  ].join("\n");
  const r = docker(["run", "--rm", "--network", "none", "--env", "BOTFLEET_PORT=18080", "--env", "BOTFLEET_WAITING=botfleet test", "--entrypoint", "sh", runtime.image, "-c", script], {
    timeoutMs: 60_000,
  });
  expect(r.stdout.trim().split("\n").slice(-2)).toEqual(["answered=0", "nothing=1"]);
});

// Issue 36: the launcher's memory watch reads the container's own cgroup (v2, or v1 as on this
// machine's engine): a number under 100 in a container with a memory limit, none without one.
test("the launcher reads the container's memory use against its limit from its cgroup", () => {
  const launcher = readFileSync(join(ROOT, "templates/container/launch.sh"), "utf8");
  const start = launcher.indexOf("memory_percent() {");
  const fn = launcher.slice(start, launcher.indexOf("\n}\n", start) + 3);
  const run = (...limit: string[]) =>
    docker(["run", "--rm", "--network", "none", ...limit, "--entrypoint", "sh", openclaw.image, "-c", `cgroup=/sys/fs/cgroup\n${fn}\nmemory_percent || echo none`]).stdout.trim();
  const used = Number(run("--memory", "256m"));
  expect(used).toBeGreaterThanOrEqual(0);
  expect(used).toBeLessThan(50);
  expect(run()).toBe("none");
});
