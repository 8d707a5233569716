import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Aspects, CloudBackend, LocalBackend, NamedCloudWorkspace, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { Bot, Fleet } from "../config/load";
import { workspaceName } from "../config/terraform-cloud";
import { botFacts, STACK_FACTS_FILE, type StackFacts } from "../contracts/stack-facts";
import { FleetPolicy } from "../policy/fleet-policy";
import type { AgentRuntime } from "../runtimes/runtime";
import "./token-stack-traces";

/**
 * A stack of the fleet: named exactly as `cdktf deploy <name>` expects, with a backend whose
 * configuration is the same on every machine (reviewable in pull requests) and HCP Terraform
 * when the fleet names an organization. The fleet's policy runs over it at synth time (with the
 * bot's suppressions), and its facts are written beside it for the review.
 */
export class FleetStack extends TerraformStack {
  /** The stack's JSON while it is being synthesized (see the synthesizer below). */
  private synthesis?: { json?: ReturnType<TerraformStack["toTerraform"]> };

  toTerraform() {
    if (!this.synthesis) return super.toTerraform();
    return (this.synthesis.json ??= super.toTerraform());
  }

  /**
   * cdktf's preparing pass resolves every element once more than synthesis does, only to find
   * references to other stacks and wire them through outputs and remote state. Botfleet's stacks
   * never reference one another (each looks shared resources up by name and deploys alone), so
   * the pass is skipped: 15% of a 100-bot synth. A reference to another stack would reach
   * Terraform as an undeclared resource and fail the plan.
   */
  prepareStack(): void {
    this.ensureBackendExists();
  }

  constructor(scope: Construct, name: string, fleet: Fleet, deploys?: { bot: Bot; runtime: AgentRuntime }) {
    super(scope, name);
    const cloud = fleet.terraformCloud;
    if (cloud) {
      new CloudBackend(this, {
        hostname: cloud.hostname,
        organization: cloud.organization,
        workspaces: new NamedCloudWorkspace(workspaceName(cloud.workspacePrefix, name)),
      });
    } else {
      // Terraform runs in cdktf.out/stacks/<name>; keep state beside cdktf.json, as cdktf's
      // default does, but with a relative path so the synthesized JSON is machine-independent.
      new LocalBackend(this, { path: `../../../terraform.${name}.tfstate` });
    }

    Aspects.of(this).add(
      new FleetPolicy({ bot: deploys?.bot.name, runtime: deploys?.runtime, suppressions: deploys?.bot.suppressions }),
    );
    const facts: StackFacts = { stack: name, fleet: fleet.name, bot: deploys && botFacts(deploys.bot) };
    const synthesizer = this.synthesizer;
    this.synthesizer = {
      synthesize: (session) => {
        // The policy aspect and the synthesizer both need the stack's JSON; within one synthesis
        // nothing changes it between the two, so it is built once.
        this.synthesis = {};
        try {
          synthesizer.synthesize(session);
        } finally {
          this.synthesis = undefined;
        }
        const dir = join(session.outdir, session.manifest.forStack(this).workingDirectory);
        writeFileSync(join(dir, STACK_FACTS_FILE), `${JSON.stringify(facts, null, 2)}\n`);
      },
    };
  }
}

/** Tags every botfleet resource carries: who manages it and which fleet (and bot) it serves. */
export function fleetTags(fleet: string, bot?: string): Record<string, string> {
  return { "managed-by": "botfleet", fleet, ...(bot ? { bot } : {}) };
}
