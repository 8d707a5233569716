import { createServer, type IncomingMessage, type Server } from "node:http";

/**
 * A stand-in for an OpenAI-compatible chat completions API (no model provider is reachable): each
 * agent turn it is sent gets one scripted call of the agent's shell tool, `exec`, with `command`,
 * then, once the tool's result comes back, a final answer. Streams as the gateway asks (SSE).
 * Request and reply shapes as OpenClaw 2026.9.6 sends and reads them (its `openai-completions`
 * provider API, docs/gateway/local-models.md in the package), measured by running it.
 */
export class ModelStandIn {
  readonly requests: { at: number; body: any }[] = [];
  /** Every tool result the gateway sent back, in order. */
  readonly toolResults: string[] = [];
  private server?: Server;
  private readonly answered = new Set<string>();
  port = 0;

  constructor(private command: string) {}

  /** The `models.providers` entry and model reference a config needs to use this stand-in at `baseUrl`. */
  static provider(baseUrl: string) {
    return {
      ref: "standin/stub-model",
      providers: {
        standin: {
          baseUrl,
          apiKey: "stand-in-key",
          api: "openai-completions",
          models: [{ id: "stub-model", name: "Stand-in", reasoning: false, input: ["text"], cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 128000, maxTokens: 4096 }],
        },
      },
    };
  }

  setCommand(command: string): void {
    this.command = command;
  }

  async start(host: string, port = 0): Promise<number> {
    this.server = createServer((req, res) =>
      this.handle(req, (status, headers, chunks) => {
        res.writeHead(status, headers);
        for (const c of chunks) res.write(c);
        res.end();
      }),
    );
    await new Promise<void>((r) => this.server!.listen(port, host, r));
    this.port = (this.server!.address() as { port: number }).port;
    return this.port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  private handle(req: IncomingMessage, reply: (status: number, headers: Record<string, string>, chunks: string[]) => void): void {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      if (!(req.method === "POST" && req.url?.endsWith("/chat/completions"))) return reply(404, { "content-type": "application/json" }, ['{"error":{"message":"not found"}}']);
      const body = JSON.parse(raw);
      this.requests.push({ at: Date.now(), body });
      const n = this.requests.length;
      const messages: any[] = body.messages ?? [];
      const hasExec = (body.tools ?? []).some((t: any) => t.function?.name === "exec");
      // A tool result not answered yet ends the turn; earlier turns' results ride along in history.
      const result = messages.find((m) => m.role === "tool" && !this.answered.has(m.tool_call_id));
      let delta: any;
      let finish: string;
      if (result) {
        this.answered.add(result.tool_call_id);
        const text = typeof result.content === "string" ? result.content : JSON.stringify(result.content);
        this.toolResults.push(text);
        delta = { role: "assistant", content: `Done: the command printed ${text.length} characters.` };
        finish = "stop";
      } else if (hasExec) {
        delta = { role: "assistant", tool_calls: [{ index: 0, id: `call_${n}`, type: "function", function: { name: "exec", arguments: JSON.stringify({ command: this.command }) } }] };
        finish = "tool_calls";
      } else {
        delta = { role: "assistant", content: "ok" };
        finish = "stop";
      }
      const base = { id: `chatcmpl-${n}`, created: Math.floor(Date.now() / 1000), model: body.model, object: "chat.completion.chunk" };
      const usage = { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 };
      const events = [
        { ...base, choices: [{ index: 0, delta, finish_reason: null }] },
        { ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] },
        { ...base, choices: [], usage },
      ];
      reply(200, { "content-type": "text/event-stream", "cache-control": "no-cache" }, [...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), "data: [DONE]\n\n"]);
    });
  }
}
