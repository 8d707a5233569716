import { kql, vmSyslogRows } from "../../bootstrap/log-queries";
import { azureBotNames } from "../../config/names";
import { azureBotSecrets, azureBotStore } from "../../operations/azure-bot";
import { azureLogs } from "../../operations/azure-logs";
import { requestFrom } from "../../operations/requests";
import type { BotStore, TargetOperations, TargetStatus } from "../../operations/types";

/**
 * A VM bot's operations. Its updater keeps the release status in the bot's own store
 * (`botfleet-release/status.json`, templates/vm/update.sh.hbs `set_status`): the running and
 * desired release, the phase of an update, the condition and the memory restarts.
 */
export const operations: TargetOperations = {
  // The VM's updater tells the condition (templates/vm/update.sh.hbs bot_condition).
  conditionReported: true,
  store: azureBotStore,
  secrets: azureBotSecrets,
  // A request the VM's updater applies at its next run, within a minute (update.sh restart_if_asked):
  // the agent stops, state-sync snapshots, the agent starts behind the health gate.
  async restart(_ref, _env, store) {
    const request = requestFrom();
    await store.put("botfleet-release/restart.json", Buffer.from(JSON.stringify(request)));
    return {
      said: `asked the VM's updater to restart the agent (request ${request.id}; it looks every minute)`,
      applied: async () => {
        const done = (await releaseStatus(store))?.lastRestart;
        return done?.id === request.id ? { ok: done.ok === true } : undefined;
      },
    };
  },
  // The VM's syslog in the region's workspace. The agent's lines are its unit's: the gateway's
  // output through run-agent.sh (its syslog tag, facility daemon: containers/vm-sandbox.containers.test.ts
  // reads both off the journal) and the start's own steps before it.
  logs(ref, env, query) {
    const names = azureBotNames(ref.fleet.name, ref.bot.name, ref.fleet.azure.uniqueSuffix);
    const agent = AGENT_UNIT_TAGS.map(kql).join(", ");
    return azureLogs(
      ref,
      env,
      {
        rows: [...vmSyslogRows(names.resourceGroup), ...(query.all ? [] : [`| where ProcessName in (${agent})`])],
        source: "ProcessName",
        text: "SyslogMessage",
        table: "Syslog",
        tableAppears: "once the first VM of the region has logged (its Azure Monitor Agent starts minutes after the VM)",
      },
      query,
    );
  },
  async status(_ref, store) {
    const doc = await releaseStatus(store);
    if (!doc) return { unknown: "the VM has not reported yet (botfleet-release/status.json is not in the store: its first boot may not be done)" };
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

/** The syslog tags of the agent unit's commands (templates/vm/botfleet-agent.service.hbs). */
const AGENT_UNIT_TAGS = ["boot.sh", "fetch-secrets.sh", "run-agent.sh"];

type ReleaseStatus = Record<string, unknown> & { condition?: { state?: string; reasons?: string[] }; lastRestart?: { id?: string; ok?: boolean } };

/** The updater's status in the store, or undefined before its first run. */
async function releaseStatus(store: BotStore): Promise<ReleaseStatus | undefined> {
  const body = await store.read("botfleet-release/status.json");
  return body ? (JSON.parse(body.toString("utf8")) as ReleaseStatus) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value ? value : undefined;
}
