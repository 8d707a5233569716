import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Aspects, CloudBackend, LocalBackend, NamedCloudWorkspace } from "cdktf";
import type { Construct } from "constructs";
import type { Bot, Fleet } from "../config/load";
import { projectName, workspaceName } from "../config/terraform-cloud";
import { botFacts, STACK_FACTS_FILE, type StackFacts } from "../contracts/stack-facts";
import { FleetPolicy } from "../policy/fleet-policy";
import type { AgentRuntime } from "../runtimes/runtime";
import { SynthesizedOnceStack } from "./cdktf-internals";

/**
 * A stack of the fleet: named exactly as `cdktf deploy <name>` expects, with a backend whose
 * configuration is the same on every machine (reviewable in pull requests) and HCP Terraform
 * when the fleet names an organization. The fleet's policy runs over it at synth time (with the
 * bot's suppressions), and its facts are written beside it for the review.
 */
export class FleetStack extends SynthesizedOnceStack {
  constructor(scope: Construct, name: string, fleet: Fleet, deploys?: { bot: Bot; runtime: AgentRuntime }) {
    super(scope, name);
    const cloud = fleet.terraformCloud;
    if (cloud) {
      new CloudBackend(this, {
        hostname: cloud.hostname,
        organization: cloud.organization,
        // In the fleet's project: should `terraform init` ever create the workspace (it does when
        // it is missing), it lands there, not in the organization's default project.
        workspaces: new ProjectCloudWorkspace(workspaceName(cloud.workspacePrefix, name), projectName(fleet.name)),
      });
    } else {
      // Terraform runs in cdktf.out/stacks/<name>; keep state beside cdktf.json, as cdktf's
      // default does, but with a relative path so the synthesized JSON is machine-independent.
      new LocalBackend(this, { path: `../../../terraform.${name}.tfstate` });
      // A bot's state holds what Terraform generates for it (the gateway token; a VM's admin
      // password) in plain text. A failed check assertion is a warning at every plan and apply
      // (cdktf diff, cdktf deploy), never an error. The condition is never true: it carries the
      // warning, and refers to terraform.workspace because a condition must refer to something.
      if (deploys)
        this.addOverride(`check.${LOCAL_STATE_CHECK}.assert`, [
          {
            condition: '${terraform.workspace == ""}',
            error_message: localStateWarning(name),
          },
        ]);
    }

    Aspects.of(this).add(new FleetPolicy({ bot: deploys?.bot.name, runtime: deploys?.runtime, suppressions: deploys?.bot.suppressions }));
    const facts: StackFacts = { stack: name, fleet: fleet.name, bot: deploys && botFacts(deploys.bot) };
    this.afterSynthesis((dir) => writeFileSync(join(dir, STACK_FACTS_FILE), `${JSON.stringify(facts, null, 2)}\n`));
  }
}

/** The check block that warns at a bot stack's plan and apply that its state is local. */
export const LOCAL_STATE_CHECK = "local_state";

export function localStateWarning(stack: string): string {
  return (
    `${stack} keeps its Terraform state in a local file, terraform.${stack}.tfstate, which holds the secrets Terraform generates for it ` +
    `(the gateway token; on a VM the admin password) in plain text. Move the state to HCP Terraform (terraformCloud.organization ` +
    `in the fleet file) or another encrypted backend, and keep the file out of backups and shares until then ` +
    `(docs/secrets-and-operations.md#terraform-state).`
  );
}

/** cdktf 0.21's NamedCloudWorkspace writes its project to JSON but drops it from HCL (`--hcl`). */
class ProjectCloudWorkspace extends NamedCloudWorkspace {
  toHclTerraform() {
    return { ...super.toHclTerraform(), project: { value: this.project, type: "simple", storageClassType: "string" } };
  }
}

/** Tags every botfleet resource carries: who manages it and which fleet (and bot) it serves. */
export function fleetTags(fleet: string, bot?: string): Record<string, string> {
  return { "managed-by": "botfleet", fleet, ...(bot ? { bot } : {}) };
}
