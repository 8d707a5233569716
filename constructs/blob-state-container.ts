import { StorageContainer } from "@cdktf/provider-azurerm/lib/storage-container";
import { Construct } from "constructs";
import { RoleGrant } from "./role-grant";

export interface BlobStateContainerProps {
  /** Resource ID of the bot's own storage account. */
  readonly storageAccountId: string;
  /** Blob endpoint of that account, `https://<account>.blob.core.windows.net`. */
  readonly blobEndpoint: string;
  /** Container name (3-63 lowercase letters, digits and hyphens). */
  readonly name: string;
  /** Principal (object) ID of the bot's identity, the only one given access to the container. */
  readonly principalId: string;
}

/**
 * The durable copy of one bot's state: a private blob container that only the bot's identity can
 * read and write (Storage Blob Data Contributor at container scope: no account key, nothing of
 * another bot). The state-sync sidecar keeps its snapshots, pointer and lease there.
 */
export class BlobStateContainer extends Construct {
  /** The container's URL. */
  readonly url: string;
  /** The store as the state-sync engine takes it: `azure:<container URL>`. */
  readonly store: string;
  readonly container: StorageContainer;
  /** The bot identity's role on the container. */
  readonly grant: RoleGrant;

  constructor(scope: Construct, id: string, props: BlobStateContainerProps) {
    super(scope, id);
    // With storage_account_id the container's ID is its Resource Manager ID, which role
    // assignments take as scope (azurerm v4.55.0 internal/services/storage/storage_container_resource.go, Create).
    this.container = new StorageContainer(this, "container", {
      name: props.name,
      storageAccountId: props.storageAccountId,
      containerAccessType: "private",
    });
    this.grant = new RoleGrant(this, "sync-access", {
      scope: this.container.id,
      role: "Storage Blob Data Contributor",
      principalId: props.principalId,
      reason: "the bot's state-sync keeps its snapshots, pointer and lease in its own container",
    });
    this.url = `${props.blobEndpoint.replace(/\/$/, "")}/${props.name}`;
    this.store = `azure:${this.url}`;
  }
}
