import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { FleetConfigError, loadFleet, parseFleet } from "../config/load";
import { TAKEN_FLEET_NAMES, takenNamesWarning } from "../config/taken-names";
import { fleetSchemaJson } from "../scripts/export-schema";
import { appArgs } from "./support/app";

const ROOT = join(__dirname, "..");
const minimal = (bots: string, extra = "") => `name: demo\n${extra}bots:\n${bots}`;

/** The FleetConfigError's message, or a failure when the text is accepted. */
function problems(text: string): string {
  try {
    parseFleet(text, "fleet.yaml", {});
  } catch (e) {
    expect(e).toBeInstanceOf(FleetConfigError);
    return (e as Error).message;
  }
  throw new Error("expected the fleet to be rejected");
}

describe("the example fleet", () => {
  const fleet = loadFleet(join(ROOT, "fleet.yaml"), {});

  test("applies fleet defaults and built-in defaults to every bot", () => {
    const beta = fleet.bots.find((b) => b.name === "bot-beta")!;
    expect(beta).toMatchObject({ target: "azure-vmss", runtime: "openclaw", region: "eastus2", tier: "light" });
    expect(beta.model).toBe("openrouter/anthropic/claude-haiku-4-5");
    expect(beta.modelProvider).toBe("openrouter");
  });

  test("derives the DM policy from the allowlist", () => {
    const alpha = fleet.bots.find((b) => b.name === "bot-alpha")!;
    expect(alpha.channels.telegram).toEqual({ dmPolicy: "allowlist", allowFrom: ["123456789"] });
    expect(alpha.channels.discord).toBeUndefined();
  });

  test("holds no secret values", () => {
    const text = readFileSync(join(ROOT, "fleet.yaml"), "utf8");
    expect(text).not.toMatch(/sk-[A-Za-z0-9]{10,}|\d{8,10}:[A-Za-z0-9_-]{30,}|apiKey|token:/i);
  });
});

describe("fleet file errors name the path, the value and the fix", () => {
  test("a missing file", () => {
    expect(() => loadFleet("/nonexistent/fleet.yaml", {})).toThrow(/\/nonexistent\/fleet\.yaml: 1 problem\n.*file not found.*BOTFLEET_CONFIG/);
  });

  test("an empty file, or one with only comments", () => {
    expect(problems("")).toMatch(/is empty/);
    expect(problems("# nothing yet\n\n")).toMatch(/is empty/);
  });

  test("a YAML syntax error, with its line number", () => {
    expect(problems("name: demo\nbots:\n  - name: a\n    tier: [light\n")).toMatch(/line \d+: YAML syntax error/);
    expect(problems("name: demo\nname: other\nbots: []\n")).toMatch(/line 2: YAML syntax error: Map keys must be unique/);
  });

  test("a document that is not a mapping", () => {
    expect(problems("- a\n- b\n")).toMatch(/must be a YAML mapping/);
  });

  test("an unknown key, with the likely intended key", () => {
    const m = problems(minimal("  - name: bot-a\n    regoin: eastus2\n"));
    expect(m).toContain('line 4: bots[0].regoin: unknown key; did you mean "region"?');
    expect(m).toContain("allowed here: name, domain, target");
    expect(problems("nmae: demo\nbots:\n  - name: bot-a\n")).toMatch(/nmae: unknown key; did you mean "name"/);
  });

  test("duplicate bot names", () => {
    expect(problems(minimal("  - name: bot-a\n  - name: bot-b\n  - name: bot-a\n"))).toContain('line 5: bots[2].name: "bot-a" duplicates bots[0].name; bot names must be unique');
  });

  test.each([
    ["Bot_1", "uppercase and underscore"],
    ["ab", "too short"],
    ["a".repeat(41), "too long"],
    ["bot--a", "double hyphen (reserved as the secret-name separator)"],
    ["1bot", "leading digit"],
    ["bot-", "trailing hyphen"],
  ])("a bot name that cannot become a resource name: %s (%s)", (name) => {
    const m = problems(minimal(`  - name: "${name}"\n`));
    expect(m).toContain(`bots[0].name: "${name}" must be 3-40 lowercase letters, digits and single hyphens`);
  });

  test("a fleet name that cannot prefix resource names", () => {
    expect(problems('name: "Demo Fleet"\nbots:\n  - name: bot-a\n')).toMatch(/line 1: name: "Demo Fleet" must be 2-16 lowercase/);
  });

  test("a reserved bot name", () => {
    expect(problems(minimal("  - name: azure-shared-eastus2\n"))).toMatch(/is reserved for shared stacks/);
  });

  test("unknown target, runtime and tier list what is allowed", () => {
    const m = problems(minimal("  - name: bot-a\n    target: azure-vms\n    runtime: openclawd\n    tier: huge\n"));
    expect(m).toContain('bots[0].target: "azure-vms" is not allowed; use one of: azure-vmss, azure-container-apps, gcp-cloud-run; did you mean "azure-vmss"?');
    expect(m).toContain('bots[0].runtime: "openclawd" is not allowed; use one of: openclaw, nanobot; did you mean "openclaw"?');
    expect(m).toContain('bots[0].tier: "huge" is not allowed; use one of: light, standard, performance');
  });

  test("a sandbox mode where there is no Docker sandbox: managed targets and nanobot", () => {
    const m = problems(
      minimal("  - name: bot-a\n    target: azure-container-apps\n    sandbox:\n      mode: all\n  - name: bot-b\n    runtime: nanobot\n    model: openai/gpt-5\n    sandbox:\n      mode: non-main\n"),
    );
    expect(m).toContain(
      'bots[0].sandbox.mode: "all" is not available: Container Apps cannot run Sysbox, so there is no Docker engine for sandbox containers; remove it (the sandbox is off there) or use target azure-vmss with runtime openclaw',
    );
    expect(m).toContain('bots[1].sandbox.mode: "non-main" is not available: runtime nanobot has no Docker tool sandbox');
    expect(problems(minimal("  - name: bot-a\n    sandbox:\n      mode: some\n"))).toContain('bots[0].sandbox.mode: "some" is not allowed; use one of: off, non-main, all');
  });

  test("the sandbox: the runtime's recommended mode unless the bot or defaults name one; no network unless allowed", () => {
    const fleet = parseFleet(
      minimal(
        '  - name: bot-a\n  - name: bot-b\n    sandbox:\n      mode: all\n      network: true\n  - name: bot-c\n    target: gcp-cloud-run\n    region: us-central1\n    sandbox:\n      mode: "off"\n',
        "gcp:\n  project: botfleet-demo\n",
      ),
      "fleet.yaml",
      {},
    );
    expect(fleet.bots.map((b) => b.sandbox)).toEqual([
      { mode: undefined, network: false },
      { mode: "all", network: true },
      { mode: "off", network: false },
    ]);
  });

  test("an unknown region, for the bot or in defaults", () => {
    expect(problems(minimal("  - name: bot-a\n    region: eastus-2\n"))).toContain('line 4: bots[0].region: "eastus-2" is not an Azure region for target azure-vmss; did you mean "eastus2"?');
    expect(problems(minimal("  - name: bot-a\n", "defaults:\n  region: mars1\n"))).toMatch(/defaults\.region: "mars1" is not an Azure region/);
  });

  test("malformed CIDRs and a subnet outside the address space", () => {
    expect(problems(minimal("  - name: bot-a\n", "azure:\n  addressSpace: 10.0.0.1/16\n"))).toContain(
      'azure.addressSpace: "10.0.0.1/16" is not an IPv4 CIDR with its network address (e.g. 10.0.0.0/16)',
    );
    expect(problems(minimal("  - name: bot-a\n", "azure:\n  botSubnet: 10.0.300.0/24\n"))).toMatch(/azure\.botSubnet: "10\.0\.300\.0\/24" is not an IPv4 CIDR/);
    expect(problems(minimal("  - name: bot-a\n", "azure:\n  botSubnet: 10.9.1.0/24\n"))).toMatch(/azure\.botSubnet: "10\.9\.1\.0\/24" must lie inside addressSpace 10\.0\.0\.0\/16/);
  });

  test("malformed domains", () => {
    for (const domain of ["https://a.example.com", "a.example.com:8443", "Alpha.Example.com", "localhost", "a..example.com"])
      expect(problems(minimal(`  - name: bot-a\n    domain: "${domain}"\n`))).toContain(`bots[0].domain: "${domain}" must be a lowercase DNS name`);
  });

  test("channel policies that contradict their allowlist", () => {
    expect(problems(minimal("  - name: bot-a\n    channels:\n      telegram:\n        dmPolicy: allowlist\n"))).toMatch(
      /channels\.telegram\.allowFrom: dmPolicy "allowlist" needs at least one user id/,
    );
    expect(problems(minimal('  - name: bot-a\n    channels:\n      discord:\n        dmPolicy: open\n        allowFrom: ["42"]\n'))).toMatch(/dmPolicy "open" needs allowFrom: \["\*"\]/);
  });

  test("a model without a known provider", () => {
    expect(problems(minimal("  - name: bot-a\n    model: gpt-4o\n"))).toMatch(/bots\[0\]\.model: "gpt-4o" must be "provider\/model"/);
    expect(problems(minimal("  - name: bot-a\n    model: acme/m1\n"))).toMatch(/unknown provider prefix; use one of: anthropic, openai/);
  });

  test("an unpinned image", () => {
    expect(problems(minimal("  - name: bot-a\n    image: ghcr.io/openclaw/openclaw:latest\n"))).toMatch(/pinned to a version, not :latest/);
  });

  test("every problem is reported at once", () => {
    const m = problems(minimal("  - name: Bad\n    tier: huge\n    colour: red\n"));
    expect(m).toMatch(/^fleet\.yaml: 3 problems/);
  });
});

describe("one mistake gives one problem, at its line", () => {
  const gcp = "gcp:\n  project: my-project-123\n";

  test("a misspelled target is an unknown key, without the region and name checks of the default target", () => {
    const m = problems(minimal("  - name: bot-a\n    taget: gcp-cloud-run\n    region: europe-west1\n  - name: bot-b\n", `${gcp}azure:\n  uniqueSuffix: abcd\n`));
    expect(m).toBe(
      'fleet.yaml: 1 problem\n  line 8: bots[0].taget: unknown key; did you mean "target"? (allowed here: name, domain, target, runtime, region, tier, model, persona, sandbox, channels, image, publicAccess, allowedIpRanges, deniedIpRanges, internalOnly, deletionProtection, suppressions, retired)',
    );
  });

  test("a misspelled region is an unknown key, not also a region error at a line without a region", () => {
    const m = problems(minimal("  - name: bot-a\n    target: gcp-cloud-run\n    regoin: europe-west1\n", gcp));
    expect(m.startsWith('fleet.yaml: 1 problem\n  line 7: bots[0].regoin: unknown key; did you mean "region"?')).toBe(true);
  });

  test("a bot whose target needs a region names the bot, not a defaults.region the file does not have", () => {
    expect(problems(minimal("  - name: bot-a\n    target: gcp-cloud-run\n", gcp))).toBe(
      `fleet.yaml: 1 problem\n  line 5: bots[0]: has no region, and the default region "eastus2" is not a Google Cloud region; set the bot's region to one (all regions: config/regions.ts)`,
    );
  });

  test("one missing } is one syntax error, at the line of the { it leaves open", () => {
    const yaml = minimal('  - name: bot-a\n    channels:\n      telegram: { allowFrom: ["123456789"]\n  - name: bot-b\n    region: eastus2\n');
    expect(problems(yaml)).toBe('fleet.yaml: 1 problem\n  line 5: YAML syntax error: this "{" is never closed; end it with "}" on this line');
    const json = '{"name": "demo",\n "bots": [\n  {"name": "bot-a", "channels": {"telegram": {"allowFrom": ["1"]}}\n ]\n}\n';
    expect(problems(json)).toBe('fleet.yaml: 1 problem\n  line 3: YAML syntax error: this "{" is never closed; end it with "}" on this line');
  });

  test("another syntax error: only the first, without the excerpt after it", () => {
    expect(problems("name: demo\nname: other\nbots: []\n")).toBe("fleet.yaml: 1 problem\n  line 2: YAML syntax error: Map keys must be unique");
  });
});

describe("a credential pasted into the fleet file", () => {
  // Made up, in each provider's format; built from parts so that no scanner takes them for real.
  const fakes: [string, string][] = [
    ["an Anthropic API key", `sk-${"ant"}-api03-${"Ab3d".repeat(20)}`],
    ["an OpenRouter API key", `sk-${"or"}-v1-${"0f".repeat(32)}`],
    ["an OpenAI-style API key (OpenAI, DeepSeek)", `sk-${"proj"}-${"Xy9_".repeat(30)}`],
    ["a Google API key", `AI${"za"}Sy${"Ab3d-".repeat(6)}xyz`],
    ["a Telegram bot token", `123456789:${"AAH"}${"x7Yz_".repeat(6)}abcdefgh`.slice(0, 10 + 35)],
    ["a Discord bot token", `MTA${"xNjQ4".repeat(5)}.${"Gh7_kq"}.${"abcDEF123_".repeat(3)}`],
    ["a GitHub token", `gh${"p"}_${"a1B2".repeat(9)}`],
    ["a GitHub token", `github${"_pat"}_11${"ABCD1234".repeat(4)}`],
    ["a Slack token", `xo${"xb"}-1234567890-${"abcdef".repeat(3)}`],
    ["an Azure storage account key", `${"Ab3d+/".repeat(14)}Ab==`],
    ["an Azure storage account key", `DefaultEndpointsProtocol=https;AccountName=x;Account${"Key"}=abc`],
  ];

  test.each(fakes)("%s is refused at its field, and never repeated", (kind, secret) => {
    const m = problems(minimal(`  - name: bot-a\n    persona:\n      name: Alpha\n      theme: "A calm assistant. ${secret}"\n`));
    expect(m).toContain(`fleet.yaml: 1 problem\n  line 6: bots[0].persona.theme: holds what looks like ${kind} (not shown here). Secret values never go in the fleet file`);
    expect(m).toContain("give it as the bot's secret instead, TF_VAR_<key> at the first deploy, then in Key Vault or Secret Manager");
    expect(m).not.toContain(secret);
    expect(m).not.toContain(secret.slice(0, 16));
  });

  test("anywhere in the file, keys too, and before any other problem that would quote it", () => {
    const token = `123456789:${"AAH"}${"x7Yz_".repeat(7)}`.slice(0, 45);
    const m = problems(minimal(`  - name: bot-a\n    tier: huge\n    channels:\n      telegram: { allowFrom: ["${token}"] }\n`, `azure:\n  "${token}": x\n`));
    expect(m).toContain("line 3: azure: holds what looks like a Telegram bot token as a key");
    expect(m).toContain("line 8: bots[0].channels.telegram.allowFrom[0]: holds what looks like a Telegram bot token");
    expect(m).not.toContain(token);
    expect(m).not.toContain("huge");
  });

  test("ordinary text is not a credential", () => {
    expect(() =>
      parseFleet(
        minimal(
          '  - name: bot-a\n    persona:\n      name: Task-skilled\n      theme: "A task-oriented desk-assistant-for-everyone-in-the-team; ask-anything-any-time-of-day 2026"\n    channels:\n      telegram: { allowFrom: ["123456789", "987654321"] }\n',
        ),
        "fleet.yaml",
        {},
      ),
    ).not.toThrow();
  });
});

describe("global Azure names known to be taken", () => {
  test("the example fleet and the README's minimal fleet warn, by their Key Vault names; a uniqueSuffix, another name or no Azure bot do not", () => {
    const readmeName = /<!-- minimal-fleet:start -->\n```yaml\n[^]*?^name: (\S+)/m.exec(readFileSync(join(ROOT, "README.md"), "utf8"))![1];
    const exampleName = loadFleet(join(ROOT, "fleet.yaml"), {}).name;
    expect(TAKEN_FLEET_NAMES).toEqual(expect.arrayContaining([exampleName, readmeName]));
    expect(readmeName).not.toBe("demo");
    expect(takenNamesWarning(loadFleet(join(ROOT, "fleet.yaml"), {}))).toBe(
      'fleet name "demo" without azure.uniqueSuffix gives the global Azure names of an example in this repository (Key Vault kv-demo-9541b8, and its registry and storage accounts), which others hold: a first deploy would fail on them. Before deploying, set azure.uniqueSuffix to 4-8 lowercase letters or digits of your own, or name the fleet your own way',
    );
    const parse = (text: string) => parseFleet(text, "fleet.yaml", {});
    expect(takenNamesWarning(parse(minimal("  - name: bot-a\n", "azure:\n  uniqueSuffix: abcd12\n")))).toBeUndefined();
    expect(takenNamesWarning(parse("name: acme-bots\nbots:\n  - name: bot-a\n"))).toBeUndefined();
    expect(takenNamesWarning(parse(minimal("  - name: bot-a\n    target: gcp-cloud-run\n    region: us-central1\n", "gcp:\n  project: my-project-123\n")))).toBeUndefined();
  });

  test("synth puts the warning on each Azure shared stack, where cdktf prints it (WARN [azure-shared-<region>])", () => {
    const outdir = join(mkdtempSync(join(tmpdir(), "botfleet-taken-")), "cdktf.out");
    const r = spawnSync(process.execPath, appArgs(), { cwd: ROOT, env: { ...process.env, BOTFLEET_CONFIG: join(ROOT, "fleet.yaml"), CDKTF_OUTDIR: outdir }, encoding: "utf8" });
    expect(r.status).toBe(0);
    const stacks = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")).stacks as Record<string, { annotations?: { level: string; message: string }[] }>;
    const warned = Object.entries(stacks).filter(([, s]) => (s.annotations ?? []).some((a) => a.level === "@cdktf/warn" && a.message.startsWith('fleet name "demo" without azure.uniqueSuffix')));
    expect(warned.map(([name]) => name)).toEqual(["azure-shared-eastus2"]);
  });
});

describe("Google Cloud settings", () => {
  const cloudRun = (bot = "", gcp = "gcp:\n  project: my-proj-123\n") => minimal(`  - name: bot-a\n    target: gcp-cloud-run\n    region: us-central1\n${bot}`, gcp);

  test("a Cloud Run bot without a project", () => {
    expect(problems(cloudRun("", ""))).toContain('gcp: is required because bots[0] (bot-a) targets gcp-cloud-run; add "gcp: { project: <your project ID> }"');
    expect(problems(cloudRun("", "gcp:\n  github:\n    repository: o/r\n"))).toContain("gcp.project: is required (expected string)");
  });

  test("a project that is not a project ID", () => {
    expect(problems(cloudRun("", 'gcp:\n  project: "My Project"\n'))).toContain('gcp.project: "My Project" must be a Google Cloud project ID');
  });

  test("an unknown region for Cloud Run, with the likely intended one", () => {
    expect(problems(cloudRun().replace("us-central1", "us-centrall1"))).toContain('bots[0].region: "us-centrall1" is not a Google Cloud region for target gcp-cloud-run; did you mean "us-central1"?');
    expect(problems(cloudRun().replace("us-central1", "eastus2"))).toMatch(/"eastus2" is not a Google Cloud region/);
  });

  test("a repository not in owner/name form", () => {
    for (const repository of ["bot-fleet", "https://github.com/o/r", "o/r/x"])
      expect(problems(cloudRun("", `gcp:\n  project: my-proj-123\n  github:\n    repository: "${repository}"\n`))).toContain(
        `gcp.github.repository: "${repository}" must be "owner/name" of a GitHub repository`,
      );
  });

  test("a setting of another target", () => {
    expect(problems(cloudRun("    domain: a.example.com\n"))).toContain('bots[0].domain: "a.example.com" applies only to target azure-vmss, and this bot\'s target is gcp-cloud-run');
    expect(problems(minimal("  - name: bot-a\n    publicAccess: true\n"))).toContain(
      "bots[0].publicAccess: true applies only to target azure-container-apps or gcp-cloud-run, and this bot's target is azure-vmss",
    );
  });

  test("an image from a registry Cloud Run cannot pull from", () => {
    expect(problems(cloudRun("    image: quay.io/acme/agent:1.0\n"))).toContain(
      'bots[0].image: "quay.io/acme/agent:1.0" is in a registry Cloud Run cannot pull from; use ghcr.io or docker.io (both mirrored) or Artifact Registry',
    );
  });

  test("a service name over Cloud Run's 49 characters", () => {
    const long = cloudRun().replace("name: demo", "name: abcdefghijklmnop").replace("bot-a", "b".repeat(40));
    expect(problems(long)).toMatch(/bots\[0\]\.name: "b{40}" makes the Cloud Run service name "abcdefghijklmnop-b{40}" longer than 49 characters; shorten/);
  });

  test("settings of a target in defaults apply to its bots only", () => {
    const fleet = parseFleet(cloudRun().replace("bots:", "defaults:\n  deletionProtection: false\nbots:\n  - name: bot-b\n"), "fleet.yaml", {});
    // A resolved bot carries its own target's settings only.
    expect(fleet.bots.map((b) => [b.name, b.target, "deletionProtection" in b, b.deletionProtection])).toEqual([
      ["bot-b", "azure-vmss", false, undefined],
      ["bot-a", "gcp-cloud-run", true, false],
    ]);
  });
});

describe("Container Apps settings", () => {
  const app = (bot = "", azure = "") => minimal(`  - name: bot-a\n    target: azure-container-apps\n${bot}`, azure ? `azure:\n${azure}` : "");

  test("a malformed CIDR in allowedIpRanges", () => {
    expect(problems(app('    allowedIpRanges: ["203.0.113.7"]\n'))).toContain('bots[0].allowedIpRanges[0]: "203.0.113.7" is not an IPv4 CIDR with its network address (e.g. 203.0.113.0/24)');
    expect(problems(app('    allowedIpRanges: ["203.0.113.7/24"]\n'))).toMatch(/allowedIpRanges\[0\]: "203\.0\.113\.7\/24" is not an IPv4 CIDR/);
  });

  test("mixed allow and deny rules", () => {
    expect(problems(app('    publicAccess: true\n    allowedIpRanges: ["198.51.100.0/24"]\n    deniedIpRanges: ["192.0.2.0/24"]\n'))).toContain(
      'bots[0].deniedIpRanges: ["192.0.2.0/24"] mixes allow and deny rules; Container Apps needs every IP rule of an app to use one action',
    );
  });

  test("a deny list without saying the app is public, and public access with an allow list", () => {
    expect(problems(app('    deniedIpRanges: ["192.0.2.0/24"]\n'))).toContain('bots[0].deniedIpRanges: ["192.0.2.0/24"] opens the app to everyone else; set publicAccess: true');
    expect(problems(app('    publicAccess: true\n    allowedIpRanges: ["198.51.100.0/24"]\n'))).toContain("bots[0].publicAccess: true contradicts allowedIpRanges");
  });

  test("internal-only without a subnet for the internal environment", () => {
    expect(problems(app("    internalOnly: true\n"))).toContain("bots[0].internalOnly: true needs a subnet for the internal environment; set azure.containerAppsSubnet (e.g. 10.0.2.0/27)");
  });

  test("a Container Apps subnet that is too small, outside the address space, or on the bot subnet", () => {
    expect(problems(app("", "  containerAppsSubnet: 10.0.2.0/28\n"))).toContain('azure.containerAppsSubnet: "10.0.2.0/28" is smaller than /27');
    expect(problems(app("", "  containerAppsSubnet: 10.9.2.0/27\n"))).toContain('azure.containerAppsSubnet: "10.9.2.0/27" must lie inside addressSpace 10.0.0.0/16');
    expect(problems(app("", "  containerAppsSubnet: 10.0.1.0/27\n"))).toContain('azure.containerAppsSubnet: "10.0.1.0/27" overlaps botSubnet 10.0.1.0/24');
  });

  test("an alert e-mail that is not one, and a name too long for a container app", () => {
    expect(problems(app("", "  alerts:\n    email: ops-at-example\n"))).toContain('azure.alerts.email: "ops-at-example" must be an e-mail address');
    expect(problems(app().replace("bot-a", "b".repeat(33)))).toContain("is longer than 32 characters, the most a container app name may have");
  });
});

describe("HCP Terraform settings", () => {
  test("TFC_ORGANIZATION switches the fleet to the cloud backend with the fleet name as prefix", () => {
    const fleet = parseFleet(minimal("  - name: bot-a\n"), "fleet.yaml", { TFC_ORGANIZATION: "acme" });
    expect(fleet.terraformCloud).toEqual({ organization: "acme", hostname: "app.terraform.io", workspacePrefix: "demo", bootstrap: false });
  });
  test("without an organization there is no cloud backend", () => {
    expect(parseFleet(minimal("  - name: bot-a\n"), "fleet.yaml", {}).terraformCloud).toBeUndefined();
  });
});

describe("the JSON Schema for editors", () => {
  test("fleet.schema.json is the one the schema exports (run `npm run schema` after changing it)", () => {
    expect(JSON.parse(readFileSync(join(ROOT, "fleet.schema.json"), "utf8"))).toEqual(fleetSchemaJson());
  });
  test("describes the bot settings", () => {
    const schema = fleetSchemaJson() as { properties: { bots: { items: { properties: Record<string, unknown> } } } };
    expect(Object.keys(schema.properties.bots.items.properties)).toEqual(expect.arrayContaining(["name", "target", "tier", "channels"]));
  });
});

describe("synth with a bad fleet file", () => {
  test("exits non-zero, says why, and writes nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "botfleet-bad-"));
    const file = join(dir, "fleet.yaml");
    writeFileSync(file, minimal("  - name: bot-a\n    tier: huge\n"));
    const outdir = join(dir, "cdktf.out");
    const run = spawnSync(process.execPath, appArgs(), {
      cwd: ROOT,
      env: { ...process.env, BOTFLEET_CONFIG: file, CDKTF_OUTDIR: outdir },
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`botfleet: ${file}: 1 problem`);
    expect(run.stderr).toContain('bots[0].tier: "huge" is not allowed');
    expect(existsSync(outdir)).toBe(false);
  });

  test("leaves a mark in an earlier output, and npm run review then refuses that output", () => {
    const dir = mkdtempSync(join(tmpdir(), "botfleet-stale-"));
    const outdir = join(dir, "cdktf.out");
    const synth = (fleet: string) => spawnSync(process.execPath, appArgs(), { cwd: ROOT, env: { ...process.env, BOTFLEET_CONFIG: fleet, CDKTF_OUTDIR: outdir }, encoding: "utf8" });
    const review = () => spawnSync(process.execPath, ["-r", "./scripts/ts-register.js", "scripts/review.ts", "--out", outdir, "--write", join(dir, "review")], { cwd: ROOT, encoding: "utf8" });
    const good = join(dir, "good.yaml");
    writeFileSync(good, minimal("  - name: bot-a\n    domain: a.example.com\n"));
    expect(synth(good).status).toBe(0);
    expect(review().status).toBe(0);

    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, minimal("  - name: bot-a\n    taget: gcp-cloud-run\n"));
    expect(synth(bad).status).toBe(1);
    const refused = review();
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`review: ${outdir} is older than the last synth, which failed at `);
    expect(refused.stderr).toContain(` (${bad}: 1 problem); fix the fleet file and run npm run synth again`);

    // The next synth that succeeds makes the output current again.
    expect(synth(good).status).toBe(0);
    expect(review().status).toBe(0);
  });
});
