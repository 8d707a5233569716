/**
 * What a pasted secret looks like: the key formats of the model providers, chat platforms and
 * clouds a fleet deals with. The fleet file is committed and its values land in cdktf.out, so a
 * string that matches is refused, naming its field and never echoing it (issue 38: an API key
 * pasted into persona.theme passed).
 */
export interface CredentialPattern {
  readonly kind: string;
  readonly pattern: RegExp;
}

// Each pattern stands alone: no letter, digit, "_" or "-" right before it, so "task-..." is not "sk-...".
const start = "(?<![A-Za-z0-9_-])";

export const CREDENTIAL_PATTERNS: readonly CredentialPattern[] = [
  { kind: "an Anthropic API key", pattern: new RegExp(`${start}sk-ant-[A-Za-z0-9_-]{20,}`) },
  { kind: "an OpenRouter API key", pattern: new RegExp(`${start}sk-or-v1-[A-Za-z0-9]{32,}`) },
  { kind: "an OpenAI-style API key (OpenAI, DeepSeek)", pattern: new RegExp(`${start}sk-(?:proj-|svcacct-|admin-)?(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{32,}`) },
  { kind: "a Google API key", pattern: new RegExp(`${start}AIza[0-9A-Za-z_-]{35}`) },
  { kind: "a Telegram bot token", pattern: new RegExp(`${start}[0-9]{8,10}:[A-Za-z0-9_-]{35}`) },
  { kind: "a Discord bot token", pattern: new RegExp(`${start}[A-Za-z0-9_-]{23,28}\\.[A-Za-z0-9_-]{6}\\.[A-Za-z0-9_-]{27,40}`) },
  { kind: "a GitHub token", pattern: new RegExp(`${start}(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})`) },
  { kind: "a Slack token", pattern: new RegExp(`${start}xox[abposr]-[A-Za-z0-9-]{10,}`) },
  { kind: "a Groq API key", pattern: new RegExp(`${start}gsk_[A-Za-z0-9]{40,}`) },
  { kind: "an xAI API key", pattern: new RegExp(`${start}xai-[A-Za-z0-9]{40,}`) },
  { kind: "a Hugging Face token", pattern: new RegExp(`${start}hf_[A-Za-z0-9]{30,}`) },
  { kind: "an AWS access key id", pattern: new RegExp(`${start}(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])`) },
  { kind: "an Azure storage account key", pattern: /AccountKey=|(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==/ },
  { kind: "an Azure SAS token", pattern: /[?&]sig=[A-Za-z0-9%+/]{40,}/ },
  { kind: "a private key", pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
];

/** The kind of credential `value` holds, or undefined. */
export function credentialIn(value: string): string | undefined {
  return CREDENTIAL_PATTERNS.find((c) => c.pattern.test(value))?.kind;
}
