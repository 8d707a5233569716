import { Command, CommanderError, Option } from "commander";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { FleetConfigError, loadFleet, DEFAULT_FLEET_FILE, type Fleet } from "../config/load";
import { suggest } from "../config/schema";
import { RUNTIME_DESCRIPTIONS } from "../runtimes";
import type { SecretSpec } from "../runtimes/runtime";
import { askRestore, listSnapshots, parseTime, readStateFiles, snapshotAt, type Snapshot } from "./backups";
import { EXIT, OperationError } from "./errors";
import { printLogs } from "./logs";
import { askPairing, pairingAnswer, pairingChannel, pairingFailure, waitingSenders, type PairingRequest, type PairingResult } from "./pairing";
import { Progress } from "./progress";
import { waitForGate } from "./release-gate";
import { operationsOf } from "./registry";
import { age, fleetStatus, type BotStatus } from "./status";
import type { BotRef } from "./types";

const EXIT_CODES = `
Exit codes:
  0  done
  1  the cloud or the bot refused or failed it
  2  bad arguments, an unknown bot, or a fleet file that does not load
  3  not signed in (Azure: az login; Google Cloud: gcloud auth application-default login)
  4  signed in, but not allowed
  5  nothing there (no such snapshot, no state yet)
  6  still waiting when the time ran out (what was asked stays asked)
  7  the confirmation was declined`;

interface Io {
  readonly out: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
  readonly now: () => Date;
}

/** `botfleet <verb> …`: day-2 operations on the bots of a fleet file. Returns the exit code. */
export async function main(argv: readonly string[], io: Io = { out: (t) => process.stdout.write(t), env: process.env, now: () => new Date() }): Promise<number> {
  const program = new Command("botfleet")
    .description("Day-2 operations on the bots of a fleet file, signed in as Terraform is.")
    .addOption(new Option("--fleet <file>", "the fleet file").default(io.env.BOTFLEET_CONFIG ?? DEFAULT_FLEET_FILE, "$BOTFLEET_CONFIG or fleet.yaml"))
    .addHelpText("after", EXIT_CODES)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: (t) => process.stderr.write(t) });
  const fleetOf = () => loadFleet(program.opts().fleet, io.env);

  program
    .command("status")
    .description("each bot's target, region, release, condition, tool sandbox, last snapshot, last restore drill, restarts and monthly cost")
    .argument("[bots...]", "the bots to show (default: all)")
    .option("--json", "print JSON for scripts")
    .option("--synth-dir <dir>", "where `cdktf synth` wrote the stacks, for the cost", "cdktf.out")
    .addHelpText("after", EXIT_CODES)
    .action(async (names: string[], opts: { json?: boolean; synthDir: string }) => {
      const refs = botsOf(fleetOf(), names);
      const progress = new Progress(`reading the status of ${refs.length === 1 ? refs[0].bot.name : `${refs.length} bots`}`);
      const rows = await fleetStatus(refs, io.env, opts.synthDir).finally(() => progress.done());
      io.out(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : statusTable(rows, io.now()));
    });

  const backups = program.command("backups").description("the snapshots of a bot's state, and restoring one").addHelpText("after", EXIT_CODES);
  backups
    .command("list")
    .description("a bot's snapshots, oldest first; * marks the current one")
    .argument("<bot>")
    .option("--json", "print JSON for scripts")
    .addHelpText("after", EXIT_CODES)
    .action(async (name: string, opts: { json?: boolean }) => {
      const ref = botOf(fleetOf(), name);
      const store = operationsOf(ref.bot.target).store(ref, io.env);
      const [snapshots, { status }] = await Promise.all([listSnapshots(store), readStateFiles(store)]);
      if (opts.json) return io.out(`${JSON.stringify({ bot: name, store: store.describe, snapshots, lastDrill: status?.lastDrill, lastRestore: status?.lastRestore }, null, 2)}\n`);
      io.out(snapshotTable(snapshots, store.describe));
    });
  backups
    .command("restore")
    .description("restore a bot's state as of a time: its state-sync snapshots the current state first, stops the agent, swaps the state in and starts it again")
    .argument("<bot>")
    .addOption(new Option("--at <time>", "the newest snapshot at or before this time: ISO 8601 (UTC unless it names a zone) or back from now (90m, 6h, 2d)").conflicts("snapshot"))
    .addOption(new Option("--snapshot <name>", "this snapshot, as `backups list` names it"))
    .option("--yes", "do not ask for confirmation")
    .option("--no-wait", "ask, and return without waiting for the bot to apply it")
    .option(
      "--at-next-start",
      "apply it when the bot next starts (a deploy, a restart), before its agent starts, not now: for going back to an older agent version, which must never read what a newer one migrated; returns without waiting",
    )
    .option("--release <release>", "with --at-next-start: only when that release starts (the one being deployed back), not at a restart of the one running")
    .option("--timeout <seconds>", "how long to wait for the bot", "600")
    .addHelpText("after", EXIT_CODES)
    .action(async (name: string, opts: { at?: string; snapshot?: string; yes?: boolean; wait: boolean; atNextStart?: boolean; release?: string; timeout: string }) => {
      const ref = botOf(fleetOf(), name);
      if (opts.release && !opts.atNextStart) throw new OperationError("backups restore: --release goes with --at-next-start (a restore now needs no release)", EXIT.usage);
      if (!opts.at && !opts.snapshot) throw new OperationError("backups restore: say which state: --at <time> or --snapshot <name> (botfleet backups list " + name + " shows them)", EXIT.usage);
      const timeoutS = seconds(opts.timeout);
      const at = opts.at ? parseTime(opts.at, io.now()) : undefined;
      const store = operationsOf(ref.bot.target).store(ref, io.env);
      const snapshots = await listSnapshots(store);
      const chosen = at ? snapshotAt(snapshots, at, name) : snapshots.find((s) => s.name === opts.snapshot || s.name === `snapshots/${opts.snapshot}`);
      if (!chosen) throw new OperationError(`${name} has no snapshot ${opts.snapshot} (botfleet backups list ${name} shows them)`, EXIT.notFound);
      if (ref.bot.retired) io.out(`${name} is retired: nothing runs it, so the restore is applied when it runs again.\n`);
      const question = `Restore ${name}'s state to ${chosen.name} (taken ${chosen.time.toISOString()}, ${chosen.bytes} bytes)${chosen.current ? ", the current one" : ""}?${opts.atNextStart ? " At the bot's next start its state becomes that snapshot; the state it had stays in the store's history." : " The agent stops for about a minute; the state as it is now is snapshotted first and stays in the store."}`;
      if (!opts.yes && !(await confirm(question, name))) throw new OperationError("not restored: the confirmation was declined", EXIT.declined);
      const request = await askRestore(store, chosen.name, name, io.now(), opts.atNextStart ? { release: opts.release } : undefined);
      if (opts.atNextStart)
        return io.out(
          `asked ${name}'s state-sync to restore ${chosen.name} at its next start${opts.release ? ` of release ${opts.release}` : ""}, before the agent starts (request ${request.id}); the running one leaves it alone. Deploy or restart ${name} now; botfleet backups list ${name} shows the result.\n`,
        );
      io.out(`asked ${name}'s state-sync to restore ${chosen.name} (request ${request.id})\n`);
      if (!opts.wait) return;
      const progress = new Progress(`waiting for ${name}'s state-sync to apply it (it looks at every snapshot interval, a minute by default)`);
      const deadline = Date.now() + timeoutS * 1000;
      for (;;) {
        const { status } = await readStateFiles(store);
        const result = status?.lastRestore;
        if (result?.id === request.id) {
          progress.done();
          if (!result.ok) throw new OperationError(`${name} refused the restore of ${chosen.name}: ${result.error}. Its state is as it was.`, EXIT.failed);
          io.out(
            `restored ${chosen.name}; ${name}'s agent runs on it again. The state from before is ${result.before ?? "none"}: \`botfleet backups restore ${name} --snapshot ${result.before}\` brings it back.\n`,
          );
          return;
        }
        if (Date.now() >= deadline) {
          progress.done();
          throw new OperationError(
            `${name} did not apply the restore within ${timeoutS} s. The request stays in the store (${store.describe}, botfleet-state/restore.json): its state-sync applies it once it runs and holds the lease. Is the bot running? botfleet status ${name}`,
            EXIT.timedOut,
          );
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
    });

  program
    .command("release")
    .description("a bot's release, as deployed")
    .addHelpText("after", EXIT_CODES)
    .command("wait")
    .description("on Container Apps and Cloud Run, wait for the launcher's health gate on the release deployed: exit 0 when it passed, 1 when it failed (the deploy workflow rolls back on it)")
    .argument("<bot>")
    .requiredOption("--since <time>", "when the deploy started: ISO 8601 (UTC unless it names a zone) or back from now (10m)")
    .option("--timeout <seconds>", "how long to wait for the gate", "900")
    .addHelpText("after", EXIT_CODES)
    .action(async (name: string, opts: { since: string; timeout: string }) => {
      const ref = botOf(fleetOf(), name);
      const ops = operationsOf(ref.bot.target);
      // A VM's updater gates every release and rolls back by itself, image and state too.
      if (ops.conditionReported) return io.out(`${name}: its VM's updater gates each release and rolls back by itself, its image and state too (docs/day-2.md); nothing to wait for here\n`);
      const since = parseTime(opts.since, io.now(), "--since");
      const progress = new Progress(`waiting for ${name}'s health gate`);
      const verdict = await waitForGate(ref, ops, io.env, { since, timeoutMs: seconds(opts.timeout) * 1000 }).finally(() => progress.done());
      if (verdict.healthy) return io.out(`${name}: release ${verdict.release} HEALTHY (${verdict.line.time.toISOString()}): ${verdict.line.text}\n`);
      throw new OperationError(`${name}: release ${verdict.release} FAILED its health gate: ${verdict.line.text}${verdict.rolledBack ? `\n${verdict.rolledBack.text}` : ""}`, EXIT.failed);
    });

  const secrets = program.command("secrets").description("a bot's secrets: which are set and since when, and setting one (never shown)").addHelpText("after", EXIT_CODES);
  secrets
    .command("list")
    .description("each secret the bot's runtime reads: where it lives, how many values it has had, and when the current one was set; never a value")
    .argument("<bot>")
    .option("--json", "print JSON for scripts")
    .addHelpText("after", EXIT_CODES)
    .action(async (name: string, opts: { json?: boolean }) => {
      const ref = botOf(fleetOf(), name);
      const where = operationsOf(ref.bot.target).secrets(ref, io.env);
      const list = await where.list(secretSpecsOf(ref));
      if (opts.json) return io.out(`${JSON.stringify({ bot: name, where: where.describe, secrets: list }, null, 2)}\n`);
      io.out(
        table([
          ["KEY", "NAME", "READ AS", "REQUIRED", "VALUES", "CURRENT SET"],
          ...list.map((s) => [s.key, s.name, s.env, s.required ? "yes" : "no", String(s.versions), s.lastSet ? `${s.lastSet.toISOString()} (${age(s.lastSet.toISOString(), io.now())})` : "not set"]),
        ]) + `in ${where.describe}\n`,
      );
    });
  secrets
    .command("set")
    .description("set a secret to a new value, read from --file or stdin (a prompt that does not echo on a terminal), never from an argument")
    .argument("<bot>")
    .argument("<key>", "the secret's key, as `secrets list` shows it (telegram-bot-token, llm-api-key, ...)")
    .option("--file <path>", "read the value from this file (one trailing newline dropped)")
    .option("--generate", "a new random value (48 letters and digits), as Terraform generates the gateway token")
    .option("--no-restart", "do not restart the bot: it reads the new value when it next starts")
    .option("--timeout <seconds>", "how long to wait for the restart", "600")
    .addHelpText("after", EXIT_CODES)
    .action(async (name: string, key: string, opts: { file?: string; generate?: boolean; restart: boolean; timeout: string }) => {
      const ref = botOf(fleetOf(), name);
      const specs = secretSpecsOf(ref);
      const spec = specs.find((s) => s.key === key);
      if (!spec)
        throw new OperationError(
          `${name} has no secret "${key}"${suggest(
            key,
            specs.map((s) => s.key),
          )} (its secrets: ${specs.map((s) => s.key).join(", ")})`,
          EXIT.usage,
        );
      if (opts.file && opts.generate) throw new OperationError("secrets set: give --file or --generate, not both", EXIT.usage);
      const value = opts.generate ? randomValue() : await readSecretValue(opts.file, `${name} ${key}: `);
      if (!value) throw new OperationError(`secrets set: the value of ${key} is empty; nothing was set`, EXIT.usage);
      const where = operationsOf(ref.bot.target).secrets(ref, io.env);
      const { version } = await where.set(spec, value);
      io.out(`set ${key} of ${name} in ${where.describe} (version ${version})\n`);
      if (!opts.restart) return io.out(`${name} reads it when it next starts (botfleet restart ${name})\n`);
      try {
        await restartBot(ref, io, true, seconds(opts.timeout));
      } catch (e) {
        // Set all the same: say what is left to do, and fail only for what failed.
        throw new OperationError(`the new value is set, but ${name} was not restarted: ${(e as Error).message}`, e instanceof OperationError ? e.exitCode : EXIT.failed);
      }
    });

  program
    .command("restart")
    .description("restart a bot's agent, which reads every secret again (a VM: its updater within a minute, a snapshot first; Container Apps: its latest revision; Cloud Run: a new revision)")
    .argument("<bot>")
    .option("--no-wait", "ask, and return without waiting for the bot")
    .option("--timeout <seconds>", "how long to wait for the bot", "600")
    .addHelpText("after", EXIT_CODES)
    .action(async (name: string, opts: { wait: boolean; timeout: string }) => {
      await restartBot(botOf(fleetOf(), name), io, opts.wait, seconds(opts.timeout));
    });

  program
    .command("logs")
    .description("a bot's agent's log lines from its cloud's log service (Log Analytics on Azure, Cloud Logging on Google Cloud), oldest first")
    .argument("<bot>")
    .option("--since <time>", "lines written from then on: ISO 8601 or back from now (90m, 6h, 2d)", "1h")
    .option("-n, --lines <count>", "at most this many, the newest", "200")
    .option("-f, --follow", "keep printing new lines until stopped (Ctrl-C); the log services take lines in a minute or more after they are written")
    .option("--every <seconds>", "how often --follow asks for new lines", "10")
    .option("--all", "every line of the bot, each with what wrote it: botfleet's own too (state-sync; on a VM its updater, Caddy, the kernel's warnings), on Cloud Run the platform's")
    .option("--json", "one JSON object a line: time, source, text")
    .addHelpText("after", EXIT_CODES)
    .action(async (name: string, opts: { since: string; lines: string; follow?: boolean; every: string; all?: boolean; json?: boolean }) => {
      const ref = botOf(fleetOf(), name);
      const limit = Number(opts.lines);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new OperationError(`--lines "${opts.lines}" is not a whole number from 1 to 10000`, EXIT.usage);
      const since = parseTime(opts.since, io.now(), "--since");
      const printed = await printLogs(
        operationsOf(ref.bot.target),
        ref,
        io.env,
        { since, all: !!opts.all, limit, follow: !!opts.follow, everyS: seconds(opts.every, "--every"), json: !!opts.json },
        io.out,
      );
      if (!printed) process.stderr.write(`no log lines of ${name} written since ${since.toISOString()} have reached its log service (they take a minute or more to)\n`);
    });

  const pairing = program.command("pairing").description("DM pairing: the senders waiting for approval, and approving one by the code the bot sent them").addHelpText("after", EXIT_CODES);
  /** Asks for a pairing action and waits for the bot's answer. */
  const paired = async (ref: BotRef, action: PairingRequest["action"], channel: string, timeoutS: number, code?: string): Promise<PairingResult> => {
    const store = operationsOf(ref.bot.target).store(ref, io.env);
    const request = await askPairing(store, action, channel, code);
    const progress = new Progress(`waiting for ${ref.bot.name} to run it (its state-sync looks every snapshot interval, a minute by default)`);
    try {
      for (const deadline = Date.now() + timeoutS * 1000; ; await new Promise((r) => setTimeout(r, 2000))) {
        const result = await pairingAnswer(store, request);
        if (result?.ok) return result;
        if (result) throw new OperationError(`${ref.bot.name}: ${pairingFailure(result)}`, EXIT.failed);
        if (Date.now() >= deadline)
          throw new OperationError(
            `${ref.bot.name} did not answer within ${timeoutS} s. The request stays in the store (${store.describe}, botfleet-state/pairing.json) until its state-sync runs it. Is the bot running? botfleet status ${ref.bot.name}`,
            EXIT.timedOut,
          );
      }
    } finally {
      progress.done();
    }
  };
  pairing
    .command("list")
    .description("the senders waiting for approval on a channel whose DMs need pairing, with their codes")
    .argument("<bot>")
    .option("--channel <channel>", "the channel (default: the bot's only one whose dmPolicy is pairing)")
    .option("--json", "print JSON for scripts")
    .option("--timeout <seconds>", "how long to wait for the bot", "300")
    .addHelpText("after", EXIT_CODES)
    .action(async (name: string, opts: { channel?: string; json?: boolean; timeout: string }) => {
      const ref = botOf(fleetOf(), name);
      const channel = pairingChannel(ref, opts.channel);
      const waiting = waitingSenders((await paired(ref, "list", channel, seconds(opts.timeout))).stdout ?? "");
      if (opts.json) return io.out(`${JSON.stringify({ bot: name, channel, requests: waiting }, null, 2)}\n`);
      if (!waiting.length) return io.out(`no one is waiting for approval on ${name}'s ${channel}\n`);
      io.out(
        table([["CODE", "SENDER", "NAME", "ASKED (UTC)"], ...waiting.map((w) => [w.code, String(w.meta?.senderId ?? w.id), String(w.meta?.username ?? w.meta?.name ?? ""), w.createdAt ?? ""])]) +
          `approve one with: npx botfleet pairing approve ${name} <code>\n`,
      );
    });
  pairing
    .command("approve")
    .description("approve the sender who got this code from the bot: they may DM it from now on")
    .argument("<bot>")
    .argument("<code>", "the code the bot sent the sender (pairing list shows the waiting ones)")
    .option("--channel <channel>", "the channel (default: the bot's only one whose dmPolicy is pairing)")
    .option("--timeout <seconds>", "how long to wait for the bot", "300")
    .addHelpText("after", EXIT_CODES)
    .action(async (name: string, code: string, opts: { channel?: string; timeout: string }) => {
      const ref = botOf(fleetOf(), name);
      const channel = pairingChannel(ref, opts.channel);
      if (!/^[A-Za-z0-9-]{1,32}$/.test(code)) throw new OperationError(`"${code}" is not a pairing code: letters, digits and dashes, as the bot sent it`, EXIT.usage);
      const result = await paired(ref, "approve", channel, seconds(opts.timeout), code);
      io.out(`${(result.stdout ?? "").trim() || `approved ${code} on ${name}'s ${channel}`}\n`);
    });

  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const err = e instanceof OperationError ? e : e instanceof FleetConfigError ? new OperationError(e.message, EXIT.usage) : new OperationError((e as Error).stack ?? String(e));
    process.stderr.write(`botfleet: ${err.message}\n`);
    return err.exitCode;
  }
}

function seconds(text: string, option = "--timeout"): number {
  const n = Number(text);
  if (!(n > 0)) throw new OperationError(`${option} "${text}" is not a number of seconds above 0`, EXIT.usage);
  return n;
}

/** Restarts the bot's agent and, when the bot applies it itself, waits until it has (and is healthy). */
async function restartBot(ref: BotRef, io: Io, wait: boolean, timeoutS: number): Promise<void> {
  const name = ref.bot.name;
  const ops = operationsOf(ref.bot.target);
  const asked = await ops.restart(ref, io.env, ops.store(ref, io.env));
  io.out(`${asked.said}\n`);
  if (!asked.applied || !wait) return;
  const progress = new Progress(`waiting for ${name} to restart`);
  const deadline = Date.now() + timeoutS * 1000;
  try {
    for (;;) {
      const result = await asked.applied();
      if (result?.ok) return io.out(`${name} restarted, and is healthy\n`);
      if (result) throw new OperationError(`${name} restarted, but is not healthy after it${result.why ? ` (${result.why})` : ""}: botfleet status ${name}`, EXIT.failed);
      if (Date.now() >= deadline)
        throw new OperationError(`${name} did not restart within ${timeoutS} s; the request stays and is applied when its updater runs. botfleet status ${name}`, EXIT.timedOut);
      await new Promise((r) => setTimeout(r, 3000));
    }
  } finally {
    progress.done();
  }
}

/** The secrets the bot's runtime reads (runtimes/<runtime>.ts). */
function secretSpecsOf({ bot }: BotRef): SecretSpec[] {
  return RUNTIME_DESCRIPTIONS[bot.runtime].secrets(bot);
}

function randomValue(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(48), (b) => alphabet[b % alphabet.length]).join("");
}

/** A secret's value: from a file, from a prompt that does not echo, or from piped stdin; one trailing newline dropped. */
async function readSecretValue(file: string | undefined, prompt: string): Promise<string> {
  const strip = (text: string) => text.replace(/\r?\n$/, "");
  if (file) {
    try {
      return strip(readFileSync(file, "utf8"));
    } catch (e) {
      throw new OperationError(`--file ${file}: ${(e as Error).message}`, EXIT.usage);
    }
  }
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(chunk as Buffer);
    return strip(Buffer.concat(chunks).toString("utf8"));
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  let value = "";
  try {
    for await (const chunk of stdin) {
      for (const ch of (chunk as Buffer).toString("utf8")) {
        if (ch === "\r" || ch === "\n") return value;
        if (ch === "\u0003") throw new OperationError("secrets set: interrupted; nothing was set", EXIT.declined);
        value = ch === "\u007f" ? value.slice(0, -1) : value + ch;
      }
    }
    return value;
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write("\n");
  }
}

function botOf(fleet: Fleet, name: string): BotRef {
  const bot = fleet.bots.find((b) => b.name === name);
  if (!bot) {
    const names = fleet.bots.map((b) => b.name);
    throw new OperationError(`no bot "${name}" in the fleet ${fleet.name}${suggest(name, names)} (its bots: ${names.join(", ")})`, EXIT.usage);
  }
  return { fleet, bot };
}

function botsOf(fleet: Fleet, names: readonly string[]): BotRef[] {
  return names.length ? names.map((n) => botOf(fleet, n)) : fleet.bots.map((bot) => ({ fleet, bot }));
}

async function confirm(question: string, expected: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new OperationError(`${question}\nNot asked: stdin is not a terminal. Add --yes to go on without asking.`, EXIT.usage);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(`${question}\nType the bot's name (${expected}) to go on: `)).trim() === expected;
  } finally {
    rl.close();
  }
}

/** Rows of cells as aligned columns. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...r[i]].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i] - [...c].length))).join("  ")).join("\n") + "\n";
}

function statusTable(rows: readonly BotStatus[], now: Date): string {
  const head = ["BOT", "TARGET", "REGION", "RELEASE", "CONDITION", "SANDBOX", "STATE", "SNAPSHOT", "DRILL", "RESTARTS", "COST/MONTH"];
  const body = rows.map((r) => {
    const p = r.platform;
    const release = p.running ? (p.desired && p.desired !== p.running ? `${p.running} -> ${p.desired}` : p.running) : "-";
    const drill = r.state?.lastDrill ? `${r.state.lastDrill.ok ? "ok" : "FAILED"} ${age(r.state.lastDrill.time, now)}` : "-";
    return [
      r.bot,
      r.target,
      r.region,
      release,
      r.retired ? "retired" : (p.condition?.state ?? p.phase ?? "-"),
      r.sandbox,
      r.state?.phase ?? "-",
      r.state?.lastSnapshot ? age(r.state.lastSnapshot.time, now) : "never",
      drill,
      p.memoryRestarts === undefined ? "-" : String(p.memoryRestarts),
      r.monthlyCost === undefined ? "-" : `$${r.monthlyCost.toFixed(2)}`,
    ];
  });
  const notes = rows.flatMap((r) => [
    ...(r.platform.condition?.reasons ?? []).map((why) => `${r.bot}: ${r.platform.condition!.state}: ${why}`),
    ...(r.platform.phase && r.platform.phase !== "running" && r.platform.detail ? [`${r.bot}: ${r.platform.phase}: ${r.platform.detail}`] : []),
    ...(r.state?.lastDrill && !r.state.lastDrill.ok ? [`${r.bot}: the last restore drill failed: ${r.state.lastDrill.error}`] : []),
    ...(r.platform.unknown ? [`${r.bot}: ${r.platform.unknown}`] : []),
    ...r.errors.map((e) => `${r.bot}: ${e}`),
  ]);
  return table([head, ...body]) + (notes.length ? `\n${notes.join("\n")}\n` : "");
}

function snapshotTable(snapshots: readonly Snapshot[], where: string): string {
  if (!snapshots.length) return `no snapshots in ${where} yet\n`;
  return table([["", "SNAPSHOT", "TAKEN (UTC)", "BYTES"], ...snapshots.map((s) => [s.current ? "*" : "", s.name, s.time.toISOString(), String(s.bytes)])]);
}
