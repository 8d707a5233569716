import { StorageBlob } from "@cdktf/provider-azurerm/lib/storage-blob";
import type { Construct } from "constructs";
import { RELEASE } from "../../bootstrap/azure-vm";
import { terraformLiteral } from "../../bootstrap/container";

export interface DesiredReleaseBlobProps {
  /** The bot's storage account. */
  readonly storageAccountName: string;
  /** The bot's state container (a reference, so the blob follows it). */
  readonly containerName: string;
  /** The release document (bootstrap/vm-release.ts): files, version, image; never a secret. */
  readonly release: string;
}

/**
 * The release a VM bot should run, where its updater (templates/vm/update.sh) reads it every
 * minute: a changed custom data never reaches a running instance (docs/day-2.md). Every change is a
 * replacement (azurerm v4.55.0 internal/services/storage/storage_blob_resource.go:128-132:
 * `source_content` is ForceNew), deleted and then created: the updater takes the moment between as
 * "nothing new" (HTTP 404), and loses nothing, since the blob is written whole at every deploy.
 * Written with the account's key by the provider (the key stays enabled for it: constructs/azure-bot-stack.ts).
 */
export class DesiredReleaseBlob extends StorageBlob {
  constructor(scope: Construct, id: string, props: DesiredReleaseBlobProps) {
    super(scope, id, {
      name: RELEASE.desiredBlob,
      storageAccountName: props.storageAccountName,
      storageContainerName: props.containerName,
      type: "Block",
      contentType: "application/json",
      // Terraform reads every string of its JSON as a template: the release holds shell scripts,
      // whose `${VAR:-default}` must reach the blob as written, not fail the plan.
      sourceContent: terraformLiteral(props.release),
      // Read sets content_md5 from the blob (Optional, ForceNew, not Computed: azurerm v4.55.0
      // storage_blob_resource.go:142-147, :400-408); an MD5 Azure stores for the upload would
      // otherwise replace the blob at every plan (docs/perpetual-diffs.md, U1). A new release
      // replaces it all the same (source_content is ForceNew).
      lifecycle: { ignoreChanges: ["content_md5"] },
    });
  }
}
