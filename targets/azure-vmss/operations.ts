import { azureBotSecrets, azureBotStore } from "../../operations/azure-bot";
import type { TargetOperations, TargetStatus } from "../../operations/types";

/**
 * A VM bot's operations. Its updater keeps the release status in the bot's own store
 * (`botfleet-release/status.json`, templates/vm/update.sh.hbs `set_status`): the running and
 * desired release, the phase of an update, the condition and the memory restarts.
 */
export const operations: TargetOperations = {
  store: azureBotStore,
  secrets: azureBotSecrets,
  async status(_ref, store) {
    const body = await store.read("botfleet-release/status.json");
    if (!body) return { unknown: "the VM has not reported yet (botfleet-release/status.json is not in the store: its first boot may not be done)" };
    const doc = JSON.parse(body.toString("utf8")) as Record<string, unknown> & { condition?: { state?: string; reasons?: string[] } };
    const status: TargetStatus = {
      running: str(doc.running),
      desired: str(doc.desired),
      phase: str(doc.phase),
      detail: str(doc.detail),
      memoryRestarts: typeof doc.memoryRestarts === "number" ? doc.memoryRestarts : undefined,
      condition: doc.condition?.state ? { state: doc.condition.state, reasons: doc.condition.reasons ?? [] } : undefined,
    };
    return status;
  },
};

function str(value: unknown): string | undefined {
  return typeof value === "string" && value ? value : undefined;
}
