import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { StandInServer } from "./stand-in-server";

/**
 * A stand-in of the Key Vault secrets REST API over HTTPS (the SDK sends bearer tokens over TLS
 * only), for the `botfleet` command: the authentication challenge (401 with WWW-Authenticate naming
 * the authority and resource, which the SDK answers by getting a token for that resource), SetSecret
 * and GetSecretVersions, shaped as the API specification's examples
 * (Azure/azure-rest-api-specs, specification/keyvault/data-plane/Microsoft.KeyVault/stable/2025-06-01/
 * examples/SetSecret-example.json and GetSecretVersions-example.json: SecretBundle and SecretItem,
 * `attributes.created` and `updated` in Unix seconds). One vault per path prefix (`/<vault>`).
 * NOT Key Vault: no RBAC, no soft delete. It records each request, bodies included.
 */
export class KeyVaultStandIn extends StandInServer {
  /** Versions of each `<vault>/<secret>`, oldest first. */
  readonly secrets = new Map<string, { version: string; value: string; created: number }[]>();

  protected answer(req: IncomingMessage, url: URL, body: string, send: (status: number, json: unknown, headers?: Record<string, string>) => void): void {
    if (!req.headers.authorization?.startsWith("Bearer "))
      return send(
        401,
        { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } },
        {
          "www-authenticate": 'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001", resource="https://vault.azure.net"',
        },
      );
    if (!url.searchParams.get("api-version")) return send(400, { error: { code: "BadParameter", message: "api-version is required" } });
    const m = /^\/([^/]+)\/secrets\/([0-9a-zA-Z-]+)(\/versions)?$/.exec(url.pathname);
    if (!m) return send(404, { error: { code: "NotFound", message: "not implemented by the stand-in" } });
    const [, vault, name, versions] = m;
    const key = `${vault}/${name}`;
    // A real vault is a host (https://<vault>.vault.azure.net/secrets/<name>/<version>) and the
    // SDK parses ids as such; here the vault is the path's first segment, which ids leave out.
    const id = (version: string) => `https://127.0.0.1:${this.port}/secrets/${name}/${version}`;
    const attributes = (created: number) => ({ enabled: true, created, updated: created, recoveryLevel: "Recoverable+Purgeable" });
    if (req.method === "PUT" && !versions) {
      const { value } = JSON.parse(body) as { value?: string };
      if (typeof value !== "string") return send(400, { error: { code: "BadParameter", message: "Property value is required" } });
      const version = randomBytes(16).toString("hex");
      const created = Math.floor(Date.now() / 1000);
      this.secrets.set(key, [...(this.secrets.get(key) ?? []), { version, value, created }]);
      return send(200, { value, id: id(version), attributes: attributes(created) });
    }
    if (req.method === "GET" && versions) {
      const all = this.secrets.get(key);
      if (!all) return send(404, { error: { code: "SecretNotFound", message: `A secret with (name/id) ${name} was not found in this key vault.` } });
      return send(200, { value: all.map((v) => ({ id: id(v.version), attributes: attributes(v.created) })), nextLink: null });
    }
    send(405, { error: { code: "BadParameter", message: "not implemented by the stand-in" } });
  }
}
