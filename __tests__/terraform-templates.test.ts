import { parse } from "@cdktf/hcl2json";
import { tableFleets } from "../scripts/table-fleets";
import { synthFleet, type StackJson } from "./support/fleet";

/**
 * Terraform reads every string of a JSON configuration as a template ("When a JSON string is
 * encountered in a location where arbitrary expressions are expected, its value is first parsed
 * as a string template": Terraform's JSON configuration syntax), so a literal `${` or `%{` must be
 * written `$${` / `%%{`, or the plan fails. Every string botfleet emits is parsed here by HCL's own
 * template parser (@cdktf/hcl2json, the parser cdktf's CLI ships, compiled from hashicorp/hcl): a
 * string is written as a native quoted template, which that grammar parses alike, minus the
 * quote's own escapes.
 */
function quoted(value: string): string {
  const escaped = [...value].map((c) => {
    if (c === "\\" || c === '"') return `\\${c}`;
    if (c === "\n") return "\\n";
    const code = c.charCodeAt(0);
    return code < 0x20 ? `\\u${code.toString(16).padStart(4, "0")}` : c;
  });
  return `"${escaped.join("")}"`;
}

function strings(value: unknown, path: string, into: [string, string][]): [string, string][] {
  if (typeof value === "string") into.push([path, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}[${i}]`, into));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) strings(v, `${path}.${k}`, into);
  return into;
}

const stacks: [string, StackJson][] = Object.entries(tableFleets()).flatMap(([fleet, f]) =>
  Object.entries(synthFleet(f).stacks).map(([name, json]) => [`${fleet}/${name}`, json] as [string, StackJson]),
);

describe("every string botfleet emits is a template Terraform can parse", () => {
  test("the quoting itself: a literal is kept, an unescaped shell expansion is the error Terraform gives", async () => {
    await expect(parse("t.tf", `locals {\n  a = ${quoted('ok $${HOME:-/} "q" \\ \n\t ${var.x}')}\n}\n`)).resolves.toBeDefined();
    await expect(parse("t.tf", `locals {\n  a = ${quoted("x=${IMDS_ENDPOINT:-http://169.254.169.254}")}\n}\n`)).rejects.toThrow(/Extra characters after interpolation expression/);
  });

  test.each(stacks)("%s", async (_, json) => {
    const found = strings({ resource: json.resource, data: json.data, output: json.output, locals: json.locals, provider: json.provider }, "", []);
    expect(found.length).toBeGreaterThan(0);
    const failures: string[] = [];
    for (const [path, value] of found) {
      if (!value.includes("${") && !value.includes("%{")) continue;
      await parse("stack.tf", `locals {\n  v = ${quoted(value)}\n}\n`).catch((e: Error) => failures.push(`${path}: ${String(e.message).slice(0, 300)}`));
    }
    expect(failures).toEqual([]);
  });
});
