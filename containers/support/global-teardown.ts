import { removeDeadRunsResources } from "./docker";

/** What this run's suites made, once their workers have ended (and any earlier run's leftovers). */
export default function globalTeardown(): void {
  removeDeadRunsResources({ ownToo: true });
}
