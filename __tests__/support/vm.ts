import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { VmBootstrap } from "../../bootstrap/azure-vm";

/** Writes a rendered bootstrap's files under a fresh directory, as cloud-init lays them out. */
export function layOutVmFiles(bootstrap: VmBootstrap, prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  for (const f of bootstrap.files) {
    mkdirSync(dirname(join(root, f.path)), { recursive: true });
    writeFileSync(join(root, f.path), f.content, { mode: parseInt(f.permissions, 8) });
  }
  return root;
}
