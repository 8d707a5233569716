import { docker, LABEL, RUN_LABEL, removeDeadRunsResources } from "./support/docker";
import { imageRef } from "./support/images";

/**
 * A run that is killed (a CI job stopped, a session ended) never tears down: its stopped VM
 * container kept holding the VM disks, and every VM suite of the next run failed ("disk ... is in
 * use"). Each run now removes what runs no longer running left behind, and nothing of a live one.
 */
test("a killed run's containers, networks and volumes are removed; a live run's stay", () => {
  const deadLabel = `${LABEL}=0badc0de.000000000000.1.1`;
  const made: Record<string, string[]> = { dead: [], live: [] };
  for (const [kind, label] of [
    ["dead", deadLabel],
    ["live", RUN_LABEL],
  ] as const) {
    const volume = docker(["volume", "create", "--label", label, `botfleet-test-leftover-${kind}-${Date.now().toString(36)}`]).stdout.trim();
    const container = docker(["create", "--label", label, "--network", "none", "--volume", `${volume}:/disk`, "--entrypoint", "true", imageRef("vm")]).stdout.trim();
    made[kind] = [container, volume];
  }
  try {
    expect(removeDeadRunsResources()).toBeGreaterThanOrEqual(2);
    const exists = (id: string) => docker(["inspect", id], { allowFail: true }).status === 0;
    expect(made.dead.filter(exists)).toEqual([]);
    expect(made.live.filter(exists)).toEqual(made.live);
  } finally {
    docker(["rm", "-f", made.live[0]], { allowFail: true });
    docker(["volume", "rm", "-f", made.live[1]], { allowFail: true });
  }
});
