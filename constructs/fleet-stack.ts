import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Aspects, CloudBackend, LocalBackend, NamedCloudWorkspace, TerraformElement, TerraformOutput, TerraformStack } from "cdktf";
import { resolve } from "cdktf/lib/_tokens";
import { deepMerge } from "cdktf/lib/util";
import type { Construct } from "constructs";
import type { Bot, Fleet } from "../config/load";
import { workspaceName } from "../config/terraform-cloud";
import { FleetPolicy } from "../policy/fleet-policy";
import type { AgentRuntime } from "../runtimes/runtime";
import "./token-stack-traces";

/** File beside each stack's cdk.tf.json that tells `npm run review` what the stack deploys. */
export const STACK_FACTS_FILE = "botfleet.json";

/** Contents of STACK_FACTS_FILE. */
export interface StackFacts {
  readonly stack: string;
  readonly fleet: string;
  /** The bot the stack deploys, with its defaults applied; absent for shared stacks. */
  readonly bot?: Bot;
}

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
    if (!this.synthesis) return this.resolvedOnce();
    return (this.synthesis.json ??= this.resolvedOnce());
  }

  /**
   * What cdktf 0.21's TerraformStack.toTerraform returns (terraform-stack.js), less its last pass:
   * it resolves every element's JSON, merges the pieces, then resolves the merged whole again,
   * which finds nothing left to resolve (6% of a 100-bot synth). Only the stack's metadata is
   * resolved here on its own. With stack-level overrides (botfleet sets none) cdktf's own runs.
   * cdktf 0.21.0 is its last release (the project is archived): this code stays as it is.
   */
  private resolvedOnce() {
    const overrides = (this as unknown as { rawOverrides: Record<string, unknown> }).rawOverrides;
    if (Object.keys(overrides).length > 0) return super.toTerraform();
    const metadata = { version: (this as unknown as { cdktfVersion: string }).cdktfVersion, stackName: this.node.id, backend: "local", cloud: undefined };
    const elements = terraformElements(this);
    for (const e of elements) deepMerge(metadata, resolve(this, e.toMetadata()));
    const outputs = {};
    for (const e of elements)
      if (TerraformOutput.isTerraformOutput(e))
        deepMerge(outputs, e.node.path.split("/").reduceRight<object>((inner, part) => ({ [part]: Object.keys(inner).length === 0 ? e.friendlyUniqueId : inner }), {}));
    const tf: Record<string, unknown> = { "//": resolve(this, { metadata, outputs }) };
    for (const fragment of elements.map((e) => resolve(this, e.toTerraform()))) deepMerge(tf, fragment);
    return tf;
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
    const facts: StackFacts = { stack: name, fleet: fleet.name, bot: deploys?.bot };
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

/** The stack's Terraform elements, as cdktf collects them: depth first, not into nested stacks. */
function terraformElements(node: Construct, into: TerraformElement[] = []): TerraformElement[] {
  if (TerraformElement.isTerraformElement(node)) into.push(node);
  for (const child of node.node.children) if (!TerraformStack.isStack(child)) terraformElements(child, into);
  return into;
}

/** Tags every botfleet resource carries: who manages it and which fleet (and bot) it serves. */
export function fleetTags(fleet: string, bot?: string): Record<string, string> {
  return { "managed-by": "botfleet", fleet, ...(bot ? { bot } : {}) };
}

/** Name of the stack holding a cloud's shared resources in one region. */
export function sharedStackName(cloud: "azure" | "gcp", region: string): string {
  return `${cloud}-shared-${region}`;
}
