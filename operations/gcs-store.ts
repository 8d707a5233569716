import { Storage, type Bucket } from "@google-cloud/storage";
import { cloudError, EXIT, OperationError } from "./errors";
import type { BotStore, StoredFile } from "./types";

/**
 * A bot's state bucket, through the Cloud Storage client for Node.js, signed in with application
 * default credentials as Terraform's google provider is. BOTFLEET_GCS_ENDPOINT sets the client's
 * `apiEndpoint` (another universe, or an emulator); credentials are sent there too.
 */
export class GcsStore implements BotStore {
  readonly describe: string;
  readonly role: string;
  private readonly bucket: Bucket;

  constructor(project: string, bucketName: string, env: NodeJS.ProcessEnv) {
    const apiEndpoint = env.BOTFLEET_GCS_ENDPOINT;
    this.bucket = new Storage({ projectId: project, ...(apiEndpoint && { apiEndpoint, useAuthWithCustomEndpoint: true }) }).bucket(bucketName);
    this.describe = `gs://${bucketName}`;
    this.role = `roles/storage.objectUser (or objectViewer, to look only) on the bucket ${bucketName}`;
  }

  async list(prefix: string): Promise<StoredFile[]> {
    try {
      const [files] = await this.bucket.getFiles({ prefix, autoPaginate: true });
      return files.map((f) => ({ path: f.name, bytes: Number(f.metadata.size ?? 0), modified: new Date(String(f.metadata.updated ?? 0)) })).sort((a, b) => a.path.localeCompare(b.path));
    } catch (e) {
      if ((e as { code?: number }).code === 404) throw new OperationError(`${this.describe} does not exist: the bot's stack creates it. Is the bot deployed (npx cdktf deploy <bot>)?`, EXIT.notFound);
      throw cloudError(e, "gcp", `listing ${prefix} in ${this.describe}`, this.role);
    }
  }

  async read(path: string): Promise<Buffer | undefined> {
    try {
      const [data] = await this.bucket.file(path).download();
      return data;
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw cloudError(e, "gcp", `reading ${path} in ${this.describe}`, this.role);
    }
  }

  async put(path: string, body: Buffer): Promise<void> {
    try {
      await this.bucket.file(path).save(body, { resumable: false, contentType: "application/json" });
    } catch (e) {
      throw cloudError(e, "gcp", `writing ${path} in ${this.describe}`, this.role);
    }
  }

  async create(path: string, body: Buffer): Promise<boolean> {
    try {
      await this.bucket.file(path).save(body, { resumable: false, preconditionOpts: { ifGenerationMatch: 0 }, contentType: "application/json" });
      return true;
    } catch (e) {
      if ((e as { code?: number }).code === 412) return false;
      throw cloudError(e, "gcp", `writing ${path} in ${this.describe}`, this.role);
    }
  }
}
