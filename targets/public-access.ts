import { z } from "zod";

/** The one schema of `publicAccess`, a setting of both managed-ingress targets. */
export const publicAccess = z.boolean().optional().meta({
  description: "gcp-cloud-run, azure-container-apps: let anyone on the internet reach the gateway; the gateway token is then the only gate. Default: false.",
});
