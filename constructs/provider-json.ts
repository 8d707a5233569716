/**
 * A JSON string in the form Go's `encoding/json.Marshal` writes it: object keys sorted, no spaces,
 * and `<`, `>`, `&`, U+2028, U+2029 escaped as \u sequences (Go's default HTML-safe escaping).
 *
 * A provider that reads a JSON attribute back with json.Marshal stores that form in the state.
 * Where the attribute sits in a set, the set's hash covers the raw string, so a string in any
 * other form (JSON.stringify keeps insertion order) is a different element at every plan, and no
 * DiffSuppressFunc applies across set elements: the resource is updated forever. For JSON.stringify's
 * other output (numbers, the escapes of quotes, backslashes and control characters) Go writes the
 * same text (Go 1.25.3 builds azurerm v4.55.0, .go-version; Go writes \b and \f as JavaScript
 * does since 1.22), for the values botfleet writes: finite numbers, no lone surrogates.
 */
export function goJson(value: unknown): string {
  return canonical(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

// Written by hand, not through an object: JavaScript orders integer-like keys ("9" before "10")
// ahead of the rest, where Go sorts every key by its UTF-8 bytes.
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
}
