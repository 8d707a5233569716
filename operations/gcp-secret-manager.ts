import { SecretManagerServiceClient } from "@google-cloud/secret-manager";
import type { SecretSpec } from "../runtimes/runtime";
import { cloudError } from "./errors";
import type { BotSecrets, SecretState } from "./types";

/**
 * A Cloud Run bot's secrets in Secret Manager (`<fleet>--<bot>--<key>`), through the Secret Manager
 * client for Node.js over its HTTP/JSON transport, signed in with application default credentials.
 * BOTFLEET_SECRET_MANAGER_ENDPOINT (`http://host:port`) sets the client's endpoint (a stand-in).
 */
export class GcpSecretManager implements BotSecrets {
  readonly describe: string;
  private readonly client: SecretManagerServiceClient;
  private readonly role = "roles/secretmanager.secretVersionManager (or admin) on the bot's secrets";

  constructor(
    private readonly project: string,
    private readonly idOf: (key: string) => string,
    env: NodeJS.ProcessEnv,
  ) {
    const endpoint = env.BOTFLEET_SECRET_MANAGER_ENDPOINT ? new URL(env.BOTFLEET_SECRET_MANAGER_ENDPOINT) : undefined;
    this.client = new SecretManagerServiceClient({
      projectId: project,
      fallback: true,
      ...(endpoint && { apiEndpoint: endpoint.hostname, port: Number(endpoint.port), protocol: endpoint.protocol.replace(":", "") }),
    });
    this.describe = `Secret Manager of project ${project}`;
  }

  private parent(key: string): string {
    return `projects/${this.project}/secrets/${this.idOf(key)}`;
  }

  async list(specs: readonly SecretSpec[]): Promise<SecretState[]> {
    return Promise.all(
      specs.map(async (spec) => {
        const parent = this.parent(spec.key);
        let times: Date[] = [];
        try {
          const [versions] = await this.client.listSecretVersions({ parent, filter: "state:ENABLED" });
          times = versions.map((v) => new Date(Number(v.createTime?.seconds ?? 0) * 1000 + Math.floor((v.createTime?.nanos ?? 0) / 1e6))).sort((a, b) => a.getTime() - b.getTime());
        } catch (e) {
          if ((e as { code?: number }).code !== 5) throw cloudError(e, "gcp", `listing the versions of ${parent}`, this.role);
        }
        return { ...spec, name: this.idOf(spec.key), versions: times.length, lastSet: times[times.length - 1] };
      }),
    );
  }

  async set(spec: SecretSpec, value: string): Promise<{ version: string }> {
    const parent = this.parent(spec.key);
    try {
      const [version] = await this.client.addSecretVersion({ parent, payload: { data: Buffer.from(value, "utf8") } });
      return { version: version.name?.split("/").pop() ?? "" };
    } catch (e) {
      throw cloudError(e, "gcp", `adding a version to ${parent}`, this.role);
    }
  }
}
