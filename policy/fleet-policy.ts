import { AnnotationMetadataEntryType, TerraformStack, type IAspect } from "cdktf";
import type { IConstruct } from "constructs";
import { describeFinding, evaluatePolicy, type PolicyContext } from "./rules";
import { toolSandboxOf } from "./tool-sandbox";

/**
 * The fleet's policy as a cdktf Aspect: when a stack is synthesized it runs every rule over the
 * stack's Terraform JSON and marks each finding on the construct at fault. A failed rule is an
 * error, so `cdktf synth` fails and prints the rule, the resource and the fix; a suppressed one
 * is shown as info with its reason; a suppression that matched nothing, as a warning.
 */
export class FleetPolicy implements IAspect {
  constructor(private readonly context: PolicyContext & { readonly bot?: string }) {}

  visit(node: IConstruct): void {
    if (!TerraformStack.isStack(node)) return;
    const report = evaluatePolicy(node.toTerraform(), this.context);
    const byPath = new Map(node.node.findAll().map((c) => [c.node.path, c]));
    for (const result of report.results) {
      if (result.status === "pass") continue;
      const level = result.status === "fail" ? AnnotationMetadataEntryType.ERROR : AnnotationMetadataEntryType.INFO;
      // No stack trace: the message says where, and a trace would only point here.
      (byPath.get(result.path) ?? node).node.addMetadata(level, describeFinding(result, this.context.bot));
    }
    // Not a failure (managed targets cannot have one), but said at every synth.
    const sandbox = toolSandboxOf(node.toTerraform(), this.context.runtime);
    if (sandbox && !sandbox.on) node.node.addMetadata(AnnotationMetadataEntryType.INFO, `bot ${this.context.bot} runs its agent's tools without a sandbox: ${sandbox.text}.`);
    // A rule cannot say a resource is safe when the policy does not know what it is.
    for (const gap of report.gaps) (byPath.get(gap.path) ?? node).node.addMetadata(AnnotationMetadataEntryType.ERROR, `${gap.address}: ${gap.message}.`);
    for (const s of report.unusedSuppressions)
      node.node.addMetadata(AnnotationMetadataEntryType.WARN, `${s.rule} is suppressed for bot ${this.context.bot}, but nothing in the stack breaks it; remove the suppression from the fleet file.`);
  }
}
