import { join } from "node:path";
import { DefaultTokenResolver, StringConcat, TerraformElement, TerraformOutput, TerraformStack, Token } from "cdktf";
import { extractTokenDouble } from "cdktf/lib/tokens/private/encoding";
import { resolve as cdktfResolve } from "cdktf/lib/tokens/private/resolve";
import * as stackTrace from "cdktf/lib/tokens/private/stack-trace";
import { deepMerge } from "cdktf/lib/util";
import type { Construct } from "constructs";

/**
 * Where botfleet reaches into cdktf's internals, for synth speed: cdktf 0.21.0 is its last release
 * (the project is archived), so what is reached here stays as it is.
 */

/**
 * cdktf captures a full stack trace for every token and attribute reference it creates (hundreds
 * per bot, one per nested block of every resource), only to print it should that token fail to
 * resolve later. Capturing them cost 8% of a 100-bot synth, and under jest, whose source maps
 * rewrite every frame, a third of the policy tests' time. Botfleet passes plain values, and a
 * resolution error still names the value and its path, so tokens are created without one.
 */
(stackTrace as { captureStackTrace: typeof stackTrace.captureStackTrace }).captureStackTrace = () => [];

/**
 * A stack built once per synthesis: its JSON is built once and shared by the policy aspect and
 * the synthesizer, cdktf's cross-stack preparing pass is skipped, and `afterSynthesis` writes
 * beside the stack's output.
 */
export abstract class SynthesizedOnceStack extends TerraformStack {
  /** The stack's JSON while it is being synthesized (see `afterSynthesis`). */
  private synthesis?: { json?: ReturnType<TerraformStack["toTerraform"]> };

  toTerraform() {
    if (!this.synthesis) return this.resolvedOnce();
    return (this.synthesis.json ??= this.resolvedOnce());
  }

  /**
   * What cdktf 0.21's TerraformStack.toTerraform returns (terraform-stack.js), less its last pass:
   * it resolves every element's JSON, merges the pieces, then resolves the merged whole again,
   * which finds nothing left to resolve (6% of a 100-bot synth). Only the stack's metadata is
   * resolved here on its own. With stack-level overrides (botfleet sets none) cdktf's own runs.
   */
  private resolvedOnce() {
    const overrides = (this as unknown as { rawOverrides: Record<string, unknown> }).rawOverrides;
    if (Object.keys(overrides).length > 0) return super.toTerraform();
    const metadata = { version: (this as unknown as { cdktfVersion: string }).cdktfVersion, stackName: this.node.id, backend: "local", cloud: undefined };
    const elements = terraformElements(this);
    for (const e of elements) deepMerge(metadata, resolve(this, e.toMetadata()));
    const outputs = {};
    for (const e of elements)
      if (TerraformOutput.isTerraformOutput(e))
        deepMerge(
          outputs,
          e.node.path.split("/").reduceRight<object>((inner, part) => ({ [part]: Object.keys(inner).length === 0 ? e.friendlyUniqueId : inner }), {}),
        );
    const tf: Record<string, unknown> = { "//": resolve(this, { metadata, outputs }) };
    for (const fragment of elements.map((e) => resolve(this, e.toTerraform()))) deepMerge(tf, fragment);
    return tf;
  }

  /**
   * cdktf's preparing pass resolves every element once more than synthesis does, only to find
   * references to other stacks and wire them through outputs and remote state. Botfleet's stacks
   * never reference one another (each looks shared resources up by name and deploys alone), so
   * the pass is skipped: 15% of a 100-bot synth. A reference to another stack would reach
   * Terraform as an undeclared resource and fail the plan.
   */
  prepareStack(): void {
    this.ensureBackendExists();
  }

  /** Calls `write` with the stack's output directory once cdktf has synthesized it. */
  protected afterSynthesis(write: (dir: string) => void): void {
    const synthesizer = this.synthesizer;
    this.synthesizer = {
      synthesize: (session) => {
        // The policy aspect and the synthesizer both need the stack's JSON; within one synthesis
        // nothing changes it between the two, so it is built once.
        this.synthesis = {};
        try {
          synthesizer.synthesize(session);
        } finally {
          this.synthesis = undefined;
        }
        write(join(session.outdir, session.manifest.forStack(this).workingDirectory));
      },
    };
  }
}

/**
 * cdktf's resolve (cdktf 0.21.0 lib/tokens/private/resolve.js), with a fast path for plain data.
 * cdktf makes two closures and copies its options for every string, number, array and object it
 * walks, to carry a diagnostic path and a context that only a token reads: 18% of a 100-bot
 * synth, where most of what it walks holds no token. Here plain values are copied as cdktf
 * copies them (undefined dropped from arrays and objects, keys in order), and anything cdktf
 * could treat as a token goes to cdktf's own resolve, whole: a string that holds a token marker
 * or matches its number-token pattern, a number that encodes a token or a map token, an array
 * with a list token, an object that is resolvable (a `resolve` method), a construct, or one whose
 * keys are not plain. The context cdktf would pass such a value is the fresh one it starts with:
 * only a token's own resolution changes it, and the fast path never enters a token.
 */
export function resolve(scope: Construct, value: unknown): any {
  return resolvePlain(scope, value, []);
}

/** cdktf's NUMBER_TOKEN_REGEX (encoding.js), without the global flag. */
const NUMBER_TOKEN = /[-|\d|.+]+(e[-|\d|.|e|E|+]+)/;
/** Every string, list and map token marker cdktf encodes holds this (encoding.js). */
const TOKEN_MARKER = "{TfToken[";
/** cdktf refuses these outside a map context (token.js); its resolve says so. */
const MAP_TOKEN_VALUES = new Set<unknown>([Token.STRING_MAP_TOKEN_VALUE, Token.ANY_MAP_TOKEN_VALUE, Token.NUMBER_MAP_TOKEN_VALUE]);
/** What cdktf's `resolve` (lib/_tokens.js) resolves with; it holds no state. */
const TOKEN_RESOLVER = new DefaultTokenResolver(new StringConcat());

const plainString = (s: string) => !s.includes(TOKEN_MARKER) && !NUMBER_TOKEN.test(s) && !MAP_TOKEN_VALUES.has(s);
const plainNumber = (n: number) => extractTokenDouble(n, false) === undefined && extractTokenDouble(n, true) === undefined && !MAP_TOKEN_VALUES.has(n);

/** `path` is where `value` sits (cdktf's prefix, for its error messages); it is restored on return. */
function resolvePlain(scope: Construct, value: unknown, path: string[]): any {
  switch (typeof value) {
    case "undefined":
    case "boolean":
    case "bigint":
    case "symbol":
      return value;
    case "string":
      return plainString(value) ? value : viaCdktf(scope, value, path);
    case "number":
      return plainNumber(value) ? value : viaCdktf(scope, value, path);
    case "function":
      return viaCdktf(scope, value, path);
  }
  if (value === null || value instanceof Date) return value;
  // cdktf gives up beyond 200 levels (a cycle) and says where.
  if (path.length > 200) return viaCdktf(scope, value, path);
  if (Array.isArray(value)) {
    if (!value.every((x) => (typeof x === "string" ? plainString(x) : typeof x !== "number" || plainNumber(x)))) return viaCdktf(scope, value, path);
    const out = [];
    for (let i = 0; i < value.length; i++) {
      path.push(String(i));
      const r = resolvePlain(scope, value[i], path);
      path.pop();
      if (r !== undefined) out.push(r);
    }
    return out;
  }
  const object = value as Record<string, unknown>;
  if (typeof object.resolve === "function" || (object._children !== undefined && object._metadata !== undefined)) return viaCdktf(scope, value, path);
  const keys = Object.keys(object);
  if (!keys.every(plainString)) return viaCdktf(scope, value, path);
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    path.push(key);
    const r = resolvePlain(scope, object[key], path);
    path.pop();
    if (r !== undefined) out[key] = r;
  }
  return out;
}

function viaCdktf(scope: Construct, value: unknown, path: readonly string[]): any {
  return cdktfResolve(value, { scope, prefix: [...path], resolver: TOKEN_RESOLVER, preparing: false });
}

/** The stack's Terraform elements, as cdktf collects them: depth first, not into nested stacks. */
function terraformElements(node: Construct, into: TerraformElement[] = []): TerraformElement[] {
  if (TerraformElement.isTerraformElement(node)) into.push(node);
  for (const child of node.node.children) if (!TerraformStack.isStack(child)) terraformElements(child, into);
  return into;
}
