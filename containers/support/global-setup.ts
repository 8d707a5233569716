import { dockerAvailable, docker, removeDeadRunsResources } from "./docker";
import { IMAGES, imageRef } from "./images";
import { vmDisksPresent } from "./vm";

/** Fails fast, naming the command that fixes it, when the engine, an image or the VM disks are missing. */
export default function globalSetup(): void {
  dockerAvailable();
  const removed = removeDeadRunsResources();
  if (removed) console.log(`removed ${removed} containers, networks and volumes that runs no longer running left behind`);
  const missing = IMAGES.map((i) => imageRef(i.name)).filter((ref) => docker(["image", "inspect", ref], { allowFail: true }).status !== 0);
  if (missing.length || !vmDisksPresent()) throw new Error(`the container suite's images are not built (${missing.join(", ") || "VM disks"}): run npm run setup:containers`);
}
