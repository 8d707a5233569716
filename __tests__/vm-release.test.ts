import { RELEASE, renderVmBootstrap } from "../bootstrap/azure-vm";
import { changeActionOf, releaseChangeSummary, releaseVersion, vmRelease } from "../bootstrap/vm-release";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import { exampleFleet, fleetFrom, resources, synthFleet } from "./support/fleet";
import { gunzipSync } from "node:zlib";

const yaml = (extra: string) => `name: demo\nbots:\n  - name: bot-alpha\n${extra}    channels:\n      telegram:\n        allowFrom: ["123456789"]\n`;
const bootstrapOf = (fleetYaml: string) => {
  const fleet = fleetFrom(fleetYaml);
  return renderVmBootstrap(fleet, fleet.bots[0], RUNTIME_DESCRIPTIONS[fleet.bots[0].runtime]);
};

describe("a VM bot's release", () => {
  test("holds exactly the files of the custom data, the manifest among them, each with what a change of it needs", () => {
    for (const bot of exampleFleet().bots.filter((b) => b.target === "azure-vmss")) {
      const b = renderVmBootstrap(exampleFleet(), bot, RUNTIME_DESCRIPTIONS[bot.runtime]);
      const release = JSON.parse(b.release.bundle);
      expect(release.files.map((f: { path: string }) => f.path)).toEqual(b.files.map((f) => f.path));
      expect(release.files.find((f: { path: string }) => f.path === RELEASE.file).content).toBe(b.release.manifest.content);
      const cloudInit = gunzipSync(Buffer.from(b.customData, "base64")).toString("utf8");
      expect(cloudInit).toContain(`"version": "${b.release.version}"`);
      for (const f of release.files) expect(f.onChange).toBe(changeActionOf(f.path));
    }
  });

  test("its version follows the content, and only the content", () => {
    const a = bootstrapOf(yaml(""));
    expect(bootstrapOf(yaml("")).release.version).toBe(a.release.version);
    expect(bootstrapOf(yaml("    model: anthropic/claude-haiku-4-5\n")).release.version).not.toBe(a.release.version);
    expect(releaseVersion(a.files.filter((f) => f.path !== RELEASE.file))).toBe(a.release.version);
  });

  test("a change is classified by what the running VM must do for it", () => {
    expect(changeActionOf("/etc/botfleet/agent-config.json")).toBe("restart-agent");
    expect(changeActionOf("/usr/local/lib/botfleet/run-agent.sh")).toBe("restart-agent");
    expect(changeActionOf("/etc/botfleet/Caddyfile")).toBe("caddy");
    expect(changeActionOf("/etc/botfleet/agent-firewall.rules")).toBe("firewall");
    expect(changeActionOf("/etc/systemd/system/botfleet-state-sync.service")).toBe("state-sync");
    expect(changeActionOf("/usr/local/lib/botfleet/sandbox-daemon.sh")).toBe("sandbox");
    expect(changeActionOf("/usr/local/lib/botfleet/update.sh")).toBe("none");
  });

  test("the bot stack writes it as the desired release blob in the bot's state container", () => {
    const { stacks } = synthFleet(exampleFleet());
    const [blob] = resources(stacks["bot-alpha"], "azurerm_storage_blob");
    expect(blob).toMatchObject({ name: RELEASE.desiredBlob, type: "Block", content_type: "application/json" });
    expect(blob.storage_container_name).toMatch(/^\$\{azurerm_storage_container\./);
    expect(JSON.parse(blob.source_content)).toMatchObject({ bot: "bot-alpha", version: expect.stringMatching(/^[0-9a-f]{12}$/) });
    // The release's shell scripts reach the blob as written: `${VAR:-default}` escaped for Terraform.
    expect(blob.source_content).toContain("$${IMDS_ENDPOINT:-http://169.254.169.254}");
    expect(blob.source_content).not.toMatch(/(?<!\$)\$\{IMDS_ENDPOINT/);
    // content_md5 is Optional, ForceNew and not Computed, and Read sets it from the blob's own MD5
    // (azurerm v4.55.0 storage_blob_resource.go:142-147, :400-408): one Azure stores for a Put
    // Blob would replace the blob at every plan (docs/perpetual-diffs.md, U1).
    expect(blob.lifecycle).toEqual({ ignore_changes: ["content_md5"] });
    // Container Apps and Cloud Run bots have none: a revision carries their whole release.
    expect(resources(stacks["bot-delta"], "azurerm_storage_blob")).toEqual([]);
  });
});

describe("the review's line for a release change", () => {
  const v1 = bootstrapOf(yaml("")).release.bundle;

  test("names each changed file with what it does to the running bot, the restart first", () => {
    const persona = bootstrapOf(yaml("    model: anthropic/claude-haiku-4-5\n")).release.bundle;
    const summary = releaseChangeSummary(v1, persona)!;
    expect(summary).toMatch(
      /^release [0-9a-f]{12} -> [0-9a-f]{12}, applied on the running VM within a minute: agent-config\.json[^;]*: restarts the agent \(snapshot first; about 30 to 60 s offline\)/,
    );
    expect(summary).not.toMatch(/release\.json/);
  });

  test("a change of the Caddyfile alone only reloads Caddy", () => {
    const b = bootstrapOf(yaml(""));
    const files = b.files.filter((f) => f.path !== RELEASE.file).map((f) => (f.path.endsWith("/Caddyfile") ? { ...f, content: f.content + "# changed\n" } : f));
    const summary = releaseChangeSummary(b.release.bundle, vmRelease("bot-alpha", JSON.parse(b.release.bundle).image, RELEASE.file, files).bundle);
    expect(summary).toMatch(/within a minute: Caddyfile: reloads Caddy \(no downtime\)$/);
  });

  test("an image change is named as an upgrade that rolls back with the state from before it", () => {
    const upgraded = bootstrapOf(yaml("    image: ghcr.io/openclaw/openclaw:2026.9.7\n")).release.bundle;
    expect(releaseChangeSummary(v1, upgraded)).toMatch(
      /agent ghcr\.io\/openclaw\/openclaw:2026\.9\.6 -> ghcr\.io\/openclaw\/openclaw:2026\.9\.7: an upgrade, rolled back with the state from before it/,
    );
  });

  test("anything that is not a release is left to the generic diff", () => {
    expect(releaseChangeSummary("plain text", v1)).toBeUndefined();
  });
});
