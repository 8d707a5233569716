import type { CloudInit } from "./terraform-json";

/**
 * The cloud-init documents this process rendered, by their base64 custom data. Decoding custom
 * data is a pure function of the string, so when a VM's custom_data in the Terraform JSON is
 * exactly what botfleet rendered, its settings and files are already known: the policy skips the
 * base64 decoding and the YAML parse (most of its cost at synth). Any other value, such as an
 * override or an edited copy, is not found here and is decoded.
 *
 * They are filed by length and last 64 characters (gzip's trailer, the CRC-32 and size of the
 * text, ends there) and compared whole. Not by the whole string: V8 hashes a string longer than
 * 16383 characters by its length alone (StringHasher, String::kMaxHashCalcLength), so a Map keyed
 * by 40-80 KB of custom data keeps a fleet's documents in a few buckets and searches them one by
 * one (5% of a 1000-bot synth).
 */
const rendered = new Map<string, Map<string, CloudInit>>();
const fileKey = (customData: string) => `${customData.length}:${customData.slice(-64)}`;

/** Records what `customData` decodes to; the renderer calls it with what it just encoded. */
export function rememberRenderedCloudInit(customData: string, cloudInit: CloudInit): void {
  const key = fileKey(customData);
  const bucket = rendered.get(key) ?? rendered.set(key, new Map()).get(key)!;
  bucket.set(customData, cloudInit);
}

export function renderedCloudInit(customData: string): CloudInit | undefined {
  return rendered.get(fileKey(customData))?.get(customData);
}
