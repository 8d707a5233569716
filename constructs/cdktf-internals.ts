import { join } from "node:path";
import { TerraformStack } from "cdktf";
import * as stackTrace from "cdktf/lib/tokens/private/stack-trace";

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
