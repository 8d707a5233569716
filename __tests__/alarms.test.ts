import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MANAGED_BOTFLEET_ALARMS, RUNBOOKS, runtimeAlarms, vmBotfleetAlarms } from "../bootstrap/alarms";
import { deployerRoles } from "../constructs/gcp-shared-stack";
import { gcpApplyRoles } from "../constructs/hcp-terraform-stack";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import { REPAIRS_STATE_ALARM } from "../targets/azure-vmss/repairs-state-alert";
import { CONTAINER_EXITS, cloudRunLogFilter } from "../targets/gcp-cloud-run/bot-alerts";
import { CLOUD_RUN_ALERT_TITLES, exampleFleet, fleetFrom, resources, ROOT, synthFleet } from "./support/fleet";

const source = (path: string) => readFileSync(join(ROOT, path), "utf8");
const runbooks = source(RUNBOOKS);

describe("botfleet's alarms", () => {
  // An alarm on a line nothing prints never fires: each pattern is in the code that prints it.
  test.each(MANAGED_BOTFLEET_ALARMS.flatMap((a) => a.patterns.map((p) => [a.id, p])))("%s: %j is a line botfleet prints", (_, pattern) => {
    const [who, text] = pattern.split(": ");
    const printed = who === "state-sync" ? source("state-sync/state-sync.mjs").includes(`log(\`${text}`) : source("templates/container/launch.sh").includes(`echo "${pattern}`);
    expect(printed).toBe(true);
  });

  // On a VM botfleet's scripts print through common.sh's log() ("<time> botfleet: <text>"); systemd
  // prints the restart line itself (the container suite's VM shows it).
  const vmLines = vmBotfleetAlarms({ restartThreshold: 3 }).flatMap((a) => a.patterns.filter((p) => p.startsWith("botfleet: ")).map((p) => [a.id, p]));
  test.each(vmLines)("%s: %j is a line a VM's scripts print", (_, pattern) => {
    const text = pattern.slice("botfleet: ".length);
    const templates = ["boot.sh.hbs", "update.sh.hbs", "common.sh.hbs"].map((f) => source(`templates/vm/${f}`)).join("\n");
    expect(templates.includes(`log "${text}`) || source("state-sync/state-sync.mjs").includes(text)).toBe(true);
  });

  test("every alarm of every target has its runbook", () => {
    const alarms = [
      ...MANAGED_BOTFLEET_ALARMS,
      ...vmBotfleetAlarms({ restartThreshold: 3 }),
      ...Object.values(RUNTIME_DESCRIPTIONS).flatMap((r) => runtimeAlarms(r.logSignals)),
      CONTAINER_EXITS,
      REPAIRS_STATE_ALARM,
      { id: "message-volume" },
      { id: "replica-restarts" },
    ];
    // The heading "## lease lost" is the anchor #lease-lost (the docs suite checks links by it).
    expect(alarms.filter((a) => !runbooks.includes(`\n## ${a.id.replace(/-/g, " ")}\n`)).map((a) => a.id)).toEqual([]);
  });
});

describe("Cloud Run alerts (gcp.alerts)", () => {
  const { stacks } = synthFleet(exampleFleet());
  const gamma = stacks["bot-gamma"];
  const policies = resources(gamma, "google_monitoring_alert_policy");
  const [channel] = resources(gamma, "google_monitoring_notification_channel");

  test("mail the fleet's address through one e-mail channel of the bot", () => {
    expect(channel).toMatchObject({ type: "email", labels: { email_address: "ops@example.com" }, project: "botfleet-demo" });
    for (const p of policies) expect(p.notification_channels).toEqual(["${google_monitoring_notification_channel.alerts_email_9053A621.name}"]);
  });

  test("one log-match policy per alarm: botfleet's, the runtime's and container exits, each naming its runbook", () => {
    expect(policies.map((p) => p.display_name).sort()).toEqual(CLOUD_RUN_ALERT_TITLES.map((t) => `demo-bot-gamma ${t}`));
    for (const p of policies) {
      // A log-match condition must be alone and rate-limited (the Monitoring API refuses otherwise).
      expect(p.conditions).toHaveLength(1);
      expect(p.conditions[0].condition_matched_log.filter).toMatch(/^resource\.type="cloud_run_revision" AND resource\.labels\.service_name="demo-bot-gamma" AND \(/);
      expect(p.alert_strategy.notification_rate_limit.period).toBe("3600s");
      expect(p.alert_strategy.auto_close).toMatch(/^\d+s$/);
      expect(p.documentation.content).toMatch(/Runbook: docs\/runbooks\.md#[a-z-]+ in botfleet\.$/);
    }
  });

  test("container exits are read from the revision's system log, and a clean exit(0) does not alert", () => {
    const exits = policies.find((p) => p.display_name.endsWith("container exits"))!.conditions[0].condition_matched_log.filter;
    expect(exits).toContain('logName="projects/botfleet-demo/logs/run.googleapis.com%2Fvarlog%2Fsystem"');
    expect(exits).toContain('(textPayload:"Container called exit(" OR textPayload:"Memory limit of")');
    expect(exits).toContain('NOT textPayload:"Container called exit(0)"');
  });

  test("any pattern is quoted for the Logging query language", () => {
    const filter = cloudRunLogFilter("p", "svc", { ...CONTAINER_EXITS, id: "x", patterns: ['say "hi" \\ bye'] });
    expect(filter).toContain('textPayload:"say \\"hi\\" \\\\ bye"');
  });

  test("exist only with gcp.alerts, and only then may the deployers edit alert policies and channels", () => {
    const without = fleetFrom("name: tf\ngcp:\n  project: my-proj-123\nbots:\n  - name: bot-one\n    target: gcp-cloud-run\n    region: europe-west1\n");
    const bot = synthFleet(without).stacks["bot-one"];
    expect(resources(bot, "google_monitoring_alert_policy")).toEqual([]);
    expect(resources(bot, "google_monitoring_notification_channel")).toEqual([]);
    const monitoring = (roles: string[]) => roles.filter((r) => r.startsWith("roles/monitoring."));
    expect(monitoring(Object.keys(deployerRoles(without)))).toEqual([]);
    expect(monitoring(gcpApplyRoles(without))).toEqual([]);
    expect(monitoring(Object.keys(deployerRoles(exampleFleet())))).toEqual(["roles/monitoring.notificationChannelEditor", "roles/monitoring.alertPolicyEditor"]);
    expect(monitoring(gcpApplyRoles(exampleFleet()))).toEqual(["roles/monitoring.notificationChannelEditor", "roles/monitoring.alertPolicyEditor"]);
  });
});
