import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { acceptedStacks, dataLoss } from "../review/consent";
import { diffOutputs, type StackDiff } from "../review/diff";
import { renderDiff, renderFleet } from "../review/markdown";
import { reviewStack } from "../review/stack-review";
import { readSynthOutput } from "../review/synth-output";
import { synthTo } from "../scripts/readme-review-example";
import { fleetFrom, ROOT } from "./support/fleet";

/**
 * The review marks every change create / update / replace / destroy by the replacement table
 * (review/force-new.json) and says what a replacement or destroy loses, on fleet pairs a user
 * makes: global names moved, a region moved, a tier, a channel, a bot of each target removed.
 */

const EXAMPLE = readFileSync(join(ROOT, "fleet.yaml"), "utf8");
const base = readSynthOutput(synthTo(fleetFrom(EXAMPLE)));

/** The example fleet without one bot's entry. */
function without(bot: string): string {
  return EXAMPLE.replace(new RegExp(`\\n  - name: ${bot}\\n[\\s\\S]*?(?=\\n  - name: |$)`), "");
}

function against(yaml: string): { diffs: StackDiff[]; text: string; stack: (name: string) => StackDiff } {
  const diffs = diffOutputs(base, readSynthOutput(synthTo(fleetFrom(yaml))));
  return { diffs, text: renderDiff(diffs).join("\n"), stack: (name) => diffs.find((d) => d.name === name)! };
}

/** "<action> <address>" of each changed resource of a stack. */
const actions = (d: StackDiff) => Object.fromEntries(d.changed.filter((c) => c.action).map((c) => [c.address, c.action]));

describe("azure.uniqueSuffix moves every globally unique Azure name", () => {
  const { stack, text } = against(EXAMPLE.replace("  # uniqueSuffix: abcd12", "  uniqueSuffix: abcd12"));

  test("the region's Key Vault and each bot's storage account are replaced, not edited", () => {
    expect(actions(stack("azure-shared-eastus2"))["azurerm_key_vault.key-vault"]).toBe("replace");
    expect(actions(stack("bot-alpha"))).toMatchObject({
      "azurerm_storage_account.state-storage": "replace",
      // The container, the secrets and the grants on them follow what they refer to.
      "azurerm_storage_container.state_container_1883D0F8": "replace",
      "azurerm_key_vault_secret.secrets_llm-api-key_60B04B0A": "replace",
      "azurerm_role_assignment.reads-llm-api-key": "replace",
      "azurerm_orchestrated_virtual_machine_scale_set.scale-set": "update",
    });
    expect(text).toContain("- `-/+` **replace** azurerm_storage_account.state-storage: name (forced by name (ForceNew, azurerm v4.55.0 internal/services/storage/storage_account_resource.go:103))");
    expect(text).toContain("| bot-alpha | changed | 0 | 1 | 13 | 0 | $36.42 | $36.42 | $0.00 |");
  });

  test("the loss lines name the vault with the secrets set by hand, and each bot's state", () => {
    expect(text).toMatch(
      /- azure-shared-eastus2: secrets: Key Vault kv-demo-\w+ and every secret in it, the values set by hand among them \(soft-deleted for 90 days; the new vault starts empty\)\. Keep it first: `/,
    );
    expect(text).toMatch(
      /- bot-alpha: state: storage account stbotalpha\w+ and every blob in it: the bot's state snapshots and their pointer \(soft delete does not cover a deleted account\)\. Keep it first: `az storage blob download-batch --auth-mode login --account-name stbotalpha\w+ -s state -d \.\/state-backup`/,
    );
    expect(text).toMatch(
      /- bot-alpha: state: blob container state of storage account stbotalpha\w+: the bot's state snapshots and their pointer \(restorable for 14 days by container soft delete while its account exists\)\./,
    );
    expect(text).toMatch(
      /- bot-alpha: secrets: Key Vault secret bot-alpha--llm-api-key: the value set by you .*Keep it first: `az keyvault secret show --vault-name kv-demo-\w+ --name bot-alpha--llm-api-key --query value -o tsv`/,
    );
    // A generated secret is written again from the state: nothing of it is lost.
    expect(text).not.toContain("bot-alpha--gateway-token:");
    expect(stack("bot-gamma").status).toBe("unchanged");
  });
});

describe("a Cloud Run bot moved to another region", () => {
  const { stack, text } = against(EXAMPLE.replace("    region: us-central1", "    region: europe-west1"));

  test("replaces its service and its state bucket", () => {
    expect(actions(stack("bot-gamma"))).toMatchObject({
      "google_cloud_run_v2_service.service": "replace",
      "google_storage_bucket.state-bucket": "replace",
      "google_storage_bucket_iam_member.state-bucket-user": "replace",
    });
    expect(text).toContain("forced by location (ForceNew, google v6.50.0 google/services/storage/resource_storage_bucket.go:146)");
  });

  test("says the bucket's snapshots go, and that deletion protection and force_destroy stop the apply", () => {
    expect(text).toContain(
      "- bot-gamma: state: bucket gs://demo-bot-gamma-state-10a546: the bot's state snapshots and their old versions (force_destroy is off: the apply stops at the bucket while it holds any object). Keep it first: `gcloud storage cp -r gs://demo-bot-gamma-state-10a546/botfleet-state ./state-backup`",
    );
    expect(text).toContain(
      "- bot-gamma: address: Cloud Run service demo-bot-gamma: its URL (https://demo-bot-gamma-&lt;project number&gt;.us-central1.run.app) and revisions; deletion_protection must be false and applied first, or the apply fails",
    );
    // Its service account lives in the region's shared stack, which moves with it.
    expect(text).toMatch(/- gcp-shared-us-central1: identity: service account run-bot-gamma-\w+: a new principal/);
  });
});

describe("a tier", () => {
  test("resizes a VM and a Cloud Run service in place, and loses nothing", () => {
    const { stack, diffs, text } = against(
      EXAMPLE.replace("  - name: bot-beta\n    domain: beta.bots.example.com\n    tier: light", "  - name: bot-beta\n    domain: beta.bots.example.com\n    tier: performance").replace(
        "    region: us-central1\n    tier: light",
        "    region: us-central1\n    tier: standard",
      ),
    );
    // The new limits reach the running VM as a new release (the blob is written whole: no loss).
    expect(actions(stack("bot-beta"))).toEqual({ "azurerm_orchestrated_virtual_machine_scale_set.scale-set": "update", "azurerm_storage_blob.desired-release": "replace" });
    expect(actions(stack("bot-gamma"))).toEqual({ "google_cloud_run_v2_service.service": "update" });
    expect(diffs.flatMap((d) => d.losses)).toEqual([]);
    expect(text).not.toContain("What the replacements and destroys lose");
  });
});

describe("a channel", () => {
  const { stack, text } = against(EXAMPLE.replace('    channels:\n      telegram:\n        allowFrom: ["987654321", "555000111"]', '    channels:\n      discord:\n        allowFrom: ["987654321"]'));

  test("swapped on a Cloud Run bot: the new secret is created, the old one destroyed with what was set in it", () => {
    const d = stack("bot-gamma");
    expect(d.added).toEqual(expect.arrayContaining(["google_secret_manager_secret.secrets_discord-bot-token_A7B7E1BC"]));
    expect(d.removed).toEqual(expect.arrayContaining(["google_secret_manager_secret.secrets_telegram-bot-token_6E7D8458"]));
    expect(actions(d)["google_cloud_run_v2_service.service"]).toBe("update");
    expect(text).toContain("- `-` destroy google_secret_manager_secret.secrets_telegram-bot-token_6E7D8458");
    expect(text).toContain("- bot-gamma: secrets: Secret Manager secret demo--bot-gamma--telegram-bot-token and all its versions, any value set by you among them");
  });
});

describe("removing a bot of each target", () => {
  test.each([
    ["bot-alpha", /- bot-alpha: state: storage account stbotalpha\w+ and every blob in it/, /- bot-alpha: secrets: Key Vault secret bot-alpha--telegram-bot-token: the value set by you/],
    ["bot-delta", /- bot-delta: state: storage account stbotdelta\w+ and every blob in it/, /- bot-delta: secrets: Key Vault secret bot-delta--discord-bot-token: the value set by you/],
    ["bot-gamma", /- bot-gamma: state: bucket gs:\/\/demo-bot-gamma-state-10a546/, /- bot-gamma: secrets: Secret Manager secret demo--bot-gamma--telegram-bot-token and all its versions/],
  ])("%s: every resource destroyed, its state and secrets named", (bot, state, secrets) => {
    const { stack, text } = against(without(bot));
    const d = stack(bot);
    expect(d.status).toBe("removed");
    expect(d.removed.length).toBeGreaterThan(10);
    expect(text).toContain(`| ${bot} | removed | 0 | 0 | 0 | ${d.removed.length} |`);
    expect(text).toMatch(state);
    expect(text).toMatch(secrets);
    expect(d.losses.some((l) => l.kind === "identity")).toBe(bot !== "bot-gamma");
    expect(text).toContain(`- ${bot}: leaves the fleet without being retired first: the deploy after the merge does not destroy it`);
  });
});

describe("data loss needs consent", () => {
  test("a description accepts stacks by name, one line or several, in a quote or a list", () => {
    expect([...acceptedStacks("Retire it.\r\n\r\nAccept data loss: bot-alpha, `bot-gamma`\n- accept data loss: azure-shared-eastus2\n")]).toEqual(["bot-alpha", "bot-gamma", "azure-shared-eastus2"]);
    expect([...acceptedStacks("We accept data loss: never here, mid-sentence")]).toEqual([]);
    expect([...acceptedStacks("")]).toEqual([]);
  });

  test("only state and secrets need it: a tier or an address does not", () => {
    const tier = against(EXAMPLE.replace("    region: us-central1\n    tier: light", "    region: us-central1\n    tier: standard"));
    expect(dataLoss(tier.diffs)).toEqual([]);
    // Its three secrets set by hand (the gateway token is generated), its account and container.
    const removed = against(without("bot-delta"));
    expect(dataLoss(removed.diffs, new Set(["bot-alpha"])).map((l) => [l.stack, l.accepted, l.losses.map((x) => x.kind).sort()])).toEqual([
      ["bot-delta", false, ["secrets", "secrets", "secrets", "state", "state"]],
    ]);
  });

  test("npm run review exits 3 on a pull request that does not accept it, 0 once it does, and 0 without --pr-body (the deploy after the merge)", () => {
    const dir = synthTo(fleetFrom(without("bot-delta")));
    const baseDir = synthTo(fleetFrom(EXAMPLE));
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ["-r", join(ROOT, "scripts/ts-register.js"), join(ROOT, "scripts/review.ts"), "--out", dir, "--base", baseDir, "--write", join(dir, "review"), ...args], {
        encoding: "utf8",
      });
    const refused = cli("--pr-body", "Remove bot-delta");
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain('then add the line "Accept data loss: bot-delta" to the pull request\'s description');
    expect(cli("--pr-body", "Remove bot-delta\nAccept data loss: bot-delta").status).toBe(0);
    expect(cli().status).toBe(0);
  });
});

describe("a resource that holds state and may be replaced", () => {
  test("counts as a loss, marked as possible, when the provider decides at plan time or the table does not know the attribute", () => {
    const alpha = base.find((s) => s.name === "bot-alpha")!;
    const edit = (change: (account: Record<string, unknown>) => void) => {
      const json = JSON.parse(JSON.stringify(alpha.json));
      change(Object.values<Record<string, unknown>>(json.resource.azurerm_storage_account)[0]);
      return diffOutputs([alpha], [{ ...alpha, json }])[0];
    };
    // account_kind forces new only from some kinds to others: a CustomizeDiff (review/force-new.json).
    const kind = edit((a) => (a.account_kind = "BlobStorage"));
    expect(kind.changed.map((c) => c.action)).toEqual(["may-replace"]);
    expect(kind.losses).toEqual([expect.objectContaining({ address: "azurerm_storage_account.state-storage", kind: "state", maybe: true })]);
    expect(dataLoss([kind]).map((l) => l.stack)).toEqual(["bot-alpha"]);
    expect(renderDiff([kind]).join("\n")).toMatch(/- bot-alpha: state \(if it is replaced\): storage account stbotalpha\w+ and every blob in it/);
    const unknown = edit((a) => (a.sftp_enabled = true));
    expect(unknown.changed.map((c) => c.action)).toEqual(["unknown"]);
    expect(unknown.losses).toEqual([expect.objectContaining({ kind: "state", maybe: true })]);
    // An update known to be in place loses nothing.
    expect(edit((a) => (a.min_tls_version = "TLS1_3")).losses).toEqual([]);
  });
});

describe("retiring a bot of each target (retired: true)", () => {
  /** The example fleet with `lines` added to one bot's entry. */
  const withLines = (bot: string, ...lines: string[]) => EXAMPLE.replace(`\n  - name: ${bot}\n`, `\n  - name: ${bot}\n${lines.map((l) => `    ${l}\n`).join("")}`);
  const retire = (bot: string) => withLines(bot, "retired: true", ...(bot === "bot-gamma" ? ["deletionProtection: false"] : []));
  const KEPT =
    /^(azurerm_resource_group|azurerm_user_assigned_identity|azurerm_storage_account|azurerm_storage_container|azurerm_role_assignment|azurerm_key_vault_secret|google_storage_bucket|google_storage_bucket_iam_member|google_secret_manager_secret|google_secret_manager_secret_version|google_secret_manager_secret_iam_member|random_password)\./;

  test.each([
    ["bot-alpha", "azurerm_orchestrated_virtual_machine_scale_set.scale-set", "https://stbotalpha428602.blob.core.windows.net/state"],
    ["bot-delta", "azurerm_container_app.app", "https://stbotdeltafb056c.blob.core.windows.net/state"],
    ["bot-gamma", "google_cloud_run_v2_service.service", "gs://demo-bot-gamma-state-10a546"],
  ])("%s: what runs it is destroyed, its identity, secrets and state are kept unchanged, and no consent is needed", (bot, runs, store) => {
    const { stack, diffs, text } = against(retire(bot));
    const d = stack(bot);
    expect(d.status).toBe("changed");
    expect(d.removed).toContain(runs);
    expect(d.added).toEqual(["output.retired"]);
    // Nothing that holds the bot's identity, secrets or state is destroyed, replaced or changed.
    // (The VM's admin password and the app's image pull grant go with what they served.)
    expect(d.removed.filter((a) => KEPT.test(a) && !/\.(admin-password|admin-password-secret|pulls-images)$/.test(a))).toEqual([]);
    // (A retired bot's bucket is destroyed with its objects once it leaves the fleet.)
    expect(d.changed.filter((c) => c.action !== "none").map((c) => `${c.address}: ${c.action} ${c.paths.join(", ")}`)).toEqual(
      bot === "bot-gamma" ? ["google_storage_bucket.state-bucket: update force_destroy"] : [],
    );
    expect(d.losses.filter((l) => l.kind === "state" || l.kind === "secrets")).toEqual([]);
    expect(dataLoss(diffs)).toEqual([]);
    expect(d.costAfter).toBeLessThan(d.costBefore);
    expect(d.retirement).toEqual({ change: "retired", stateStore: store });
    expect(text).toContain(`- ${bot}: retired: nothing runs it after this deploy`);
    expect(text).toContain(`its state in ${store} with every snapshot`);
    const summary = renderFleet(readSynthOutput(synthTo(fleetFrom(retire(bot)))).map(reviewStack));
    expect(summary).toMatch(new RegExp(`\\| ${bot} \\| openclaw on \\S+, \\w+, [\\w-]+, retired \\(state kept, nothing runs\\) \\| \\d+ \\| 0 \\| passed \\|`));
    // Brought back: what ran it is created again, and the review says it restores its state.
    const back = diffOutputs(readSynthOutput(synthTo(fleetFrom(retire(bot)))), base).find((x) => x.name === bot)!;
    expect(back.added).toContain(runs);
    expect(back.removed).toEqual(["output.retired"]);
    expect(back.retirement).toEqual({ change: "returned", stateStore: store });
  });

  test("once retired, leaving the fleet destroys the rest after the merge, a loss the pull request must accept", () => {
    const retired = readSynthOutput(synthTo(fleetFrom(retire("bot-alpha"))));
    const diffs = diffOutputs(retired, readSynthOutput(synthTo(fleetFrom(without("bot-alpha")))));
    const d = diffs.find((x) => x.name === "bot-alpha")!;
    expect(d).toMatchObject({ status: "removed", removedRetired: true });
    expect(renderDiff(diffs).join("\n")).toContain("- bot-alpha: retired, now leaving the fleet: the deploy after the merge destroys its stack, with its identity, secrets and state");
    expect(dataLoss(diffs).map((l) => [l.stack, [...new Set(l.losses.map((x) => x.kind))].sort()])).toEqual([["bot-alpha", ["secrets", "state"]]]);
  });

  test("a retired Cloud Run bot under deletion protection is refused, naming the two deploys", () => {
    expect(() => fleetFrom(withLines("bot-gamma", "retired: true"))).toThrow(
      /bots\[\d\]\.retired: .*would delete the bot's Cloud Run service, which deletion protection keeps .*first deploy the bot with "deletionProtection: false", then retire it/,
    );
  });
});

// Issue 37: a new bot needs an owner's stacks applied first; the pull request says which and when
// (what scripts/owner-stacks.sh decides after the merge).
describe("a change to the stacks only an owner's rights apply", () => {
  const newCloudRunBot = EXAMPLE.replace(
    "  - name: bot-gamma\n",
    '  - name: bot-new\n    target: gcp-cloud-run\n    region: us-central1\n    channels:\n      telegram:\n        allowFrom: ["987654321"]\n\n  - name: bot-gamma\n',
  );

  test("a new Cloud Run bot: gcp-shared (its runtime account) is applied by the owner job before the bots", () => {
    const { stack, text } = against(newCloudRunBot);
    expect(stack("bot-new").status).toBe("added");
    expect(stack("gcp-shared-us-central1").added).toEqual(expect.arrayContaining([expect.stringMatching(/^google_service_account\./)]));
    expect(text).toContain("**Applied with an owner's rights**");
    expect(text).toContain("- gcp-shared-us-central1: they grant roles and trust");
    expect(text).toContain("the deploy workflow's owner job applies them before the bots, in the environment `fleet-admin`");
    expect(text).toContain("an owner runs `npx cdktf deploy gcp-shared-us-central1` first");
  });

  test("a retired bot leaving: after the bots; a bot leaving unretired: not by the workflow", () => {
    const synth = (yaml: string) => readSynthOutput(synthTo(fleetFrom(yaml)));
    const twoCloudRunBots = synth(newCloudRunBot);
    const retired = synth(newCloudRunBot.replace("  - name: bot-new\n", "  - name: bot-new\n    retired: true\n    deletionProtection: false\n"));
    const leaving = renderDiff(diffOutputs(retired, synth(EXAMPLE))).join("\n");
    expect(leaving).toContain("- gcp-shared-us-central1: they grant roles and trust");
    expect(leaving).toContain("applies them after the bots (a retired bot leaves: its workspace goes once its stack is destroyed)");
    expect(renderDiff(diffOutputs(twoCloudRunBots, synth(EXAMPLE))).join("\n")).toContain("The deploy workflow does not apply them while a bot leaves the fleet unretired");
    // A bot arriving as a retired one leaves: one needs them before, the other after.
    const swapped = synth(newCloudRunBot.replace("  - name: bot-new\n", "  - name: bot-newer\n"));
    expect(renderDiff(diffOutputs(retired, swapped)).join("\n")).toContain(
      "The deploy workflow does not apply them when bots arrive (bot-newer) as a retired one leaves (the new need them before their deploy, the leaving one after its destroy): add the bots in a change of their own, or an owner runs `npx cdktf deploy gcp-shared-us-central1` by hand.",
    );
  });

  test("a change to bots alone says nothing of owners", () => {
    expect(against(EXAMPLE.replace("    tier: light\n    persona:\n      name: Gamma", "    tier: standard\n    persona:\n      name: Gamma")).text).not.toContain("owner's rights");
  });
});
