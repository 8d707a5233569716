/**
 * The container suite's own machinery, where a defect made CI red: the VM suites' turn (a lock file
 * holding a PID: a killed run left it behind, and two suites breaking it at once both took it and
 * booted two VMs on one disk), and telling a dead run's leftovers from a live run's.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LABEL, RUN_LABEL, runAlive, takeTurn } from "../containers/support/docker";

const ROOT = join(__dirname, "..");
let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "botfleet-turn-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const settled = <T>(p: Promise<T>) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);

test("a turn is taken by one holder at a time; the next waits until it is given back", async () => {
  const lock = join(dir, "turn.lock");
  const giveBack = await takeTurn(lock);
  const second = takeTurn(lock);
  expect(await settled(second)).toBe(false);
  giveBack();
  expect(await settled(second)).toBe(true);
  (await second)();
});

test("a killed holder never leaves its turn taken, and of two waiting, one takes it at a time", async () => {
  const lock = join(dir, "turn.lock");
  // Another process takes the turn, then dies without giving it back (SIGKILL, as a stopped CI run).
  const other = spawn(process.execPath, ["-r", "./scripts/ts-register.js", "-e", `require("./containers/support/docker").takeTurn(${JSON.stringify(lock)}).then(() => console.log("taken"))`], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve) => other.stdout.on("data", (d) => String(d).includes("taken") && resolve()));
  const first = takeTurn(lock);
  const second = takeTurn(lock);
  expect(await settled(first)).toBe(false);
  other.kill("SIGKILL");
  const winner = await Promise.race([first, second]);
  // Exactly one of the two holds it now.
  const [firstHolds, secondHolds] = [await settled(first), await settled(second)];
  expect(firstHolds !== secondHolds).toBe(true);
  winner();
  expect(await settled(firstHolds ? second : first)).toBe(true);
  (await (firstHolds ? second : first))();
});

test("a resource's run label tells a live run from a dead one, across reboots", () => {
  const value = RUN_LABEL.slice(LABEL.length + 1);
  expect(runAlive(value)).toBe(true);
  const ended = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  const pid = Number(ended.stdout.trim());
  const [run, boot, , start] = value.split(".");
  expect(runAlive([run, boot, pid, start].join("."))).toBe(false);
  // This PID on another boot (a machine started from a copy of this one's disk).
  const [, , ownPid, ownStart] = value.split(".");
  expect(runAlive([run, "0123456789ab", ownPid, ownStart].join("."))).toBe(false);
  // A label from before the process key (a bare run id).
  expect(runAlive("1a2b3c4d")).toBe(false);
});
