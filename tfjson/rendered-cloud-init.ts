import type { CloudInit } from "./terraform-json";

/**
 * The cloud-init documents this process rendered, by their base64 custom data. Decoding custom
 * data is a pure function of the string, so when a VM's custom_data in the Terraform JSON is
 * exactly what botfleet rendered, its settings and files are already known: the policy skips the
 * base64 decoding and the YAML parse (most of its cost at synth). Any other value, such as an
 * override or an edited copy, is not found here and is decoded.
 */
const rendered = new Map<string, CloudInit>();

/** Records what `customData` decodes to; the renderer calls it with what it just encoded. */
export function rememberRenderedCloudInit(customData: string, cloudInit: CloudInit): void {
  rendered.set(customData, cloudInit);
}

export function renderedCloudInit(customData: string): CloudInit | undefined {
  return rendered.get(customData);
}
