/**
 * `npm run bench`: synth wall time and peak memory for generated fleets of 1, 10, 100 and 1000
 * bots, `cdktf synth` of the example fleet, and the tests, each next to the floor: a bare
 * `node -e "require('cdktf')"`, measured in the same run, interleaved with the synths so that
 * both see the same load. Machines differ (and a shared one varies by the minute): compare the
 * ratios with the targets in the README, never the seconds, and never in a test.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(__dirname, "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SIZES = (process.env.BENCH_SIZES ?? "1,10,100,1000").split(",").map(Number);
/** Fleets this large are synthesized once; the rest RUNS times. */
const LARGE = 1000;

function fleetYaml(bots: number): string {
  const lines = ["name: bench", "bots:"];
  for (let i = 0; i < bots; i++)
    lines.push(
      `  - name: bot-${String(i).padStart(4, "0")}`,
      `    domain: bot-${i}.bench.example.com`,
      `    tier: ${["light", "standard", "performance"][i % 3]}`,
      "    channels:",
      "      telegram:",
      `        allowFrom: ["${100000 + i}"]`,
    );
  return lines.join("\n") + "\n";
}

/** The app command `cdktf synth` runs (cdktf.json), with the peak-memory recorder preloaded. */
function appCommand(): string[] {
  const [node, ...args] = JSON.parse(readFileSync(join(ROOT, "cdktf.json"), "utf8")).app.split(/\s+/);
  if (node !== "node") throw new Error(`cdktf.json's app does not start with node: ${node}`);
  return [process.execPath, "-r", "./scripts/report-rss.js", ...args];
}

interface Sample {
  seconds: number;
  rssMb?: number;
}

function timed([command, ...args]: string[], env: NodeJS.ProcessEnv = {}): Sample {
  const work = mkdtempSync(join(tmpdir(), "botfleet-bench-"));
  const rssFile = join(work, "rss");
  const started = process.hrtime.bigint();
  const r = spawnSync(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, BENCH_RSS_FILE: rssFile, CDKTF_OUTDIR: join(work, "out") },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  let rssMb: number | undefined;
  try {
    rssMb = Number(readFileSync(rssFile, "utf8")) / 1024;
  } catch {
    rssMb = undefined;
  }
  rmSync(work, { recursive: true, force: true });
  return { seconds, rssMb };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Row {
  label: string;
  measure: () => Sample;
  runs: number;
  samples: Sample[];
}

const fleetDir = mkdtempSync(join(tmpdir(), "botfleet-fleet-"));
const floor: Row = { label: "floor: `node -e \"require('cdktf')\"`", measure: () => timed([process.execPath, "-r", "./scripts/report-rss.js", "-e", "require('cdktf')"]), runs: RUNS, samples: [] };
const synths: (Row & { bots: number })[] = SIZES.map((bots) => {
  const file = join(fleetDir, `fleet-${bots}.yaml`);
  writeFileSync(file, fleetYaml(bots));
  return { label: `app synth, ${bots} bot${bots === 1 ? "" : "s"}`, bots, measure: () => timed(appCommand(), { BOTFLEET_CONFIG: file }), runs: bots >= LARGE ? 1 : RUNS, samples: [] };
});
const cli: Row = {
  label: "`npx cdktf synth`, example fleet (7 stacks)",
  measure: () => timed(["npx", "cdktf", "synth", "--output", mkdtempSync(join(tmpdir(), "botfleet-cdktf-"))]),
  runs: RUNS,
  samples: [],
};
const tests: Row[] =
  process.env.BENCH_SKIP_TESTS === "1"
    ? []
    : [
        ...(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts["test:unit"]
          ? [{ label: "`npm run test:unit`", measure: () => timed(["npm", "run", "--silent", "test:unit"]), runs: 1, samples: [] }]
          : []),
        { label: "`npm test`", measure: () => timed(["npm", "test", "--silent"]), runs: 1, samples: [] },
      ];

// Rounds: the floor, then every row once, so that a change in the machine's load hits all alike.
const rows = [floor, ...synths, cli, ...tests];
for (let round = 0; round < RUNS; round++) for (const row of rows) if (round < row.runs) row.samples.push(row.measure());
rmSync(fleetDir, { recursive: true, force: true });

const wall = (row: Row) => median(row.samples.map((s) => s.seconds));
const floorSeconds = wall(floor);
process.stdout.write(
  `botfleet bench (node ${process.version}, median of ${RUNS}, one run for ${LARGE} bots and the tests; ratios to the floor of this run)\n\n` +
    "| what | wall | ratio to floor | peak RSS |\n|---|---|---|---|\n",
);
for (const row of rows) {
  const rss = row.samples.map((s) => s.rssMb).filter((v): v is number => v !== undefined);
  process.stdout.write(`| ${row.label} | ${wall(row).toFixed(2)} s | ${(wall(row) / floorSeconds).toFixed(1)}x | ${rss.length ? `${median(rss).toFixed(0)} MB` : "-"} |\n`);
}
// Cost per bot between consecutive sizes: equal figures mean synth time is linear in the bots.
const perBot = synths.slice(1).map((s, i) => {
  const prev = synths[i];
  return `${prev.bots} -> ${s.bots} bots: ${(((wall(s) - wall(prev)) / (s.bots - prev.bots)) * 1000).toFixed(1)} ms per bot`;
});
if (perBot.length) process.stdout.write(`\nPer added bot: ${perBot.join("; ")}.\n`);
