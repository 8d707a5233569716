import { join } from "node:path";
import { TerraformElement, TerraformOutput, TerraformStack } from "cdktf";
import { resolve } from "cdktf/lib/_tokens";
import * as stackTrace from "cdktf/lib/tokens/private/stack-trace";
import { deepMerge } from "cdktf/lib/util";
import type { Construct } from "constructs";

/**
 * Where botfleet reaches into cdktf's internals, for synth speed: cdktf 0.21.0 is its last release
 * (the project is archived), so what is reached here stays as it is.
 */

/**
 * cdktf captures a full stack trace for every token and attribute reference it creates (hundreds
 * per bot, one per nested block of every resource), only to print it should that token fail to
 * resolve later. Capturing them cost 8% of a 100-bot synth, and under jest, whose source maps
 * rewrite every frame, a third of the policy tests' time. Botfleet passes plain values, and a
 * resolution error still names the value and its path, so tokens are created without one.
 */
(stackTrace as { captureStackTrace: typeof stackTrace.captureStackTrace }).captureStackTrace = () => [];

/**
 * A stack built once per synthesis: its JSON is built once and shared by the policy aspect and
 * the synthesizer, cdktf's cross-stack preparing pass is skipped, and `afterSynthesis` writes
 * beside the stack's output.
 */
export abstract class SynthesizedOnceStack extends TerraformStack {
  /** The stack's JSON while it is being synthesized (see `afterSynthesis`). */
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
        deepMerge(
          outputs,
          e.node.path.split("/").reduceRight<object>((inner, part) => ({ [part]: Object.keys(inner).length === 0 ? e.friendlyUniqueId : inner }), {}),
        );
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

  /** Calls `write` with the stack's output directory once cdktf has synthesized it. */
  protected afterSynthesis(write: (dir: string) => void): void {
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
        write(join(session.outdir, session.manifest.forStack(this).workingDirectory));
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
