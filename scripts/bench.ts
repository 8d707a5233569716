/**
 * `npm run bench`: synth wall time and peak memory for generated fleets of 1, 10, 100 and 1000
 * bots, `cdktf synth` of the example fleet, and `npm test`. Each figure is the median of a few
 * runs on this machine; compare them with the targets in the README, never in a test.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(__dirname, "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIZES = (process.env.BENCH_SIZES ?? "1,10,100,1000").split(",").map(Number);

function fleetYaml(bots: number): string {
  const lines = ["name: bench", "bots:"];
  for (let i = 0; i < bots; i++)
    lines.push(`  - name: bot-${String(i).padStart(4, "0")}`, `    domain: bot-${i}.bench.example.com`, `    tier: ${["light", "standard", "performance"][i % 3]}`, "    channels:", "      telegram:", `        allowFrom: ["${100000 + i}"]`);
  return lines.join("\n") + "\n";
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv = {}): { seconds: number; rssMb?: number } {
  const work = mkdtempSync(join(tmpdir(), "botfleet-bench-"));
  const rssFile = join(work, "rss");
  const started = process.hrtime.bigint();
  const r = spawnSync(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, BENCH_RSS_FILE: rssFile, CDKTF_OUTDIR: env.CDKTF_OUTDIR ?? join(work, "out") },
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

function measure(label: string, runs: number, once: () => { seconds: number; rssMb?: number }): void {
  const results = Array.from({ length: runs }, once);
  const rss = results.map((r) => r.rssMb).filter((v): v is number => v !== undefined);
  process.stdout.write(
    `| ${label} | ${median(results.map((r) => r.seconds)).toFixed(2)} s | ${rss.length ? `${median(rss).toFixed(0)} MB` : "-"} |\n`,
  );
}

process.stdout.write(`botfleet bench (node ${process.version}, median of ${RUNS})\n\n| what | wall | peak RSS |\n|---|---|---|\n`);
for (const bots of SIZES) {
  const dir = mkdtempSync(join(tmpdir(), "botfleet-fleet-"));
  const file = join(dir, "fleet.yaml");
  writeFileSync(file, fleetYaml(bots));
  measure(`app synth, ${bots} bot${bots === 1 ? "" : "s"}`, bots >= 1000 ? 1 : RUNS, () =>
    timed(process.execPath, ["-r", "./scripts/report-rss.js", "-r", "sucrase/register", "main.ts"], { BOTFLEET_CONFIG: file }),
  );
  rmSync(dir, { recursive: true, force: true });
}
measure("`npx cdktf synth`, example fleet", RUNS, () => timed("npx", ["cdktf", "synth", "--output", mkdtempSync(join(tmpdir(), "botfleet-cdktf-"))]));
if (process.env.BENCH_SKIP_TESTS !== "1") measure("`npm test`", 1, () => timed("npm", ["test", "--silent"]));
