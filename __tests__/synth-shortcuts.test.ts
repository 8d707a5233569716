import { Fn, Lazy, TerraformStack, TerraformVariable, Testing, Token } from "cdktf";
import { resolve as cdktfResolve } from "cdktf/lib/_tokens";
import { resolve } from "../constructs/cdktf-internals";
import { renderVmBootstrap } from "../bootstrap/azure-vm";
import { stringifyCloudConfig } from "../bootstrap/cloud-config";
import { stringify } from "yaml";
import { buildFleet } from "../constructs/fleet";
import { rememberRenderedCloudInit, renderedCloudInit } from "../tfjson/rendered-cloud-init";
import { decodeCloudInit, parseCloudInit } from "../tfjson/terraform-json";
import { nanobot } from "../runtimes/nanobot";
import { openclaw } from "../runtimes/openclaw";
import { exampleFleet, fleetFrom, synthFleet } from "./support/fleet";

/** Each shortcut synth takes must give what the long way gives. */

describe("cloud-init the renderer remembers", () => {
  // Text YAML has to quote, indent or chomp with care: leading blanks, trailing blanks and
  // newlines, tabs, document markers, comment and flow characters.
  const awkward = ["  leading blanks", "trailing blanks   ", "tab\there", "--- not a document", "# not a comment", "{ not: flow }", "ends with newlines\n\n"].join("\n");
  const fleet = exampleFleet();
  const tricky = fleetFrom(
    `name: demo\nbots:\n  - name: bot-awkward\n    persona:\n      name: "Zoë \\"Q\\" O'Brien"\n      theme: ${JSON.stringify(awkward)}\n    channels:\n      telegram:\n        allowFrom: ["@o'neil", "$USER", "a&b"]\n`,
  );
  const cases = {
    "bot-alpha": renderVmBootstrap(fleet, fleet.bots[0], openclaw),
    "bot-epsilon (nanobot)": renderVmBootstrap(
      fleet,
      fleet.bots.find((b) => b.name === "bot-epsilon")!,
      nanobot,
    ),
    "bot-awkward": renderVmBootstrap(tricky, tricky.bots[0], openclaw),
    "bot-awkward (nanobot)": renderVmBootstrap(tricky, { ...tricky.bots[0], runtime: "nanobot" }, nanobot),
  };

  test.each(Object.entries(cases))("%s: is exactly what decoding and parsing its custom data gives", (_name, bootstrap) => {
    const remembered = renderedCloudInit(bootstrap.customData);
    expect(remembered).toBeDefined();
    expect(remembered).toStrictEqual(parseCloudInit(bootstrap.customData));
    expect(decodeCloudInit(bootstrap.customData)).toBe(remembered);
  });

  test("the text of every rendered cloud-init of the example fleet and the awkward bot is what yaml writes (bootstrap/cloud-config.ts)", () => {
    const bootstraps = [...fleet.bots.filter((b) => b.target === "azure-vmss").map((b) => renderVmBootstrap(fleet, b, b.runtime === "nanobot" ? nanobot : openclaw)), ...Object.values(cases)];
    expect(bootstraps.length).toBeGreaterThan(4);
    for (const b of bootstraps) expect(b.cloudConfig).toBe("#cloud-config\n" + stringify(renderedCloudInit(b.customData)!.config, { lineWidth: 0, blockQuote: "literal" }));
  });

  test("custom data edited after rendering is decoded, not taken from the renderer", () => {
    const edited = cases["bot-alpha"].cloudConfig.replace("127.0.0.1:18789:18789", "0.0.0.0:18789:18789");
    const decoded = decodeCloudInit(Buffer.from(edited).toString("base64"));
    expect(decoded).toStrictEqual(parseCloudInit(Buffer.from(edited).toString("base64")));
    expect(decoded?.files["/usr/local/lib/botfleet/run-agent.sh"]).toContain("0.0.0.0:18789:18789");
  });

  test("custom data of the same length and the same last characters is told apart, a copy is found", () => {
    // Filed by length and last 64 characters: these three share both and differ before them.
    const tail = "T".repeat(64);
    const [a, b, unknown] = ["A", "B", "C"].map((head) => head.repeat(20000) + tail);
    const cloudInitA = { config: { a: true }, files: {} };
    const cloudInitB = { config: { b: true }, files: {} };
    rememberRenderedCloudInit(a, cloudInitA);
    rememberRenderedCloudInit(b, cloudInitB);
    expect(renderedCloudInit(b)).toBe(cloudInitB);
    expect(renderedCloudInit(a)).toBe(cloudInitA);
    expect(renderedCloudInit(unknown)).toBeUndefined();
    expect(renderedCloudInit(("A".repeat(20000) + tail).split("").join(""))).toBe(cloudInitA);
    // Remembered again, the latest wins, as a Map keyed by the string itself would have it.
    const again = { config: { a: 2 }, files: {} };
    rememberRenderedCloudInit(a, again);
    expect(renderedCloudInit(a)).toBe(again);
    expect(renderedCloudInit(b)).toBe(cloudInitB);
  });
});

describe("cloud-config text written without yaml's scans of the file contents", () => {
  const yamlWay = (document: Record<string, unknown>) => stringify(document, { lineWidth: 0, blockQuote: "literal" });
  const fileDocument = (contents: string[], path = "/etc/x") => ({
    ssh_pwauth: false,
    write_files: contents.map((content, i) => ({ path: `${path}${i}`, permissions: "0644", owner: "root:root", content })),
    runcmd: [["/usr/local/lib/botfleet/boot.sh"]],
  });

  const edges = [
    "",
    "\n",
    "a",
    "a\n",
    "a\n\n",
    "a\n\n\n",
    " a\n",
    "\ta\n",
    "\na\n",
    "a \n",
    "a\t\n",
    "a\n \n",
    "a\r\nb\n",
    "a\rb\n",
    "#x\n",
    "---\n",
    "...\n",
    "a\n---\nb\n",
    "- x\n",
    "x: y\n",
    "key: |\n  nested\n",
    'Zoë "Q" O\'Brien\n',
    "line\u2028sep\n",
    "\ud800 lone\n",
    "emoji 🦀\n",
    "\u0085 next line\n",
    "a\n\n\nb\n",
    "  two leading\n",
    "tail\n  \n",
    "a\u007f\n",
    "botfleet-literal-block-0",
    "x\nbotfleet-literal-block-0\n",
    "content: botfleet-literal-block-0\n",
    "    content: botfleet-literal-block-1\nb\n",
  ];
  test.each(edges.map((e) => [JSON.stringify(e), e]))("a content of %s", (_name, content) => {
    const document = fileDocument([content, "#!/bin/sh\necho ok\n", content]);
    expect(stringifyCloudConfig(document)).toBe(yamlWay(document));
  });

  test("a placeholder-like path or command leaves the whole document to yaml, written alike", () => {
    for (const document of [fileDocument(["x\n"], "botfleet-literal-block-0"), { ...fileDocument(["x\n"]), runcmd: [["a\ncontent: botfleet-literal-block-0"]] }])
      expect(stringifyCloudConfig(document)).toBe(yamlWay(document));
  });

  test("2000 random contents from an awkward alphabet are written as yaml writes them", () => {
    // A fixed seed: the same strings on every run and machine.
    let seed = 17;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = [
      "a",
      "Z",
      "0",
      " ",
      "  ",
      "\t",
      "\n",
      "\n\n",
      "#",
      ":",
      ": ",
      "-",
      "- ",
      "---",
      "...",
      "|",
      ">",
      "'",
      '"',
      "\\",
      "{",
      "}",
      "[",
      "]",
      ",",
      "&",
      "*",
      "!",
      "%",
      "@",
      "`",
      "?",
      "é",
      "🦀",
      "\u2028",
      "\r",
      "\u0000",
      "\u007f",
      "${x}",
    ];
    const contents = Array.from(
      { length: 5000 },
      () => Array.from({ length: 1 + Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join("") + (random() < 0.7 ? "\n" : ""),
    );
    for (let i = 0; i < contents.length; i += 50) {
      const document = fileDocument(contents.slice(i, i + 50));
      expect(stringifyCloudConfig(document)).toBe(yamlWay(document));
    }
  });
});

test("the tests' synthFleet gives what Testing.synth gives, stack by stack, HCP Terraform included", () => {
  const fleet = exampleFleet({ TFC_ORGANIZATION: "acme" });
  const app = Testing.app();
  buildFleet(app, fleet);
  const expected = Object.fromEntries((app.node.children as TerraformStack[]).map((s) => [s.node.id, JSON.parse(Testing.synth(s))]));
  const { stacks } = synthFleet(fleet);
  expect(Object.keys(stacks)).toContain("hcp-terraform");
  expect(stacks).toStrictEqual(expected);
  expect(JSON.stringify(stacks)).toBe(JSON.stringify(expected));
});

test("a stack's JSON, resolved once, is what cdktf's TerraformStack.toTerraform gives, for every kind of stack", () => {
  const app = Testing.app();
  buildFleet(app, exampleFleet({ TFC_ORGANIZATION: "acme" }));
  const stacks = app.node.children as TerraformStack[];
  expect(stacks.map((s) => s.node.id)).toEqual(expect.arrayContaining(["azure-shared-eastus2", "gcp-shared-us-central1", "bot-alpha", "bot-delta", "bot-gamma", "hcp-terraform"]));
  for (const stack of stacks) expect([stack.node.id, stack.toTerraform()]).toStrictEqual([stack.node.id, TerraformStack.prototype.toTerraform.call(stack)]);
});

test("building and synthesizing the example fleet captures no stack trace", () => {
  const capture = jest.spyOn(Error, "captureStackTrace");
  try {
    synthFleet(exampleFleet());
    expect(capture).not.toHaveBeenCalled();
  } finally {
    capture.mockRestore();
  }
});

test("cdktf's preparing pass, which botfleet skips, would wire nothing: no stack of the example fleet references another", () => {
  const stacksOf = () => {
    const app = Testing.app();
    buildFleet(app, exampleFleet());
    return app.node.children as TerraformStack[];
  };
  const prepared = stacksOf();
  for (const stack of prepared) TerraformStack.prototype.prepareStack.call(stack);
  expect(prepared.flatMap((s) => s.dependencies)).toEqual([]);
  const skipped = stacksOf();
  for (const stack of skipped) stack.prepareStack();
  expect(skipped.map((s) => s.toTerraform())).toEqual(prepared.map((s) => s.toTerraform()));
});

describe("resolve's fast path for plain data", () => {
  // Values cdktf treats specially, mixed with plain ones: each must come out as cdktf's resolve gives it.
  const stack = new TerraformStack(Testing.app(), "resolve-probe");
  const variable = new TerraformVariable(stack, "name", { type: "string" });
  const cases: Record<string, unknown> = {
    "plain nested data, undefined dropped": { a: "x", b: [1, undefined, "y", { c: true, d: undefined }], e: null, f: 0, g: false },
    "a string token": `prefix-${variable.stringValue}-suffix`,
    "a token inside plain arrays and objects": { list: ["plain", variable.stringValue], deep: { deeper: [{ v: variable.stringValue }] } },
    "a literal ${...} with no token (left as it is)": { script: "echo ${HOME} and ${var.not_a_token}" },
    "a number-token look-alike in a string": { size: "1e5", version: "v2.0e-3", base64: "QUJD3e+1e2" },
    "a number token": { n: variable.numberValue },
    "a number token written into a string": { alone: String(variable.numberValue), within: `size ${variable.numberValue} GB` },
    "a number token in a list": [variable.numberValue, 2],
    "a list token": { l: variable.listValue },
    "a list token as an element": [Token.asString(variable.listValue)],
    "a map token key": { [Token.asString(variable.value)]: "v" },
    "a resolvable object": { lazy: Lazy.stringValue({ produce: () => "produced" }), anyLazy: Lazy.anyValue({ produce: () => ({ x: [1, undefined] }) }) },
    "a Terraform function": { joined: Fn.join(",", ["a", variable.stringValue]) },
    "a Date": { when: new Date(0) },
    "unicode and quotes": { s: 'Zoë "Q" O\'Brien & ${x} \u2028' },
  };
  test.each(Object.entries(cases))("%s", (_name, value) => {
    const expected = cdktfResolve(stack, value);
    const actual = resolve(stack, value);
    expect(actual).toStrictEqual(expected);
    expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
  });

  test("2000 seeded random trees of plain values and tokens resolve, or fail, as cdktf's resolve does", () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
    const leaves: (() => unknown)[] = [
      () => variable.stringValue,
      () => `a ${variable.stringValue} \${x} }`,
      () => variable.numberValue,
      () => String(variable.numberValue),
      () => pick(["1e5", "x-3e+2", "QUJ3e+1", "", "${", "}", "$${a}", "é", "-", "1.5E3"]),
      () => pick([0, -0, 1.5, NaN, Infinity, -1e300]),
      () => pick([true, false, null, undefined]),
      () => Lazy.stringValue({ produce: () => "lazy" }),
      () => Lazy.anyValue({ produce: () => ({ a: [1, undefined, "x"] }) }),
      () => Fn.join(",", [variable.stringValue, "b"]),
      () => Token.asList(variable.value),
      () => variable.listValue,
      () => Token.nullValue(),
      () => new Date(5),
      () => ({ toJSON: () => "j", x: 1 }),
      () => Fn.lookup({ a: variable.stringValue }, "a", "d"),
    ];
    const tree = (depth: number): unknown => {
      if (depth === 0 || random() < 0.3) return pick(leaves)();
      if (random() < 0.5) return Array.from({ length: Math.floor(random() * 4) }, () => tree(depth - 1));
      return Object.fromEntries(Array.from({ length: Math.floor(random() * 4) }, (_, i) => [pick(["a", "b", "c_d", "1e5", "zé"]) + i, tree(depth - 1)]));
    };
    const outcome = (f: () => unknown) => {
      try {
        return `ok ${JSON.stringify(f())}`;
      } catch (e) {
        return `throws ${(e as Error).message.split("\n")[0]}`;
      }
    };
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const value = tree(4);
      const expected = outcome(() => cdktfResolve(stack, value));
      if (expected.startsWith("throws")) refused++;
      expect(outcome(() => resolve(stack, value))).toBe(expected);
    }
    // Both kinds of outcome were exercised.
    expect(refused).toBeGreaterThan(50);
    expect(refused).toBeLessThan(1000);
  });

  test("the values cdktf refuses are refused alike", () => {
    for (const bad of [{ f: () => 1 }, { element: variable.listValue[0] }, { s: Token.STRING_MAP_TOKEN_VALUE }, [Token.NUMBER_MAP_TOKEN_VALUE], { child: stack }]) {
      let cdktfError: string | undefined;
      try {
        cdktfResolve(stack, bad);
      } catch (e) {
        cdktfError = (e as Error).message;
      }
      expect(cdktfError).toBeDefined();
      expect(() => resolve(stack, bad)).toThrow(cdktfError!.split("\n")[0]);
    }
  });
});
