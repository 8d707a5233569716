import type { AgentRuntime } from "../runtimes/runtime";
import { TARGETS } from "../targets/registry";
import { StackView, type StackJson } from "../tfjson/terraform-json";

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
  for (const target of TARGETS) {
    const [workload] = stack.resources(Object.keys(target.compute));
    if (!workload) continue;
    const off = (why: string) => ({ on: false, text: `off: ${why}; tools run inside the agent's own container` });
    if (!runtime.toolSandbox) return off(`${runtime.id} has no Docker tool sandbox`);
    const config = target.agentConfig(workload, stack);
    // BF-AUTH-1 fails such a stack; here it only must not pass for one with a sandbox.
    if (config === undefined) return off("its agent config cannot be read");
    const described = runtime.toolSandbox.describe(config);
    if (described === "off") return off("engine" in target.toolSandbox ? "sandbox.mode off in the fleet file" : target.toolSandbox.none);
    return { on: true, text: "engine" in target.toolSandbox ? `${described}, on ${target.toolSandbox.engine}` : described };
  }
  return undefined;
}
