/**
 * Prints the stacks of the fleet file, one per line, for workflows:
 *   node -r sucrase/register scripts/stacks.ts [--target <target>] [--shared]
 * --target: only the bot stacks of that target; --shared: only the shared stacks.
 */
import { DEFAULT_FLEET_FILE, FleetConfigError, loadFleet, type Fleet } from "../config/load";
import { TARGET_CLOUD, TARGETS, type Target } from "../config/schema";
import { sharedStackName } from "../constructs/fleet-stack";

export function stackNames(fleet: Fleet, options: { target?: Target; shared?: boolean } = {}): string[] {
  if (options.shared) {
    const shared = fleet.bots.map((b) => sharedStackName(TARGET_CLOUD[b.target], b.region));
    return [...new Set(shared)].sort();
  }
  return fleet.bots.filter((b) => !options.target || b.target === options.target).map((b) => b.name);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const target = args.includes("--target") ? args[args.indexOf("--target") + 1] : undefined;
  if (target !== undefined && !(TARGETS as readonly string[]).includes(target)) {
    process.stderr.write(`stacks: --target "${target}" is not a target; use one of: ${TARGETS.join(", ")}\n`);
    process.exit(2);
  }
  try {
    const fleet = loadFleet(process.env.BOTFLEET_CONFIG ?? DEFAULT_FLEET_FILE);
    const names = stackNames(fleet, { target: target as Target | undefined, shared: args.includes("--shared") });
    if (names.length > 0) process.stdout.write(`${names.join("\n")}\n`);
  } catch (e) {
    if (!(e instanceof FleetConfigError)) throw e;
    process.stderr.write(`stacks: ${e.message}\n`);
    process.exit(1);
  }
}
