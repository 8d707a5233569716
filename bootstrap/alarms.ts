import { NOT_READY_MINUTES, type LogSignals } from "../runtimes/runtime";

/** Where each alarm's runbook is: what it means, what to look at, what to run. */
export const RUNBOOKS = "docs/runbooks.md";

/**
 * A condition a person has to act on, told by a bot's log lines. Each target turns it into its
 * cloud's alert (a log query on Azure, a log-match policy on Google Cloud) with the same ID.
 */
export interface LogAlarm {
  /** Stable: the alert's construct ID and its runbook's anchor. */
  readonly id: string;
  readonly title: string;
  /** What it means for the bot, in a sentence. */
  readonly description: string;
  /** A line holding any of these (case-sensitive where the query language allows) counts. */
  readonly patterns: readonly string[];
  /** Lines within `windowMinutes` that alert, where the target counts (Azure log queries). */
  readonly threshold: number;
  readonly windowMinutes: number;
}

export const runbookOf = (alarm: Pick<LogAlarm, "id">) => `${RUNBOOKS}#${alarm.id}`;

/** The state engine's own lines (state-sync/state-sync.mjs), the same on every target. */
const STATE_ALARMS: readonly LogAlarm[] = [
  {
    id: "lease-lost",
    title: "state lease lost",
    description: "An instance lost the lease on the bot's state (another instance holds it, or the store refused renewals): its agent was stopped so that two never write",
    patterns: ["state-sync: LEASE LOST"],
    threshold: 1,
    windowMinutes: 15,
  },
  {
    id: "snapshots-failing",
    title: "state snapshots failing",
    description: "State snapshots are failing or a snapshot was refused at restore: what the bot learns since the last good snapshot is not durable",
    patterns: ["state-sync: snapshot failed", "state-sync: final snapshot failed", "state-sync: REFUSED snapshot", "state-sync: FATAL"],
    threshold: 1,
    windowMinutes: 15,
  },
  {
    id: "restore-drill-failed",
    title: "restore drill failed",
    description: "The snapshot the pointer names did not restore off to the side (missing, damaged, or a database failing its check): a restore now would fall back to an older one",
    patterns: ["state-sync: RESTORE DRILL FAILED"],
    threshold: 1,
    windowMinutes: 60,
  },
];

/**
 * botfleet's own lines on the managed targets (templates/container/launch.sh and state-sync print
 * them; __tests__/alarms.test.ts keeps them in step). Each means one thing is wrong that no
 * restart fixes, so one line alerts.
 */
export const MANAGED_BOTFLEET_ALARMS: readonly LogAlarm[] = [
  {
    id: "config-refused",
    title: "config refused",
    description: "A new revision's config was refused by the runtime's own check: it never started, and the running revision keeps the previous config",
    patterns: ["botfleet: CONFIG REFUSED"],
    threshold: 1,
    windowMinutes: 15,
  },
  {
    id: "update-failed",
    title: "release rolled back",
    description:
      "A new revision's agent did not pass the launcher's health gate (it never answered, or it exited) and runs the last good release's config instead: the fleet file's change is not in effect",
    patterns: ["botfleet: RELEASE FAILED", "botfleet: ROLLED BACK"],
    threshold: 1,
    windowMinutes: 15,
  },
  {
    id: "not-ready",
    title: "bot not ready",
    description: `The bot has not been ready for ${NOT_READY_MINUTES} minutes: it waits for a secret, or for its state (state-sync holds no lease)`,
    patterns: ["botfleet: NOT READY for"],
    threshold: 1,
    windowMinutes: 15,
  },
  {
    id: "memory-restarts",
    title: "agent memory restarts",
    description: "The container used most of its memory limit for minutes and the launcher restarted the agent gracefully, snapshot first: once is a busy hour, again and again is a leak",
    patterns: ["botfleet: memory: RESTARTED"],
    threshold: 1,
    windowMinutes: 60,
  },
  // The launcher stops the agent too when state-sync no longer proves the lease.
  ...STATE_ALARMS.map((a) => (a.id === "lease-lost" ? { ...a, patterns: ["botfleet: LEASE NOT HELD", ...a.patterns] } : a)),
];

/**
 * botfleet's own lines on a VM (templates/vm, through the journal's syslog), and systemd's when it
 * restarts the agent's unit ("<unit>: Scheduled restart job, restart counter is at N.", which the
 * container suite's VM shows).
 */
export function vmBotfleetAlarms(thresholds: { restartThreshold: number }): LogAlarm[] {
  return [
    {
      id: "update-failed",
      title: "update rolled back",
      description: "A deployed release failed on the VM (its files, the runtime's config check or the health gate) and was rolled back: the bot runs the previous release",
      patterns: ["botfleet: update: ROLLED BACK", "botfleet: update: release "],
      threshold: 1,
      windowMinutes: 15,
    },
    {
      id: "not-ready",
      title: "bot not ready",
      description: `The bot has not been ready for ${NOT_READY_MINUTES} minutes (its status's condition: waiting for a secret, or degraded, with the reasons)`,
      patterns: ["botfleet: NOT READY for"],
      threshold: 1,
      windowMinutes: 15,
    },
    {
      id: "sandbox-off",
      title: "tool sandbox off",
      description: "The tool sandbox could not start, so the agent's tools run inside its own container until the hourly retry succeeds",
      patterns: ["botfleet: sandbox: DEGRADED"],
      threshold: 1,
      windowMinutes: 60,
    },
    {
      id: "memory-restarts",
      title: "agent memory restarts",
      description: "The agent used most of its memory limit for minutes and was restarted gracefully, snapshot first: once is a busy hour, again and again is a leak",
      patterns: ["botfleet: memory: RESTARTED"],
      threshold: 1,
      windowMinutes: 60,
    },
    {
      id: "vm-reimaged",
      title: "VM repaired or reimaged",
      description:
        "The VM started on a new OS disk: the scale set repaired it after its health probe failed for the grace period, or someone reimaged it; the bot restored its state from the last snapshot",
      patterns: ["botfleet: update: REIMAGED"],
      threshold: 1,
      windowMinutes: 60,
    },
    {
      id: "agent-restarts",
      title: "agent restarts",
      description: "systemd keeps restarting the agent's unit (a crash, the memory limit, a gateway that exits)",
      patterns: ["botfleet-agent.service: Scheduled restart job"],
      threshold: thresholds.restartThreshold,
      windowMinutes: 15,
    },
    ...STATE_ALARMS,
  ];
}

/**
 * The runtime's own lines (its `logSignals`); a runtime without such lines gets no such alarm.
 * Thresholds count lines in the window where the target counts (Azure).
 */
export function runtimeAlarms(signals: LogSignals, thresholds = { authFailureThreshold: 1, disconnectThreshold: 1 }): LogAlarm[] {
  const alarms: LogAlarm[] = [
    {
      id: "auth-failures",
      title: "gateway auth failures",
      description: "Clients are failing the gateway's token check (a leaked URL or a guessing attempt)",
      patterns: signals.authFailure,
      threshold: thresholds.authFailureThreshold,
      windowMinutes: 15,
    },
    {
      id: "channel-disconnects",
      title: "channel disconnects",
      description: "A chat channel keeps losing its connection (another poller on the token, a revoked token)",
      patterns: signals.channelDisconnect,
      threshold: thresholds.disconnectThreshold,
      windowMinutes: 15,
    },
  ];
  return alarms.filter((a) => a.patterns.length > 0);
}
