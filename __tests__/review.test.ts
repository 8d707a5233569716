import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { PRICES } from "../targets/prices";
import { botDiagram } from "../review/diagram";
import { diffOutputs } from "../review/diff";
import { reviewStack } from "../review/stack-review";
import { readSynthOutput } from "../review/synth-output";
import { modifiedExampleFleet, readmeWithExample, reviewExample, synthTo } from "../scripts/readme-review-example";
import { review } from "../scripts/review";
import { CLOUD_RUN_ALERT_TITLES, exampleFleet, fleetFrom, ROOT } from "./support/fleet";
import { run } from "./support/tools";
import type { Json } from "../tfjson/terraform-json";

/** The example fleet with one bot added (bot-zeta) and one changed (bot-beta: light -> performance). */
const MODIFIED = modifiedExampleFleet();

const example = synthTo(exampleFleet());
const modified = synthTo(fleetFrom(MODIFIED));

describe("the review of the example fleet", () => {
  const files = review(example);
  const stacks = readSynthOutput(example).map(reviewStack);
  const byName = Object.fromEntries(stacks.map((s) => [s.name, s]));
  const { azure, gcp } = PRICES;

  test("says per bot where its logs go and which alerts watch it, and whom they mail", () => {
    expect(byName["bot-gamma"].watching).toEqual({
      logs: "Cloud Logging: the project's _Default bucket, 30 days",
      noAlerts: "none: set gcp.alerts.email",
      alerts: CLOUD_RUN_ALERT_TITLES,
      to: "ops@example.com",
    });
    expect(byName["bot-delta"].watching).toMatchObject({ to: "action group ag-demo-eastus2", alerts: expect.arrayContaining(["replica restarts", "unusual message volume", "config refused"]) });
    expect(byName["bot-alpha"].watching).toMatchObject({
      logs: expect.stringMatching(/^Log Analytics: the region.s workspace, syslog through the Azure Monitor Agent/),
      alerts: [
        "VM repaired or reimaged",
        "agent memory restarts",
        "agent restarts",
        "automatic repairs state changed",
        "bot not ready",
        "channel disconnects",
        "gateway auth failures",
        "restore drill failed",
        "state lease lost",
        "state snapshots failing",
        "tool sandbox off",
        "update rolled back",
      ],
      to: "action group ag-demo-eastus2",
    });
    const noAlerts = reviewStack(readSynthOutput(synthTo(fleetFrom("name: tf\nbots:\n  - name: bot-one\n    domain: one.example.com\n"))).find((s) => s.name === "bot-one")!);
    expect(noAlerts.watching).toMatchObject({ alerts: [], noAlerts: "none: set azure.alerts.email" });
    expect(byName["azure-shared-eastus2"].watching).toBeUndefined();

    expect(files.comment).toContain(
      "**Alerts** (to ops@example.com; each names its runbook in docs/runbooks.md): agent memory restarts, bot not ready, channel disconnects, config refused, container exits,",
    );
  });

  test("lists every stack, shared ones first, with resources by type counted from the plan", () => {
    expect(stacks.map((s) => s.name)).toEqual(["azure-shared-eastus2", "gcp-shared-us-central1", "bot-alpha", "bot-beta", "bot-delta", "bot-epsilon", "bot-gamma"]);
    const json = JSON.parse(readFileSync(join(example, "stacks/bot-gamma/cdk.tf.json"), "utf8"));
    expect(Object.fromEntries(byName["bot-gamma"].resourceCounts)).toEqual(Object.fromEntries(Object.entries(json.resource).map(([type, rs]) => [type, Object.keys(rs as object).length])));
    expect(files.summary).toContain("| bot-gamma | openclaw on gcp-cloud-run, light, us-central1 | 28 | 1 | passed |");
  });

  test("prices each bot from the dated table", () => {
    expect(byName["bot-alpha"].cost.monthly).toBeCloseTo(azure.vmPerMonth.Standard_B2s + azure.diskPerMonth.StandardSSD_LRS[32] + azure.publicIpPerMonth, 2);
    expect(byName["bot-beta"].cost.monthly).toBeCloseTo(azure.vmPerMonth.Standard_B2s + azure.diskPerMonth.StandardSSD_LRS[32] + azure.publicIpPerMonth, 2);
    const activeSeconds = PRICES.hoursPerMonth * 3600;
    // Agent plus state-sync: a sidecar of 0.25 vCPU / 0.5 GiB on Container Apps; inside the light
    // Cloud Run bot's one container, no vCPU of its own and twice the 256 MiB state volume plus
    // 256 MiB of memory (0.75 GiB; as a sidecar it would add a whole vCPU: $47.30 a month more).
    expect(byName["bot-delta"].cost.monthly).toBeCloseTo(activeSeconds * (1.75 * azure.containerAppsVcpuSecond + 3.5 * azure.containerAppsGibSecond), 2);
    expect(byName["bot-gamma"].cost.monthly).toBeCloseTo(activeSeconds * (1 * gcp.cloudRunVcpuSecond + 3.25 * gcp.cloudRunGibSecond) + 4 * gcp.secretVersionPerMonth, 2);
    expect(byName["azure-shared-eastus2"].cost.monthly).toBeCloseTo((azure.registryPerDay.Basic * PRICES.hoursPerMonth) / 24, 2);
    // Usage-based and unknown charges are named, never silently counted as zero.
    expect(byName["bot-delta"].cost.unpriced).toContain("azurerm_monitor_metric_alert.alerts_restarts_879CF83B");
    expect(byName["bot-gamma"].cost.usage).toEqual([gcp.usage.cloudLoggingPerGib, gcp.usage.storagePerGib]);
    expect(byName["bot-gamma"].cost.unpriced).toContain("google_monitoring_alert_policy.alerts_config-refused_5DCEC0A0");
    const total = stacks.reduce((s, r) => s + r.cost.monthly, 0);
    expect(files.monthly).toBeCloseTo(total, 2);
    expect(files.summary).toContain(`estimated **$${total.toFixed(2)} a month** fixed (prices as of ${PRICES.asOf}`);
  });

  test("shows the policy results and the suppression with its reason", () => {
    expect(files.failed).toBe(0);
    expect(files.summary).toContain("policy: 15 rules, none failed, 1 suppressed");
    expect(files.summary).toContain(`- bot-epsilon: BF-TLS-1 (Traffic to the gateway is encrypted): "nanobot's gateway port serves only GET /health: no token, chat or UI crosses port 80"`);
    expect(files.stacks["bot-epsilon"]).toContain("| BF-TLS-1 Traffic to the gateway is encrypted | suppressed on azurerm_orchestrated_virtual_machine_scale_set.scale-set: nanobot's");
    expect(files.stacks["bot-alpha"]).toContain("| BF-GW-1 The gateway is published on 127.0.0.1 only | passed (1 checked) |");
  });

  test("names the public endpoints of each stack", () => {
    expect(byName["azure-shared-eastus2"].endpoints).toEqual(["NSG nsg-demo-eastus2-bots: Tcp 80 from anywhere, Tcp 443 from anywhere"]);
    expect(byName["bot-alpha"].endpoints).toEqual([
      "https://alpha.bots.example.com (Caddy, certificate from Let's Encrypt)",
      "http://<public IP of vmss-bot-alpha>: /health, everything else redirected to HTTPS",
    ]);
    expect(byName["bot-epsilon"].endpoints).toEqual(["http://<public IP of vmss-bot-epsilon>: the gateway over plain HTTP"]);
    expect(byName["bot-delta"].endpoints).toEqual(["https://bot-delta.<environment domain>: from 203.0.113.0/24"]);
    expect(byName["bot-gamma"].endpoints).toEqual(["https://demo-bot-gamma-<hash>.us-central1.run.app: callers with roles/run.invoker only"]);
    expect(byName["gcp-shared-us-central1"].endpoints).toEqual([]);
    // Placeholders in angle brackets would vanish as HTML on GitHub.
    expect(files.stacks["bot-delta"]).toContain("- https://bot-delta.&lt;environment domain&gt;: from 203.0.113.0/24");
  });

  test("lists the secrets each bot expects and who sets them, with no value", () => {
    expect(byName["bot-gamma"].secrets).toEqual([
      { name: "demo--bot-gamma--gateway-token", env: "OPENCLAW_GATEWAY_TOKEN", required: true, generated: true },
      { name: "demo--bot-gamma--llm-api-key", env: "ANTHROPIC_API_KEY", required: true, generated: false },
      { name: "demo--bot-gamma--search-api-key", env: "BRAVE_API_KEY", required: false, generated: false },
      { name: "demo--bot-gamma--telegram-bot-token", env: "TELEGRAM_BOT_TOKEN", required: true, generated: false },
    ]);
    expect(files.stacks["bot-epsilon"]).toContain("| bot-epsilon--telegram-bot-token | TELEGRAM_BOT_TOKEN | yes | set by you |");
    expect(files.stacks["bot-epsilon"]).toContain("| bot-epsilon--vm-admin-password | - | yes | generated by Terraform |");
  });

  // mermaid.test.ts (a tools suite) parses them with the real Mermaid parser.
  test("draws a diagram per bot", () => {
    const diagrams = stacks.filter((s) => s.bot).map((s) => botDiagram(s)!);
    expect(diagrams).toHaveLength(5);
    expect(diagrams[0]).toContain('caddy["Caddy · alpha.bots.example.com"] --> agent["openclaw gateway · 127.0.0.1:18789"]');
    expect(files.summary.match(/```mermaid/g)).toHaveLength(5);
  });
});

describe("the review against the base branch's output", () => {
  const files = review(modified, example);

  test("shows the stacks and resources added and changed, and the cost delta", () => {
    const diffs = Object.fromEntries(files.diffs!.map((d) => [d.name, d]));
    expect(diffs["bot-zeta"]).toMatchObject({ status: "added", removed: [], changed: [] });
    expect(diffs["bot-zeta"].added).toContain("azurerm_orchestrated_virtual_machine_scale_set.scale-set");
    expect(diffs["bot-beta"]).toMatchObject({ status: "changed", added: [], removed: [] });
    // A tier is the VM's size, the agent container's and the sandbox daemon's share of it, the
    // gateway's heap (the plugin installs run with it too), and each tool sandbox's share.
    expect(diffs["bot-beta"].changed).toEqual([
      {
        address: "azurerm_orchestrated_virtual_machine_scale_set.scale-set",
        // A new size is an update in place: sku_name has no ForceNew (review/force-new.json).
        action: "update",
        paths: [
          "os_profile.custom_data (cloud-init files: /usr/local/lib/botfleet/run-agent.sh, /usr/local/lib/botfleet/install-plugins.sh, /etc/botfleet/agent-config.json, /usr/local/lib/botfleet/sandbox-daemon.sh, /etc/botfleet/release.json; for a new or reimaged instance: the running one gets the desired release)",
          "sku_name",
        ],
        // Issue 34: a size change reaches the scale set's model, not the running VM (azurerm
        // v4.55.0 updates with UpdateInstances false).
        effect: "the scale set's model only: the running instance gets sku_name when it is next reimaged or repaired, not at this deploy",
      },
      {
        // The running VM gets the new release (issue 34): the blob is written whole, so nothing is lost.
        address: "azurerm_storage_blob.desired-release",
        action: "replace",
        because: ["source_content (ForceNew, azurerm v4.55.0 internal/services/storage/storage_blob_resource.go:131)"],
        paths: [
          expect.stringMatching(
            /^source_content \(release [0-9a-f]{12} -> [0-9a-f]{12}, applied on the running VM within a minute: run-agent\.sh, install-plugins\.sh, agent-config\.json: restarts the agent \(snapshot first; about 30 to 60 s offline\); sandbox-daemon\.sh: restarts the tool sandbox daemon and the agent\)$/,
          ),
        ],
      },
    ]);
    expect(
      Object.values(diffs)
        .filter((d) => d.status === "unchanged")
        .map((d) => d.name)
        .sort(),
    ).toEqual(["azure-shared-eastus2", "bot-alpha", "bot-delta", "bot-epsilon", "bot-gamma", "gcp-shared-us-central1"]);
    const { azure } = PRICES;
    const betaDelta = azure.vmPerMonth.Standard_D2s_v3 - azure.vmPerMonth.Standard_B2s;
    const zeta = azure.vmPerMonth.Standard_B2s + azure.diskPerMonth.StandardSSD_LRS[32] + azure.publicIpPerMonth;
    expect(diffs["bot-beta"].costAfter - diffs["bot-beta"].costBefore).toBeCloseTo(betaDelta, 2);
    const beta = (vm: number) => `$${(vm + azure.diskPerMonth.StandardSSD_LRS[32] + azure.publicIpPerMonth).toFixed(2)}`;
    expect(files.summary).toContain(`| bot-beta | changed | 0 | 1 | 1 | 0 | ${beta(azure.vmPerMonth.Standard_B2s)} | ${beta(azure.vmPerMonth.Standard_D2s_v3)} | +$${betaDelta.toFixed(2)} |`);
    expect(diffs["bot-zeta"].added.every((a) => !a.startsWith("data.") && !a.startsWith("provider."))).toBe(true);
    expect(files.summary).toContain(`| bot-zeta | added | ${diffs["bot-zeta"].added.length} | 0 | 0 | 0 | $0.00 | $${zeta.toFixed(2)} | +$${zeta.toFixed(2)} |`);
    expect(files.summary).toContain(`**+$${(betaDelta + zeta).toFixed(2)}**`);
    expect(files.changed).toEqual(["bot-beta", "bot-zeta"]);
    expect(files.removed).toEqual([]);
  });

  // Issue 34: a managed bot's change is a new revision, and the review says what that does.
  test("a Cloud Run or Container Apps change is told as a new revision with its release, checked before it takes over", () => {
    const personaChange = synthTo(fleetFrom(readFileSync(join(ROOT, "fleet.yaml"), "utf8").replace("name: Gamma", "name: Gamma Two")));
    const diffs = review(personaChange, example).diffs!;
    const [service] = diffs.find((d) => d.name === "bot-gamma")!.changed;
    expect(service).toMatchObject({ address: "google_cloud_run_v2_service.service", action: "update" });
    expect(service.effect).toMatch(
      /^release [0-9a-f]{12} -> [0-9a-f]{12}: a new revision; the runtime's check runs first \(a refused config keeps the running revision\), then the agent restarts on the new one once the old one stops .*, behind the launcher's health gate \(an agent not healthy within 80 s runs the last good release's config\)$/,
    );
    expect(diffs.find((d) => d.name === "bot-delta")!.status).toBe("unchanged");
  });

  test("names the changed cloud-init files of a VM, and removed stacks", () => {
    const base = review(example, modified);
    expect(base.removed).toEqual(["bot-zeta"]);
    const domainChange = synthTo(fleetFrom(MODIFIED.replace("domain: beta.bots.example.com", "domain: b.bots.example.com")));
    const diff = review(domainChange, modified).diffs!.find((d) => d.name === "bot-beta")!;
    expect(diff.changed[0].paths).toEqual([
      "os_profile.custom_data (cloud-init files: /etc/botfleet/Caddyfile, /etc/botfleet/agent-config.json, /etc/botfleet/agent-config.no-sandbox.json, /etc/botfleet/release.json; for a new or reimaged instance: the running one gets the desired release)",
    ]);
    // The domain is the gateway's allowed origin too: the agent restarts, Caddy reloads.
    expect(diff.changed[1].paths[0]).toMatch(/agent-config\.json, agent-config\.no-sandbox\.json: restarts the agent .*; Caddyfile: reloads Caddy \(no downtime\)\)$/);
  });

  test("says that a VM's new extension (the monitor agent, to an existing bot) reaches the running instance only at its next reimage", () => {
    const base = readSynthOutput(example);
    const alpha = base.find((s) => s.name === "bot-alpha")!;
    const before = { ...alpha, json: JSON.parse(JSON.stringify(alpha.json)) };
    const vmss = Object.values<Json>(before.json.resource!.azurerm_orchestrated_virtual_machine_scale_set)[0];
    vmss.extension = vmss.extension.filter((e: Json) => e.type !== "AzureMonitorLinuxAgent");
    const [scaleSet] = diffOutputs([before], [alpha])[0].changed;
    expect(scaleSet).toMatchObject({ action: "update", effect: "the scale set's model only: the running instance gets extension when it is next reimaged or repaired, not at this deploy" });
  });

  test("says when custom data changed its bytes but not its cloud-init (another gzip, as a Node built with another zlib writes)", () => {
    const base = readSynthOutput(example);
    const alpha = base.find((s) => s.name === "bot-alpha")!;
    const head = { ...alpha, json: JSON.parse(JSON.stringify(alpha.json)) };
    const vmss = Object.values<Json>(head.json.resource!.azurerm_orchestrated_virtual_machine_scale_set)[0];
    const regzipped = gzipSync(gunzipSync(Buffer.from(vmss.os_profile.custom_data, "base64")), { level: 9 }).toString("base64");
    expect(regzipped).not.toBe(vmss.os_profile.custom_data);
    vmss.os_profile.custom_data = regzipped;
    const diff = diffOutputs([alpha], [head])[0];
    expect(diff.changed).toEqual([
      { address: expect.stringMatching(/^azurerm_orchestrated_virtual_machine_scale_set\./), action: "update", paths: ["os_profile.custom_data (the same cloud-init in other bytes)"] },
    ]);
  });
});

describe("npm run review", () => {
  const script = ["-r", join(ROOT, "scripts/ts-register.js"), join(ROOT, "scripts/review.ts")];

  test("writes the summary, the comment, one file per stack and the changed stacks", () => {
    const out = mkdtempSync(join(tmpdir(), "botfleet-review-files-"));
    const r = run(process.execPath, [...script, "--out", modified, "--base", example, "--write", out], { cwd: ROOT });
    expect(r.status).toBe(0);
    expect(r.output).toMatch(/review: .*summary\.md: 8 stacks, \$\d+\.\d\d a month \(\+\$\d+\.\d\d against the base\), 2 changed, 0 removed, 0 policy failures/);
    expect(readFileSync(join(out, "comment.md"), "utf8")).toBe(readFileSync(join(out, "summary.md"), "utf8"));
    expect(readFileSync(join(out, "summary.md"), "utf8").split("\n")[0]).toBe("<!-- botfleet-review -->");
    expect(readFileSync(join(out, "changed-stacks.txt"), "utf8")).toBe("bot-beta\nbot-zeta\n");
    expect(existsSync(join(out, "stacks", "bot-zeta.md"))).toBe(true);
  });

  test("exits 1 and shows the failure when the output breaks a rule", () => {
    const out = mkdtempSync(join(tmpdir(), "botfleet-review-broken-"));
    cpSync(example, out, { recursive: true });
    const file = join(out, "stacks/azure-shared-eastus2/cdk.tf.json");
    writeFileSync(file, readFileSync(file, "utf8").replace('"purge_protection_enabled": true', '"purge_protection_enabled": false'));
    const r = run(process.execPath, [...script, "--out", out], { cwd: ROOT });
    expect(r.status).toBe(1);
    expect(r.output).toContain("1 policy failures");
    expect(readFileSync(join(out, "review/stacks/azure-shared-eastus2.md"), "utf8")).toContain(
      "| BF-KV-1 Key Vault has purge protection and RBAC authorization | **failed**: azurerm_key_vault.key-vault has no purge protection |",
    );
  });

  test("exits 2 with the fix when there is no synthesized output", () => {
    const r = run(process.execPath, [...script, "--out", join(tmpdir(), "no-such-cdktf-out")], { cwd: ROOT });
    expect(r.status).toBe(2);
    expect(r.output).toContain("holds no synthesized output (no manifest.json); run `npx cdktf synth` first");
  });

  test("escapes what the fleet file says in table cells and lists", () => {
    const fleet = fleetFrom('name: demo\nbots:\n  - name: bot-a\n    suppressions:\n      - rule: BF-TLS-1\n        reason: "lab | <script>x</script> only"\n');
    const files = review(synthTo(fleet));
    expect(files.summary).toContain('"lab \\| &lt;script&gt;x&lt;/script&gt; only"');
    expect(files.summary).not.toContain("<script>");
  });
});

test("the review example in docs/review.md is what the review writes today (npm run readme:review)", () => {
  const page = readFileSync(join(ROOT, "docs/review.md"), "utf8");
  expect(readmeWithExample(page, reviewExample())).toBe(page);
});
