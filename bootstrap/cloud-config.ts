import { stringify } from "yaml";

/**
 * YAML text of a cloud-config document, exactly as `yaml` (2.9.1) writes it with
 * `{ lineWidth: 0, blockQuote: "literal" }`, at a fraction of the cost: the document's long
 * file contents (58 KB a bot, over which `yaml` runs a dozen scans) are set aside, `yaml` writes
 * the rest with a one-line placeholder for each, and each placeholder is replaced by the literal
 * block `yaml` itself would have written. Only a content whose block is certain is set aside
 * (`literalBlock`); any other stays in the document for `yaml` to write. A test compares both
 * ways over every rendered cloud-init and thousands of awkward strings.
 */
export function stringifyCloudConfig(document: Record<string, unknown>): string {
  const blocks: string[] = [];
  const skeleton = setAside(document, blocks);
  if (blocks.length === 0) return stringify(document, OPTIONS);
  // A placeholder-like string left in the skeleton could be taken for one: then yaml writes it all.
  const key = JSON.stringify(skeleton);
  if (key.split(PLACEHOLDER).length - 1 !== blocks.length) return stringify(document, OPTIONS);
  // Every bot of a runtime has the same skeleton (the same paths, modes and placeholders).
  let text = skeletons.get(key);
  if (text === undefined) {
    text = stringify(skeleton, OPTIONS);
    if (key.length <= MAX_KEPT_SKELETON) skeletons.set(key, text);
  }
  return text.replace(PLACEHOLDER_LINE, (_line, lead: string, key: string, index: string) => {
    // yaml indents a block scalar one step (2 spaces) deeper than the key that holds it.
    const indent = " ".repeat(lead.length + 2);
    return `${lead}${key}: |\n${indent}${blocks[Number(index)].slice(0, -1).replace(/\n+/g, `$&${indent}`)}`;
  });
}

/** yaml's text of each skeleton seen, by its JSON; a large one (contents left in) is not kept. */
const skeletons = new Map<string, string>();
const MAX_KEPT_SKELETON = 16_384;

const OPTIONS = { lineWidth: 0, blockQuote: "literal" } as const;

/** Written plain by yaml; a document that holds it anywhere else is written by yaml alone. */
const PLACEHOLDER = "botfleet-literal-block-";
const PLACEHOLDER_LINE = new RegExp(`^( *(?:- )?)(content): ${PLACEHOLDER}(\\d+)$`, "gm");

/** yaml's own test for the characters it writes escaped, in double quotes (stringifyString.js). */
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u;

/**
 * Whether `yaml` writes `value`, the value of a key inside a block mapping, as a literal block with
 * clip chomping and no indentation indicator (stringifyString.js, `blockString`): it has a line
 * break (so not a plain or quoted scalar), no control character (those force double quotes), ends
 * in exactly one line break after a character that is not blank (clip: no `-` or `+`, and no
 * trailing blanks that would force quotes), and starts with neither a space nor a line break (no
 * indentation indicator, no leading empty lines).
 */
function literalBlock(value: string): boolean {
  return value.length > 1 && value.endsWith("\n") && !/[ \t\n]/.test(value[value.length - 2]) && value[0] !== " " && value[0] !== "\n" && !NEEDS_ESCAPE.test(value);
}

/** `document` with each file's content that `literalBlock` allows replaced by a placeholder. */
function setAside(document: Record<string, unknown>, blocks: string[]): Record<string, unknown> {
  const files = document.write_files;
  if (!Array.isArray(files)) return document;
  return {
    ...document,
    write_files: files.map((file: Record<string, unknown>) => {
      const content = file.content;
      if (typeof content !== "string" || !literalBlock(content)) return file;
      blocks.push(content);
      return { ...file, content: `${PLACEHOLDER}${blocks.length - 1}` };
    }),
  };
}
