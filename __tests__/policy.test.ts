import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Testing, TerraformResource, type App, type TerraformStack } from "cdktf";
import { renderVmBootstrap } from "../bootstrap/azure-vm";
import { FleetConfigError, parseFleet, type BotOf, type Fleet } from "../config/load";
import { AzureVmssBotStack } from "../targets/azure-vmss/bot-stack";
import { buildFleet } from "../constructs/fleet";
import { POLICY_RULES, RULE_IDS, type RuleId } from "../contracts/policy-rules";
import { evaluatePolicy } from "../policy/rules";
import { openclaw } from "../runtimes/openclaw";
import type { AgentRuntime } from "../runtimes/runtime";
import { exampleFleet, fleetFrom, ROOT } from "./support/fleet";

/** Synthesizes `fleet` for real (app.synth, which fails on error annotations) after `edit`. */
function synth(fleet: Fleet, edit: (stacks: Record<string, TerraformStack>, app: App) => void = () => {}) {
  const app = Testing.app();
  buildFleet(app, fleet);
  edit(Object.fromEntries(app.node.children.map((s) => [s.node.id, s as TerraformStack])), app);
  try {
    app.synth();
    return { error: "", app };
  } catch (e) {
    return { error: (e as Error).message, app };
  }
}

/**
 * Changes a resource the way a code change would: the resource's Terraform JSON, as the stack
 * synthesizes it, is edited. (Escape-hatch overrides cannot do this: they append to lists.)
 */
function rewrite(stack: TerraformStack, address: string, edit: (body: any) => void): void {
  const [type, name] = address.split(/\.(.*)/);
  const resource = stack.node.findAll().find((c): c is TerraformResource => c instanceof TerraformResource && c.terraformResourceType === type && c.friendlyUniqueId === name)!;
  const toTerraform = resource.toTerraform.bind(resource);
  resource.toTerraform = () => {
    const json = toTerraform();
    edit(json.resource[type][name]);
    return json;
  };
}

const annotations = (app: App, level: "info" | "warn" | "error") =>
  app.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === `@cdktf/${level}`).map((m) => `[${c.node.path}] ${m.data}`));

const fleetWith = (bots: string) => fleetFrom(`name: demo\ngcp:\n  project: botfleet-demo\nazure:\n  containerAppsSubnet: 10.0.2.0/27\nbots:\n${bots}`);

describe("the example fleet", () => {
  test("breaks no rule; its one suppression is reported with its reason", () => {
    const { error, app } = synth(exampleFleet());
    expect(error).toBe("");
    expect(annotations(app, "info").sort()).toEqual([
      "[bot-delta] bot bot-delta runs its agent's tools without a sandbox: off: Container Apps cannot run Sysbox, so there is no Docker engine for sandbox containers; tools run inside the agent's own container.",
      expect.stringMatching(/^\[bot-epsilon\/scale-set\] BF-TLS-1 .* Suppressed for bot-epsilon: nanobot's gateway port serves only GET \/health/),
      "[bot-epsilon] bot bot-epsilon runs its agent's tools without a sandbox: off: nanobot has no Docker tool sandbox; tools run inside the agent's own container.",
      "[bot-gamma] bot bot-gamma runs its agent's tools without a sandbox: off: Cloud Run cannot run Sysbox, so there is no Docker engine for sandbox containers; tools run inside the agent's own container.",
    ]);
    expect(annotations(app, "warn")).toEqual([]);
  });

  test("every rule examines something in it", () => {
    const { app } = synth(exampleFleet());
    const examined = new Set(app.node.children.flatMap((s) => evaluatePolicy((s as TerraformStack).toTerraform()).results.map((r) => r.rule)));
    expect([...examined].sort()).toEqual([...RULE_IDS].sort());
  });
});

/** Each rule, broken on purpose: synth fails naming the rule, the resource, what is wrong and the fix. */
const BREAKS: { rule: RuleId; how: string; fleet?: Fleet; edit?: (s: Record<string, TerraformStack>) => void; resource: string; problem: string }[] = [
  {
    rule: "BF-NSG-1",
    how: "an NSG rule admitting SSH, and no deny-all rule",
    edit: (s) =>
      rewrite(s["azure-shared-eastus2"], "azurerm_network_security_group.bot-nsg", (b) => {
        b.security_rule[0].destination_port_range = "22";
        b.security_rule[2].destination_port_range = "3389";
      }),
    resource: "azurerm_network_security_group.bot-nsg",
    problem: 'rule "AllowHttpInbound" admits port 22 inbound; has no deny-all inbound rule',
  },
  {
    rule: "BF-SSH-1",
    how: "an SSH key on the bot VM",
    edit: (s) =>
      rewrite(s["bot-alpha"], "azurerm_orchestrated_virtual_machine_scale_set.scale-set", (b) => {
        b.os_profile.linux_configuration.admin_ssh_key = [{ username: "botadmin", public_key: "ssh-ed25519 AAAAC3Nza test" }];
      }),
    resource: "azurerm_orchestrated_virtual_machine_scale_set.scale-set",
    problem: "has an SSH key for the admin user",
  },
  {
    rule: "BF-GW-1",
    how: "the gateway published on every interface",
    edit: (s) => {
      const fleet = exampleFleet();
      const cloudConfig = renderVmBootstrap(fleet, fleet.bots[0], openclaw).cloudConfig.replace("127.0.0.1:18789:18789", "0.0.0.0:18789:18789");
      rewrite(s["bot-alpha"], "azurerm_orchestrated_virtual_machine_scale_set.scale-set", (b) => {
        b.os_profile.custom_data = Buffer.from(cloudConfig).toString("base64");
      });
    },
    resource: "azurerm_orchestrated_virtual_machine_scale_set.scale-set",
    problem: "publishes the gateway container on 0.0.0.0:18789:18789, not 127.0.0.1",
  },
  {
    rule: "BF-GW-1",
    how: "the gateway on the host network (the state-sync container beside it may be: it publishes nothing)",
    edit: (s) => {
      const fleet = exampleFleet();
      const cloudConfig = renderVmBootstrap(fleet, fleet.bots[0], openclaw).cloudConfig.replace("--name botfleet-agent ", "--name botfleet-agent --network host ");
      rewrite(s["bot-alpha"], "azurerm_orchestrated_virtual_machine_scale_set.scale-set", (b) => {
        b.os_profile.custom_data = Buffer.from(cloudConfig).toString("base64");
      });
    },
    resource: "azurerm_orchestrated_virtual_machine_scale_set.scale-set",
    problem: "runs the gateway container on the host network",
  },
  {
    rule: "BF-GW-1",
    how: "the gateway sent to a Docker daemon elsewhere, which publishes its port on every interface",
    edit: (s) => {
      const fleet = exampleFleet();
      const cloudConfig = renderVmBootstrap(fleet, fleet.bots[0], openclaw).cloudConfig.replace(
        "docker --host 'unix:///run/botfleet/sandbox/engine.sock' run",
        "docker --host 'tcp://10.0.0.5:2375' run",
      );
      rewrite(s["bot-alpha"], "azurerm_orchestrated_virtual_machine_scale_set.scale-set", (b) => {
        b.os_profile.custom_data = Buffer.from(cloudConfig).toString("base64");
      });
    },
    resource: "azurerm_orchestrated_virtual_machine_scale_set.scale-set",
    problem: "publishes the gateway container on 18789:18789, not 127.0.0.1",
  },
  {
    rule: "BF-GW-1",
    how: "the sandbox daemon, which runs the gateway, publishing its port on every interface",
    edit: (s) => {
      const fleet = exampleFleet();
      const cloudConfig = renderVmBootstrap(fleet, fleet.bots[0], openclaw).cloudConfig.replace(/(--runtime sysbox-runc[^]*?--publish )'127\.0\.0\.1:/, "$1'");
      rewrite(s["bot-alpha"], "azurerm_orchestrated_virtual_machine_scale_set.scale-set", (b) => {
        b.os_profile.custom_data = Buffer.from(cloudConfig).toString("base64");
      });
    },
    resource: "azurerm_orchestrated_virtual_machine_scale_set.scale-set",
    problem: "publishes the gateway container on 18789:18789, not 127.0.0.1, and its sandbox daemon does not publish that port on 127.0.0.1",
  },
  {
    rule: "BF-SOCK-1",
    how: "the host's Docker socket mounted into the gateway (the seed's sketch of a sandbox)",
    edit: (s) => {
      const fleet = exampleFleet();
      const cloudConfig = renderVmBootstrap(fleet, fleet.bots[0], openclaw).cloudConfig.replace("--name botfleet-agent ", "--name botfleet-agent --volume /var/run/docker.sock:/var/run/docker.sock ");
      rewrite(s["bot-alpha"], "azurerm_orchestrated_virtual_machine_scale_set.scale-set", (b) => {
        b.os_profile.custom_data = Buffer.from(cloudConfig).toString("base64");
      });
    },
    resource: "azurerm_orchestrated_virtual_machine_scale_set.scale-set",
    problem: "/usr/local/lib/botfleet/run-agent.sh gives a container the host's Docker socket",
  },
  {
    rule: "BF-SOCK-1",
    how: "the sandbox daemon's socket directory swapped for the host's /run",
    edit: (s) => {
      const fleet = exampleFleet();
      const cloudConfig = renderVmBootstrap(fleet, fleet.bots[0], openclaw).cloudConfig.replace("'/run/botfleet/sandbox:/run/botfleet-sandbox:ro'", "'/run:/run/botfleet-sandbox:ro'");
      rewrite(s["bot-alpha"], "azurerm_orchestrated_virtual_machine_scale_set.scale-set", (b) => {
        b.os_profile.custom_data = Buffer.from(cloudConfig).toString("base64");
      });
    },
    resource: "azurerm_orchestrated_virtual_machine_scale_set.scale-set",
    problem: "/usr/local/lib/botfleet/run-agent.sh mounts the host's /run (and the Docker socket in it) into a container",
  },
  {
    rule: "BF-TLS-1",
    how: "a VM bot without a domain",
    fleet: fleetWith("  - name: bot-plain\n"),
    resource: "azurerm_orchestrated_virtual_machine_scale_set.scale-set",
    problem: "Caddy serves the gateway over plain HTTP on port 80",
  },
  {
    rule: "BF-TLS-1",
    how: "a container app that allows plain HTTP",
    edit: (s) => rewrite(s["bot-delta"], "azurerm_container_app.app", (b) => (b.ingress.allow_insecure_connections = true)),
    resource: "azurerm_container_app.app",
    problem: "ingress allows plain HTTP",
  },
  {
    rule: "BF-DM-1",
    how: "a channel open to everyone",
    fleet: fleetWith('  - name: bot-open\n    target: gcp-cloud-run\n    region: us-central1\n    channels:\n      telegram:\n        dmPolicy: open\n        allowFrom: ["*"]\n'),
    resource: "google_cloud_run_v2_service.service",
    problem: 'lets anyone on telegram talk to the bot (DM policy open, allowFrom ["*"])',
  },
  {
    rule: "BF-ING-1",
    how: "a public Cloud Run bot",
    fleet: fleetWith("  - name: bot-pub\n    target: gcp-cloud-run\n    region: us-central1\n    publicAccess: true\n"),
    resource: "google_cloud_run_v2_service_iam_member.public-invoker",
    problem: "grants roles/run.invoker to allUsers",
  },
  {
    rule: "BF-ING-1",
    how: "a public container app",
    fleet: fleetWith("  - name: bot-pub\n    target: azure-container-apps\n    publicAccess: true\n"),
    resource: "azurerm_container_app.app",
    problem: "ingress is open to the whole internet",
  },
  {
    rule: "BF-SEC-1",
    how: "a secret value written into the configuration",
    edit: (s) => rewrite(s["bot-alpha"], "azurerm_key_vault_secret.secrets_llm-api-key_60B04B0A", (b) => (b.value = "sk-ant-not-a-real-key")),
    resource: "azurerm_key_vault_secret.secrets_llm-api-key_60B04B0A",
    problem: "holds a literal value",
  },
  {
    rule: "BF-SEC-1",
    how: "a first secret value written write-only, but as a literal",
    edit: (s) => rewrite(s["bot-delta"], "azurerm_key_vault_secret.secrets_llm-api-key_60B04B0A", (b) => (b.value_wo = "sk-ant-not-a-real-key")),
    resource: "azurerm_key_vault_secret.secrets_llm-api-key_60B04B0A",
    problem: "holds a literal value in value_wo",
  },
  {
    rule: "BF-SEC-1",
    how: "a token passed to a container as plain environment",
    edit: (s) =>
      rewrite(s["bot-gamma"], "google_cloud_run_v2_service.service", (b) => {
        b.template.containers[0].env.push({ name: "TELEGRAM_BOT_TOKEN", value: "123456:not-a-real-token" });
      }),
    resource: "google_cloud_run_v2_service.service",
    problem: "environment variable TELEGRAM_BOT_TOKEN holds a value instead of a vault reference",
  },
  {
    rule: "BF-ID-1",
    how: "a registry pulled with a password",
    edit: (s) =>
      rewrite(s["bot-delta"], "azurerm_container_app.app", (b) => {
        b.registry = [{ server: "acr.example.io", username: "admin", password_secret_name: "acr-password" }];
      }),
    resource: "azurerm_container_app.app",
    problem: "pulls from acr.example.io with a password instead of its identity",
  },
  {
    rule: "BF-ID-1",
    how: "Cloud Run on the default compute account",
    edit: (s) => rewrite(s["bot-gamma"], "google_cloud_run_v2_service.service", (b) => (b.template.service_account = "123-compute@developer.gserviceaccount.com")),
    resource: "google_cloud_run_v2_service.service",
    problem: "runs as the project's default compute service account",
  },
  {
    rule: "BF-ONE-1",
    how: "two VM instances",
    edit: (s) => rewrite(s["bot-alpha"], "azurerm_orchestrated_virtual_machine_scale_set.scale-set", (b) => (b.instances = 2)),
    resource: "azurerm_orchestrated_virtual_machine_scale_set.scale-set",
    problem: "runs 2 instances",
  },
  {
    rule: "BF-ONE-1",
    how: "a container app that scales out",
    edit: (s) => rewrite(s["bot-delta"], "azurerm_container_app.app", (b) => (b.template.max_replicas = 3)),
    resource: "azurerm_container_app.app",
    problem: "max_replicas is 3, not 1",
  },
  {
    rule: "BF-ONE-1",
    how: "a Cloud Run service that scales out",
    edit: (s) => rewrite(s["bot-gamma"], "google_cloud_run_v2_service.service", (b) => (b.template.scaling.max_instance_count = 2)),
    resource: "google_cloud_run_v2_service.service",
    problem: "max_instance_count is 2, not 1",
  },
  {
    rule: "BF-STO-1",
    how: "a storage account that allows public blobs and TLS 1.0",
    edit: (s) =>
      rewrite(s["bot-alpha"], "azurerm_storage_account.state-storage", (b) => {
        b.allow_nested_items_to_be_public = true;
        b.min_tls_version = "TLS1_0";
      }),
    resource: "azurerm_storage_account.state-storage",
    problem: "accepts TLS1_0; allows public blob access",
  },
  {
    rule: "BF-STO-1",
    how: "a state bucket without public access prevention",
    edit: (s) => rewrite(s["bot-gamma"], "google_storage_bucket.state-bucket", (b) => (b.public_access_prevention = "inherited")),
    resource: "google_storage_bucket.state-bucket",
    problem: "does not enforce public access prevention",
  },
  {
    rule: "BF-KV-1",
    how: "a vault without purge protection",
    edit: (s) => rewrite(s["azure-shared-eastus2"], "azurerm_key_vault.key-vault", (b) => (b.purge_protection_enabled = false)),
    resource: "azurerm_key_vault.key-vault",
    problem: "has no purge protection",
  },
  {
    rule: "BF-ISO-1",
    how: "a bot's identity granted secrets on the whole vault",
    edit: (s) => rewrite(s["bot-alpha"], "azurerm_role_assignment.reads-llm-api-key", (b) => (b.scope = "${data.azurerm_key_vault.key-vault.id}")),
    resource: "azurerm_role_assignment.reads-llm-api-key",
    problem: "grants Key Vault Secrets User on something that is not this bot's own (shared azurerm_key_vault), so this bot could reach other bots' secrets or state",
  },
  {
    rule: "BF-ISO-1",
    how: "a bot's identity granted the VM admin password",
    edit: (s) => rewrite(s["bot-alpha"], "azurerm_role_assignment.reads-llm-api-key", (b) => (b.scope = "${azurerm_key_vault_secret.admin-password-secret.resource_versionless_id}")),
    resource: "azurerm_role_assignment.reads-llm-api-key",
    problem: "lets the bot read the VM's admin password",
  },
  {
    rule: "BF-ISO-1",
    how: "a container app running as an identity the stack does not own",
    edit: (s) =>
      rewrite(s["bot-delta"], "azurerm_container_app.app", (b) => {
        b.identity.identity_ids = ["/subscriptions/0/resourceGroups/rg-demo-eastus2/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-demo-eastus2"];
      }),
    resource: "azurerm_container_app.app",
    problem:
      "runs as identity /subscriptions/0/resourceGroups/rg-demo-eastus2/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-demo-eastus2, which this stack does not own and other bots may share",
  },
  {
    rule: "BF-ISO-1",
    how: "a Cloud Run bot's account reading a secret of another stack",
    edit: (s) => rewrite(s["bot-gamma"], "google_secret_manager_secret_iam_member.secrets_llm-api-key-reader_3D484C1B", (b) => (b.secret_id = "demo--bot-other--llm-api-key")),
    resource: "google_secret_manager_secret_iam_member.secrets_llm-api-key-reader_3D484C1B",
    problem: "grants on a secret or bucket this stack does not own, so this bot could reach another bot's",
  },
  {
    rule: "BF-IAM-1",
    how: "Contributor for the deployer",
    edit: (s) => rewrite(s["azure-shared-eastus2"], "azurerm_role_assignment.deployer-writes-secrets", (b) => (b.role_definition_name = "Contributor")),
    resource: "azurerm_role_assignment.deployer-writes-secrets",
    problem: "grants Contributor",
  },
  {
    rule: "BF-IAM-1",
    how: "Role Based Access Control Administrator without a condition",
    edit: (s) => rewrite(s["azure-shared-eastus2"], "azurerm_role_assignment.deployer-writes-secrets", (b) => (b.role_definition_name = "Role Based Access Control Administrator")),
    resource: "azurerm_role_assignment.deployer-writes-secrets",
    problem: "grants Role Based Access Control Administrator without a condition on the roles it may assign",
  },
  {
    rule: "BF-IAM-1",
    how: "Editor for the GitHub deployer",
    edit: (s) => rewrite(s["gcp-shared-us-central1"], "google_project_iam_member.deployer-run-admin", (b) => (b.role = "roles/editor")),
    resource: "google_project_iam_member.deployer-run-admin",
    problem: "grants roles/editor",
  },
];

describe.each(BREAKS)("$rule, broken by $how", ({ rule, fleet, edit, resource, problem }) => {
  test("fails synth with the rule, the resource, the problem and the fix", () => {
    const { error } = synth(fleet ?? exampleFleet(), edit);
    const line = error.split("\n").find((l) => l.includes(`${rule} [`));
    expect(line).toBeDefined();
    expect(line).toContain(`${rule} [${POLICY_RULES[rule].title}] ${resource}: `);
    expect(line).toContain(problem);
    expect(line).toContain(`Fix: ${POLICY_RULES[rule].fix}`);
    expect(error.match(/BF-[A-Z]+-\d \[/g)).toEqual([`${rule} [`]);
  });
});

test("BF-AUTH-1: a runtime whose gateway takes no token fails synth", () => {
  const config = openclaw.config.bind(openclaw);
  const noAuth: AgentRuntime = { ...openclaw, config: (bot, gw) => ({ ...config(bot, gw), gateway: { ...(config(bot, gw) as any).gateway, auth: { mode: "none" } } }) };
  const fleet = exampleFleet();
  const app = Testing.app();
  new AzureVmssBotStack(app, fleet, fleet.bots[0] as BotOf<"azure-vmss">, noAuth);
  expect(() => app.synth()).toThrow(
    /\[bot-alpha\/scale-set\] BF-AUTH-1 \[The gateway demands its token\] azurerm_orchestrated_virtual_machine_scale_set\.scale-set: sets the gateway's auth mode to "none", not "token"\. Fix: /,
  );
});

test("every rule has a case above that breaks it", () => {
  expect(new Set([...BREAKS.map((b) => b.rule), "BF-AUTH-1"])).toEqual(new Set(RULE_IDS));
});

describe("suppressions", () => {
  const plainVm = (suppressions: string) => fleetWith(`  - name: bot-plain\n${suppressions}`);

  test("a suppression with a reason lets synth pass and is reported", () => {
    const { error, app } = synth(plainVm('    suppressions:\n      - rule: BF-TLS-1\n        reason: "lab bot on a private network, no DNS"\n'));
    expect(error).toBe("");
    expect(annotations(app, "info")).toEqual([expect.stringContaining("BF-TLS-1 [Traffic to the gateway is encrypted] azurerm_orchestrated_virtual_machine_scale_set.scale-set: Caddy serves")]);
    expect(annotations(app, "info")[0]).toMatch(/Suppressed for bot-plain: lab bot on a private network, no DNS$/);
  });

  test("applies to its own bot only", () => {
    const { error } = synth(fleetWith('  - name: bot-a\n    suppressions:\n      - rule: BF-TLS-1\n        reason: "lab bot on a private network"\n  - name: bot-b\n'));
    expect(error).toContain("[bot-b/scale-set] BF-TLS-1");
    expect(error).not.toContain("[bot-a/");
  });

  test("a suppression that matches nothing is a warning to remove it", () => {
    const { error, app } = synth(fleetWith('  - name: bot-a\n    domain: a.example.com\n    suppressions:\n      - rule: BF-DM-1\n        reason: "left over from a public beta"\n'));
    expect(error).toBe("");
    expect(annotations(app, "warn")).toEqual(["[bot-a] BF-DM-1 is suppressed for bot bot-a, but nothing in the stack breaks it; remove the suppression from the fleet file."]);
  });

  const rejected = (suppressions: string) => {
    try {
      parseFleet(`name: demo\nbots:\n  - name: bot-a\n    suppressions:\n${suppressions}`, "fleet.yaml", {});
    } catch (e) {
      expect(e).toBeInstanceOf(FleetConfigError);
      return (e as Error).message;
    }
    throw new Error("expected the fleet to be rejected");
  };

  test("need a written reason", () => {
    expect(rejected("      - rule: BF-TLS-1\n")).toContain("bots[0].suppressions[0].reason: is required");
    expect(rejected('      - rule: BF-TLS-1\n        reason: "  ok  "\n')).toContain(
      'line 6: bots[0].suppressions[0].reason: "  ok  " must say why the rule does not hold for this bot (at least 12 characters)',
    );
  });

  test("name a known rule, once, and never one that guards a promise", () => {
    expect(rejected('      - rule: BF-TSL-1\n        reason: "private lab network only"\n')).toContain('"BF-TSL-1" is not allowed; use one of: BF-NSG-1');
    expect(rejected('      - rule: BF-TLS1\n        reason: "private lab network only"\n')).toContain('did you mean "BF-TLS-1"?');
    expect(rejected('      - rule: BF-SEC-1\n        reason: "the key is only a test key"\n')).toContain(
      'bots[0].suppressions[0].rule: "BF-SEC-1" cannot be suppressed: it guards what botfleet promises every bot',
    );
    expect(rejected('      - rule: BF-ONE-1\n        reason: "two pollers are fine here"\n')).toContain("cannot be suppressed");
    expect(rejected('      - { rule: BF-TLS-1, reason: "private lab network only" }\n      - { rule: BF-TLS-1, reason: "and again, for good measure" }\n')).toContain(
      'bots[0].suppressions[1].rule: "BF-TLS-1" is suppressed twice for this bot; keep one entry',
    );
  });
});

test("docs/policy.md's rule table names every rule with its title, level and whether it may be suppressed", () => {
  const rows = [...readFileSync(join(ROOT, "docs/policy.md"), "utf8").matchAll(/^\| (BF-[A-Z]+-\d) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|/gm)].map((m) => m.slice(1, 5).map((cell) => cell.trim()));
  expect(rows).toEqual(RULE_IDS.map((id) => [id, POLICY_RULES[id].title, "error", POLICY_RULES[id].suppressible ? "yes" : "no"]));
});
