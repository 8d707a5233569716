import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars/runtime";
import { cachedText } from "../scripts/disk-cache";

/**
 * Handlebars for shell, Caddy and systemd text: no HTML escaping, and strict, so a misspelt
 * variable is an error at synth instead of an empty string on a VM. Values enter shell scripts
 * only through `shq`, which quotes them for POSIX sh whatever they contain.
 */
const handlebars = Handlebars.create();
handlebars.registerHelper("shq", (value: unknown) => shellQuote(String(value)));

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const TEMPLATES_DIR = join(__dirname, "..", "templates");
const OPTIONS = { noEscape: true, strict: true };
const compiled = new Map<string, Handlebars.TemplateDelegate>();

/** Renders `templates/<name>.hbs` with `context`. */
export function render(name: string, context: object): string {
  let template = compiled.get(name);
  if (!template) {
    template = handlebars.template(precompiled(readFileSync(join(TEMPLATES_DIR, `${name}.hbs`), "utf8")));
    compiled.set(name, template);
  }
  return template(context);
}

/**
 * A template compiled to JavaScript once and kept (see scripts/disk-cache.js): later runs load
 * only Handlebars' runtime, not its compiler.
 */
function precompiled(source: string): TemplateSpecification {
  const spec = cachedText("botfleet-hbs", `handlebars ${Handlebars.VERSION} ${JSON.stringify(OPTIONS)}\0${source}`, () =>
    // precompile fills in the options it is given: a copy keeps the key the same.
    String((require("handlebars") as typeof import("handlebars")).precompile(source, { ...OPTIONS })),
  );
  return new Function(`return ${spec};`)();
}
