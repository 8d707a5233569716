/**
 * Progress of something that takes more than a moment, on stderr (stdout stays for results): on a
 * terminal one line rewritten every second, elsewhere a line at the start and every 15 s.
 */
export class Progress {
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;
  private readonly tty: boolean;

  constructor(
    private text: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = !!out.isTTY;
    this.draw();
    this.timer = setInterval(() => this.draw(), this.tty ? 1000 : 15_000);
  }

  update(text: string): void {
    this.text = text;
  }

  done(text?: string): void {
    clearInterval(this.timer);
    if (this.tty) this.out.write("\r\x1b[2K");
    if (text) this.out.write(`${text}\n`);
  }

  private draw(): void {
    const line = `${this.text} (${Math.round((Date.now() - this.started) / 1000)} s)`;
    this.out.write(this.tty ? `\r\x1b[2K${line}` : `${line}\n`);
  }
}
