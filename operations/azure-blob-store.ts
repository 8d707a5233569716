import { ContainerClient } from "@azure/storage-blob";
import type { TokenCredential } from "@azure/identity";
import { cloudError, EXIT, OperationError } from "./errors";
import type { BotStore, StoredFile } from "./types";

/**
 * The blob URL of a storage account: `BOTFLEET_AZURE_BLOB_URL` (a template with `{account}`, for
 * another Azure cloud or an emulator such as Azurite: `https://127.0.0.1:10000/{account}`), else
 * Azure's public cloud.
 */
export function blobAccountUrl(account: string, env: NodeJS.ProcessEnv): string {
  return (env.BOTFLEET_AZURE_BLOB_URL ?? "https://{account}.blob.core.windows.net").replace("{account}", account);
}

/** A bot's state container in its own storage account, through the Azure SDK for JavaScript. */
export class AzureBlobStore implements BotStore {
  readonly describe: string;
  readonly role: string;
  private readonly container: ContainerClient;

  constructor(account: string, containerName: string, credential: TokenCredential, env: NodeJS.ProcessEnv) {
    const url = `${blobAccountUrl(account, env)}/${containerName}`;
    this.container = new ContainerClient(url, credential);
    this.describe = `Azure blob container ${url}`;
    this.role = `"Storage Blob Data Contributor" (or Reader, to look only) on the container ${containerName} of the storage account ${account}`;
  }

  async list(prefix: string): Promise<StoredFile[]> {
    const files: StoredFile[] = [];
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix })) files.push({ path: blob.name, bytes: blob.properties.contentLength ?? 0, modified: blob.properties.lastModified });
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404)
        throw new OperationError(`${this.describe} does not exist: the bot's stack creates it. Is the bot deployed (npx cdktf deploy <bot>)?`, EXIT.notFound);
      throw cloudError(e, "azure", `listing ${prefix} in ${this.describe}`, this.role);
    }
    return files.sort((a, b) => a.path.localeCompare(b.path));
  }

  async read(path: string): Promise<Buffer | undefined> {
    try {
      return await this.container.getBlobClient(path).downloadToBuffer();
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw cloudError(e, "azure", `reading ${path} in ${this.describe}`, this.role);
    }
  }

  async put(path: string, body: Buffer): Promise<void> {
    try {
      await this.container.getBlockBlobClient(path).upload(body, body.length);
    } catch (e) {
      throw cloudError(e, "azure", `writing ${path} in ${this.describe}`, this.role);
    }
  }

  async create(path: string, body: Buffer): Promise<boolean> {
    try {
      await this.container.getBlockBlobClient(path).upload(body, body.length, { conditions: { ifNoneMatch: "*" } });
      return true;
    } catch (e) {
      if ([409, 412].includes((e as { statusCode?: number }).statusCode ?? 0)) return false;
      throw cloudError(e, "azure", `writing ${path} in ${this.describe}`, this.role);
    }
  }
}
