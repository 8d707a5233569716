import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { POLICY_RULES } from "../contracts/policy-rules";
import { ROOT } from "./support/fleet";
import { run } from "./support/tools";

// The cdktf CLI itself (3 s of CPU to start): a tools suite, in the full run only.

test("`cdktf synth` fails on a broken rule and prints the rule, the resource and the fix", () => {
  const dir = join(ROOT, "__tests__", "fixtures");
  // The binary `npx cdktf` finds, without npx's own half second of start-up.
  const r = run(join(ROOT, "node_modules/.bin/cdktf"), ["synth", "--output", join(tmpdir(), `botfleet-policy-${process.pid}`)], {
    cwd: ROOT,
    env: { ...process.env, BOTFLEET_CONFIG: join(dir, "fleet-without-domain.yaml"), CI: "true" },
  });
  expect(r.status).not.toBe(0);
  expect(r.output).toContain(
    "ERROR [bot-nodomain/scale-set]: BF-TLS-1 [Traffic to the gateway is encrypted] azurerm_orchestrated_virtual_machine_scale_set.scale-set: Caddy serves the gateway over plain HTTP on port 80",
  );
  expect(r.output).toContain(`Fix: ${POLICY_RULES["BF-TLS-1"].fix}`);
  expect(readFileSync(join(dir, "fleet-without-domain.yaml"), "utf8")).not.toContain("suppressions");
});
