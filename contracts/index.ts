/**
 * Types and constants several layers share. Imports nothing of botfleet's, so any layer may
 * import it (__tests__/layers.test.ts).
 */

/** Clouds botfleet deploys to; each target runs in one. */
export const CLOUDS = ["azure", "gcp"] as const;
export type Cloud = (typeof CLOUDS)[number];

export const TIERS = ["light", "standard", "performance"] as const;
export type Tier = (typeof TIERS)[number];

/** Environment variable that carries the rendered agent config into a container. */
export const AGENT_CONFIG_ENV = "BOTFLEET_AGENT_CONFIG";

/**
 * The managed launcher's health gate (templates/container/launch.sh): the agent answers its health
 * check `checks` times in a row (5 s apart) within `seconds` of its start, before the platform's
 * liveness probe would restart it (AGENT_PROBES.liveness: 3 failures 30 s apart, counted from the
 * moment the launcher's waiting answer stops); a release that `starts` containers started without
 * deciding failed too.
 */
export const CONTAINER_GATE = { seconds: 80, checks: 2, starts: 2 } as const;

/**
 * The agent is restarted gracefully, snapshot first, once its memory passes `percent` of its limit
 * at `checks` checks a minute apart (the VM's updater: the agent container's limit; the managed
 * launcher: the container's), before the kernel kills it mid-write: a busy session peaks at 52 to
 * 65% of every tier's limit, 86% beside another suite (containers/gateway-memory,
 * docs/targets/azure-vmss.md#memory); growth over days (openclaw/openclaw#91588) passes it.
 */
export const MEMORY_RESTART = { percent: 90, checks: 3 } as const;

/** A lowercase DNS name with at least two labels. */
export const HOSTNAME = /^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

/** Name of the stack holding a cloud's shared resources in one region. */
export function sharedStackName(cloud: Cloud, region: string): string {
  return `${cloud}-shared-${region}`;
}

const MEBIBYTES: Record<string, number> = { m: 1, Mi: 1, g: 1024, Gi: 1024 };
/** MiB in a memory quantity as Docker ("1536m", "3g") or the clouds ("512Mi", "2Gi") write it. */
export function mebibytes(quantity: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|Mi|g|Gi)$/.exec(quantity);
  if (!m) throw new Error(`not a memory quantity in MiB or GiB: ${quantity}`);
  return Number(m[1]) * MEBIBYTES[m[2]];
}
