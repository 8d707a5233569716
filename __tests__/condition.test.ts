import { conditionFrom, mergedCondition } from "../operations/condition";
import type { LogLine } from "../operations/types";

const now = new Date("2026-12-06T12:00:00Z");
const line = (text: string): LogLine => ({ time: now, received: now, source: "agent", text });
const fresh = { phase: "running", publishedAt: "2026-12-06T11:55:00Z", storeCurrentAt: "2026-12-06T11:59:00Z" };

// The rules of the VM's updater (templates/vm/update.sh.hbs bot_condition, __tests__/vm-condition.test.ts),
// for the targets where `botfleet status` derives the condition (operations/condition.ts).
describe("a managed bot's condition, from its store and its logs", () => {
  test("ready when nothing is wrong, and before state-sync has published anything", () => {
    expect(conditionFrom(fresh, [], now)).toEqual({ state: "ready", reasons: [] });
    expect(conditionFrom(undefined, [], now)).toEqual({ state: "ready", reasons: [] });
    expect(conditionFrom({ ...fresh, phase: "starting" }, [], now).state).toBe("ready");
  });

  test("degraded, with each reason: a channel's failures, snapshots failing, a failed drill, state-sync not running, state-sync silent", () => {
    const c = conditionFrom(
      {
        phase: "lease-lost",
        reason: "renewal refused (409)",
        publishedAt: "2026-12-06T11:30:00Z",
        storeCurrentAt: "2026-12-06T11:20:00Z",
        lastFailure: { time: "2026-12-06T11:25:00Z", message: "upload failed: 503" },
        lastDrill: { time: "2026-12-06T11:00:00Z", snapshot: "snapshots/a.tar.gz", ok: false, error: "integrity_check failed" },
      },
      [line("[telegram] getUpdates conflict: 409"), line("[discord] disconnected: 4004")],
      now,
    );
    expect(c).toEqual({
      state: "degraded",
      reasons: [
        "a chat channel failed 2 times in 10 min, last: [discord] disconnected: 4004",
        "state snapshots failing since 2026-12-06T11:25:00Z: upload failed: 503",
        "restore drill failed at 2026-12-06T11:00:00Z: snapshots/a.tar.gz: integrity_check failed",
        "state-sync: lease-lost: renewal refused (409)",
        "state-sync has not reported since 2026-12-06T11:30:00Z (it does every 10 min while it runs): is the bot running?",
      ],
    });
    // A failure older than the store's current state is over.
    expect(conditionFrom({ ...fresh, lastFailure: { time: "2026-12-06T11:58:00Z", message: "x" } }, [], now).state).toBe("ready");
  });

  // Issue 34: the launcher's health gate (templates/container/launch.sh) said a release failed.
  test("degraded while a release failed the launcher's health gate within the window, naming the rollback", () => {
    const c = conditionFrom(fresh, [], now, [
      line("botfleet: RELEASE FAILED: 9f2c: its agent exited with code 1 before its health gate passed"),
      line("botfleet: ROLLED BACK to release 1a2b: release 9f2c failed: its agent exited with code 1 before its health gate passed"),
    ]);
    expect(c).toEqual({
      state: "degraded",
      reasons: ["a release failed its health gate within 10 min: botfleet: ROLLED BACK to release 1a2b: release 9f2c failed: its agent exited with code 1 before its health gate passed"],
    });
  });

  test("merged with the platform's: a failed revision and a derived reason are both said", () => {
    expect(mergedCondition({ state: "degraded", reasons: ["Ready: CONDITION_FAILED"] }, { state: "ready", reasons: [] })).toEqual({ state: "degraded", reasons: ["Ready: CONDITION_FAILED"] });
    expect(mergedCondition(undefined, { state: "degraded", reasons: ["x"] })).toEqual({ state: "degraded", reasons: ["x"] });
    expect(mergedCondition(undefined, { state: "ready", reasons: [] })).toEqual({ state: "ready", reasons: [] });
  });
});
