import type { AgentRuntime } from "../runtimes/runtime";
import { CLOUD_RUN, CONTAINER_APP, StackView, VM_TYPES, type StackJson } from "./terraform-json";

/** Where a bot's agent runs the tools it calls, as its synthesized stack shows it. */
export interface ToolSandboxFact {
  /** Tools run in sandbox containers (on a VM: unless Sysbox fails at boot). */
  readonly on: boolean;
  readonly text: string;
}

/**
 * The tool sandbox of a bot stack's workload, read from the agent config it renders; undefined for
 * stacks without a bot. Synth reports the bots without one (FleetPolicy) and the review shows it.
 */
export function toolSandboxOf(json: StackJson, runtime: AgentRuntime | undefined): ToolSandboxFact | undefined {
  if (!runtime) return undefined;
  const stack = new StackView(json, runtime);
  const [workload] = stack.resources([...VM_TYPES, CONTAINER_APP, CLOUD_RUN]);
  if (!workload) return undefined;
  const off = (why: string) => ({ on: false, text: `off: ${why}; tools run inside the agent's own container` });
  if (!runtime.toolSandbox) return off(`${runtime.id} has no Docker tool sandbox`);
  const described = runtime.toolSandbox.describe(stack.agentConfig(workload));
  const on = described !== "off";
  if (VM_TYPES.includes(workload.type))
    return on ? { on, text: `${described}, on a Docker daemon under sysbox-runc (off at run time if Sysbox fails: boot log "sandbox: DEGRADED")` } : off("sandbox.mode off in the fleet file");
  if (on) return { on, text: described };
  return off(`${workload.type === CONTAINER_APP ? "Container Apps" : "Cloud Run"} cannot run Sysbox, so there is no Docker engine for sandbox containers`);
}
