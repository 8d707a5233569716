import type { IncomingMessage, ServerResponse } from "node:http";

/** One getUpdates long poll, as the Bot API saw it. */
export interface Poll {
  readonly token: string;
  /** The caller's address (a VM, or a container's platform address). */
  readonly from: string;
  readonly start: number;
  end?: number;
  /** "empty": answered (at its timeout, or at once with the messages waiting); "conflict": ended by a newer poll with 409. */
  outcome?: "empty" | "conflict" | "closed";
}

const CONFLICT = {
  ok: false,
  error_code: 409,
  description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
};

/**
 * A stand-in for the Telegram Bot API (api.telegram.org) as a polling bot uses it: getMe, webhook
 * and command calls succeed; getUpdates is a long poll held until its timeout and answered with no
 * updates, and, as the real API does, a second getUpdates for the same token ends the one in
 * progress with 409 Conflict. Every poll is recorded, so a test can prove one poller per token.
 */
export class TelegramStandIn {
  readonly polls: Poll[] = [];
  readonly calls: { token: string; method: string; from: string; at: number }[] = [];
  /** What the bot sent (sendMessage), in order. */
  readonly sent: { token: string; chatId: string; text: string }[] = [];
  private readonly active = new Map<string, { poll: Poll; res: ServerResponse; timer: NodeJS.Timeout; send: (status: number, body: unknown) => void }>();
  /** Updates for each token not yet confirmed by a getUpdates offset past them. */
  private readonly pending = new Map<string, { update_id: number }[]>();
  private nextUpdate = 5000;

  /**
   * A user's private message to the bot, as the Bot API hands it over: in the poll in progress at
   * once, else in the next; until the bot confirms it with a later offset it comes again.
   */
  message(token: string, from: { id: number; username: string }, text: string): void {
    const id = this.nextUpdate++;
    const user = { id: from.id, is_bot: false, first_name: from.username, username: from.username };
    const update = {
      update_id: id,
      message: { message_id: id, date: Math.floor(Date.now() / 1000), chat: { id: from.id, type: "private", first_name: from.username, username: from.username }, from: user, text },
    };
    this.pending.set(token, [...(this.pending.get(token) ?? []), update]);
    const current = this.active.get(token);
    if (!current) return;
    clearTimeout(current.timer);
    this.active.delete(token);
    current.poll.end = Date.now();
    current.poll.outcome = "empty";
    current.send(200, { ok: true, result: this.pending.get(token) });
  }

  /** Polls of `token` that overlapped in time, coming from two different callers. */
  overlaps(token: string): [Poll, Poll][] {
    const polls = this.polls.filter((p) => p.token === token);
    const out: [Poll, Poll][] = [];
    for (const a of polls) for (const b of polls) if (a.start < b.start && a.from !== b.from && (a.end ?? Infinity) > b.start) out.push([a, b]);
    return out;
  }

  conflicts(token: string): number {
    return this.polls.filter((p) => p.token === token && p.outcome === "conflict").length;
  }

  pollers(token: string): string[] {
    return [...new Set(this.polls.filter((p) => p.token === token).map((p) => p.from))];
  }

  /**
   * Another instance polling `token` for `ms` (a copy of the bot on a laptop, say): every 2 s a
   * getUpdates from `from`, which ends the poll in progress with 409 Conflict as the real API does.
   */
  secondPoller(token: string, ms: number, from = "203.0.113.9"): Promise<void> {
    return new Promise((resolve) => {
      const every = setInterval(() => {
        const now = Date.now();
        this.polls.push({ token, from, start: now, end: now, outcome: "empty" });
        this.endActive(token);
      }, 2000);
      setTimeout(() => {
        clearInterval(every);
        resolve();
      }, ms);
    });
  }

  /** Ends the poll in progress for `token` with 409 Conflict: a newer getUpdates came. */
  private endActive(token: string): void {
    const current = this.active.get(token);
    if (!current) return;
    clearTimeout(current.timer);
    current.poll.end = Date.now();
    current.poll.outcome = "conflict";
    this.active.delete(token);
    if (!current.res.writableEnded) {
      current.res.writeHead(409, { "content-type": "application/json" });
      current.res.end(JSON.stringify(CONFLICT));
    }
  }

  stop(): void {
    for (const { timer, res } of this.active.values()) {
      clearTimeout(timer);
      res.destroy();
    }
    this.active.clear();
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "https://api.telegram.org");
      const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
      const send = (status: number, body: unknown) => {
        if (res.writableEnded || res.destroyed) return;
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (!m) return send(404, { ok: false, error_code: 404, description: "Not Found" });
      const [, token, method] = m;
      const from = req.socket.remoteAddress ?? "";
      this.calls.push({ token, method, from, at: Date.now() });
      const params = { ...Object.fromEntries(url.searchParams), ...parseBody(raw, req.headers["content-type"]) };
      switch (method) {
        case "getMe":
          return send(200, { ok: true, result: { id: Number(token.split(":")[0]) || 1, is_bot: true, first_name: "botfleet test", username: "botfleet_test_bot", can_join_groups: true } });
        case "getUpdates":
          return this.poll(token, from, Number(params.timeout ?? 0), res, send, Number(params.offset ?? 0));
        case "getWebhookInfo":
          return send(200, { ok: true, result: { url: "", has_custom_certificate: false, pending_update_count: 0 } });
        case "sendMessage":
          this.sent.push({ token, chatId: String(params.chat_id), text: String(params.text ?? "") });
          return send(200, { ok: true, result: { message_id: this.nextUpdate++, date: Math.floor(Date.now() / 1000), chat: { id: Number(params.chat_id), type: "private" }, text: params.text } });
        default:
          return send(200, { ok: true, result: true });
      }
    });
  }

  private poll(token: string, from: string, timeoutSeconds: number, res: ServerResponse, send: (status: number, body: unknown) => void, offset = 0): void {
    this.endActive(token);
    const poll: Poll = { token, from, start: Date.now() };
    this.polls.push(poll);
    const waiting = (this.pending.get(token) ?? []).filter((u) => u.update_id >= offset);
    this.pending.set(token, waiting);
    if (waiting.length) {
      poll.end = Date.now();
      poll.outcome = "empty";
      return send(200, { ok: true, result: waiting });
    }
    const finish = () => {
      if (this.active.get(token)?.poll === poll) this.active.delete(token);
      poll.end ??= Date.now();
      poll.outcome ??= "empty";
      send(200, { ok: true, result: [] });
    };
    const timer = setTimeout(finish, Math.min(Math.max(timeoutSeconds, 0), 25) * 1000);
    res.on("close", () => {
      if (poll.end === undefined) {
        poll.end = Date.now();
        poll.outcome = "closed";
        clearTimeout(timer);
        if (this.active.get(token)?.poll === poll) this.active.delete(token);
      }
    });
    this.active.set(token, { poll, res, timer, send });
  }
}

function parseBody(raw: string, type: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  try {
    if (type?.includes("json")) return JSON.parse(raw);
    if (type?.includes("x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(raw));
  } catch {
    // the methods answered here need no body
  }
  return {};
}
