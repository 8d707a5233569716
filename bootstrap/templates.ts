import { readFileSync } from "node:fs";
import { join } from "node:path";
import Handlebars from "handlebars";

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
const compiled = new Map<string, Handlebars.TemplateDelegate>();

/** Renders `templates/<name>.hbs` with `context`. */
export function render(name: string, context: object): string {
  let template = compiled.get(name);
  if (!template) {
    template = handlebars.compile(readFileSync(join(TEMPLATES_DIR, `${name}.hbs`), "utf8"), { noEscape: true, strict: true });
    compiled.set(name, template);
  }
  return template(context);
}
