import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseTime, snapshotAt, snapshotTime, type Snapshot } from "../operations/backups";
import { cloudError, EXIT, OperationError } from "../operations/errors";
import { pairingChannel, pairingFailure, PAIRING_REQUEST, PAIRING_RESULT, waitingSenders } from "../operations/pairing";
import { printLogs } from "../operations/logs";
import { operationsOf } from "../operations/registry";
import type { LogLine, LogQuery, TargetOperations } from "../operations/types";
import { STATE_PAIRING_DONE, STATE_PAIRING_FILE } from "../bootstrap/state-sync";
import { fleetFrom } from "./support/fleet";
import { age } from "../operations/status";
import { TARGET_LIST } from "../targets";
import { ROOT } from "./support/fleet";

const now = new Date("2026-12-06T12:00:00Z");
const snap = (iso: string, current = false): Snapshot => ({ name: `snapshots/${iso.replace(/[:.]/g, "-")}-7-0.tar.gz`, time: new Date(iso), bytes: 100, current });

test("every target brings its operations, in its folder beside its descriptor", () => {
  for (const t of TARGET_LIST) {
    expect(existsSync(join(ROOT, "targets", t.id, "operations.ts"))).toBe(true);
    expect(operationsOf(t.id)).toMatchObject({ store: expect.any(Function), status: expect.any(Function), secrets: expect.any(Function), restart: expect.any(Function), logs: expect.any(Function) });
  }
});

test("a snapshot's time is read from its name as state-sync writes it", () => {
  expect(snapshotTime("snapshots/2026-12-05T18-56-17-539Z-4242-3.tar.gz")?.toISOString()).toBe("2026-12-05T18:56:17.539Z");
  expect(snapshotTime("snapshots/initial.tar.gz")).toBeUndefined();
});

test("--at takes an ISO time (UTC without a zone) or a time back from now, and refuses anything else naming the fix", () => {
  expect(parseTime("2026-12-05T18:00:00Z", now).toISOString()).toBe("2026-12-05T18:00:00.000Z");
  expect(parseTime("2026-12-05T18:00", now).toISOString()).toBe("2026-12-05T18:00:00.000Z");
  expect(parseTime("2026-12-05 18:00:00+02:00", now).toISOString()).toBe("2026-12-05T16:00:00.000Z");
  expect(parseTime("2026-12-05", now).toISOString()).toBe("2026-12-05T00:00:00.000Z");
  expect(parseTime("90m", now).toISOString()).toBe("2026-12-06T10:30:00.000Z");
  expect(parseTime("2d", now).toISOString()).toBe("2026-12-04T12:00:00.000Z");
  for (const bad of ["yesterday", "2026-13-01", "6 hours", ""]) {
    let e: OperationError | undefined;
    try {
      parseTime(bad, now);
    } catch (err) {
      e = err as OperationError;
    }
    expect(e).toBeInstanceOf(OperationError);
    expect(e!.exitCode).toBe(EXIT.usage);
    expect(e!.message).toContain(`--at "${bad}" is not a time: give an ISO 8601 time such as 2026-12-05T18:00:00Z`);
  }
});

test("a restore --at a time takes the newest snapshot at or before it, and says what there is when none is", () => {
  const kept = [snap("2026-12-04T09:00:00.000Z"), snap("2026-12-05T09:00:00.000Z"), snap("2026-12-06T11:59:00.000Z", true)];
  expect(snapshotAt(kept, new Date("2026-12-05T12:00:00Z"), "bot").name).toBe(kept[1].name);
  expect(snapshotAt(kept, new Date("2026-12-05T09:00:00Z"), "bot").name).toBe(kept[1].name);
  expect(snapshotAt(kept, now, "bot").name).toBe(kept[2].name);
  expect(() => snapshotAt(kept, new Date("2026-12-01T00:00:00Z"), "bot")).toThrow(
    "bot has no snapshot taken at or before 2026-12-01T00:00:00.000Z: the oldest kept is from 2026-12-04T09:00:00.000Z (botfleet backups list bot shows them all)",
  );
  expect(() => snapshotAt([], now, "bot")).toThrow("bot has no snapshot in its store yet: nothing to restore");
});

test("the clouds' errors become what to do: sign in, or which role is missing", () => {
  const unavailable = Object.assign(new Error("Azure CLI could not be found."), { name: "CredentialUnavailableError" });
  expect(cloudError(unavailable, "azure", "reading x", "role")).toMatchObject({ exitCode: EXIT.notSignedIn, message: expect.stringContaining("Sign in with `az login`") });
  const adc = new Error("Could not load the default credentials. Browse to https://cloud.google.com/docs/authentication/getting-started");
  expect(cloudError(adc, "gcp", "listing y", "role")).toMatchObject({ exitCode: EXIT.notSignedIn, message: expect.stringContaining("gcloud auth application-default login") });
  const forbidden = Object.assign(new Error("This request is not authorized to perform this operation using this permission.\nRequestId:1"), { statusCode: 403 });
  expect(cloudError(forbidden, "azure", "reading x", '"Storage Blob Data Contributor" on the container state')).toMatchObject({
    exitCode: EXIT.forbidden,
    message: 'reading x: not allowed (This request is not authorized to perform this operation using this permission.). Your identity needs "Storage Blob Data Contributor" on the container state.',
  });
  expect(cloudError(Object.assign(new Error("expired"), { code: 401 }), "gcp", "w", "r").exitCode).toBe(EXIT.notSignedIn);
  // Google's gRPC and HTTP/JSON clients say gRPC codes: 7 PERMISSION_DENIED, 16 UNAUTHENTICATED.
  expect(cloudError(Object.assign(new Error("7 PERMISSION_DENIED: denied"), { code: 7 }), "gcp", "w", "roles/logging.viewer").exitCode).toBe(EXIT.forbidden);
  expect(cloudError(Object.assign(new Error("16 UNAUTHENTICATED: no"), { code: 16 }), "gcp", "w", "r").exitCode).toBe(EXIT.notSignedIn);
  expect(cloudError(new Error("socket hang up"), "gcp", "w", "r")).toMatchObject({ exitCode: EXIT.failed, message: "w: socket hang up" });
});

test("ages read as people say them", () => {
  expect(age(undefined, now)).toBe("never");
  expect(age("2026-12-06T11:59:30Z", now)).toBe("30 s ago");
  expect(age("2026-12-06T11:00:00Z", now)).toBe("60 min ago");
  expect(age("2026-12-06T02:00:00Z", now)).toBe("10 h ago");
  expect(age("2026-12-01T12:00:00Z", now)).toBe("5 d ago");
});

describe("botfleet pairing", () => {
  const fleet = fleetFrom(`name: demo
bots:
  - name: one
    channels: { telegram: {} }
  - name: two
    channels: { telegram: { dmPolicy: pairing }, discord: { dmPolicy: pairing } }
  - name: listed
    channels: { telegram: { allowFrom: ["1"] } }
  - name: pyth
    runtime: nanobot
    channels: { telegram: {} }
`);
  const ref = (name: string) => ({ fleet, bot: fleet.bots.find((b) => b.name === name)! });

  test("the channel is the bot's only one that pairs, or the one given; otherwise it says what to do", () => {
    expect(pairingChannel(ref("one"))).toBe("telegram");
    expect(pairingChannel(ref("two"), "discord")).toBe("discord");
    expect(() => pairingChannel(ref("two"))).toThrow("two pairs on telegram and discord: say which with --channel");
    expect(() => pairingChannel(ref("listed"))).toThrow("listed has no channel whose DMs wait for pairing (telegram: allowlist): set channels.<channel>.dmPolicy: pairing in the fleet file");
    expect(() => pairingChannel(ref("one"), "discord")).toThrow("one has no channel discord (its channels: telegram)");
    expect(() => pairingChannel(ref("pyth"))).toThrow(/pyth runs nanobot, whose pairing botfleet cannot reach from outside: approve from a chat .* \/pairing approve <code>/);
  });

  test("the runtime's answer read as it prints it: its JSON list, its own reason for a refusal", () => {
    // OpenClaw 2026.9.6 `pairing list --json` (dist/pairing-cli-*.mjs: writeJson({channel, requests})).
    expect(waitingSenders('{\n  "channel": "telegram",\n  "requests": []\n}\n')).toEqual([]);
    expect(() => waitingSenders("Error: no channels")).toThrow("the pairing list did not come back as JSON: Error: no channels");
    const refused = {
      id: "x",
      ok: false,
      exitCode: 1,
      stderr: '[openclaw] The CLI command failed.\n[openclaw] Reason: No pending pairing request found for code "AB".\n[openclaw] Try: openclaw doctor\n',
    };
    expect(pairingFailure(refused)).toBe('No pending pairing request found for code "AB".');
    expect(pairingFailure({ id: "x", ok: false, error: "the agent is not running here" })).toBe("the agent is not running here");
    expect(pairingFailure({ id: "x", ok: false, exitCode: 2, stderr: "" })).toBe("its pairing command exited 2");
  });

  test("the names in the store and the state directory are state-sync's own", () => {
    const engine = readFileSync(join(ROOT, "state-sync", "state-sync.mjs"), "utf8");
    expect(engine).toContain(`export const PAIRING_REQUEST = "${PAIRING_REQUEST.replace("botfleet-state/", "")}";`);
    expect(engine).toContain(`export const PAIRING_RESULT = "${PAIRING_RESULT.replace("botfleet-state/", "")}";`);
    expect(engine).toContain(`export const PAIRING_FILE = "${STATE_PAIRING_FILE}";`);
    expect(engine).toContain(`export const PAIRING_DONE = "${STATE_PAIRING_DONE}";`);
    expect(engine).toContain('const PREFIX = "botfleet-state/";');
  });
});

describe("botfleet logs --follow", () => {
  /** A log service whose lines are taken in over time: each read sees what was taken in by then. */
  function service(script: ((reads: number) => LogLine[] | Error)[]) {
    const queries: LogQuery[] = [];
    const ops = {
      logs: async (_ref: unknown, _env: unknown, q: LogQuery) => {
        queries.push(q);
        const step = script[Math.min(queries.length - 1, script.length - 1)](queries.length);
        if (step instanceof Error) throw step;
        return step.filter((l) => !q.receivedFrom || l.received >= q.receivedFrom);
      },
    } as unknown as TargetOperations;
    return { ops, queries };
  }
  const line = (text: string, writtenAgoS: number, receivedAgoS: number): LogLine => ({
    time: new Date(Date.now() - writtenAgoS * 1000),
    received: new Date(Date.now() - receivedAgoS * 1000),
    source: "agent",
    text,
  });
  /** Runs a follow until `count` lines are printed; returns them and what was said on stderr. */
  async function follow(ops: TargetOperations, count: number) {
    const printed: string[] = [];
    const warned: string[] = [];
    const stop = new Error("enough");
    await printLogs(
      ops,
      {} as never,
      {},
      { since: new Date(Date.now() - 3_600_000), all: false, limit: 200, follow: true, everyS: 0.01, json: false },
      (t) => {
        printed.push(t.trim().split("  ").slice(1).join("  "));
        if (printed.length >= count) throw stop;
      },
      (t) => warned.push(t),
    ).catch((e) => {
      if (e !== stop) throw e;
    });
    return { printed, warned };
  }

  test("a line taken in just before the newest one seen, but readable only later, is printed once; a failing read is said and tried again", async () => {
    const a = line("a", 60, 50);
    const b = line("b", 30, 10);
    // Stamped 20 s before b's ingestion, readable only from the third read on.
    const late = line("late", 40, 30);
    const { ops, queries } = service([() => [a], () => [a, b], () => new Error("503 Service Unavailable"), () => [a, b, late], () => [a, b, late, line("c", 1, 1)]]);
    const { printed, warned } = await follow(ops, 4);
    expect(printed).toEqual(["a", "b", "late", "c"]);
    expect(warned).toEqual([expect.stringMatching(/^botfleet: logs: 503 Service Unavailable; trying again in 0\.02 s/)]);
    // Read again from 5 minutes before the newest ingestion time seen.
    expect(queries[3].receivedFrom!.getTime()).toBeLessThanOrEqual(b.received.getTime() - 5 * 60_000);
  });
});
