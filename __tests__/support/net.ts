import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The real caddy with `caddyfile`, its state in a scratch directory; returns once it serves. */
export async function startCaddy(caddyfile: string): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), "botfleet-caddy-"));
  const file = join(dir, "Caddyfile");
  writeFileSync(file, caddyfile);
  const caddy = spawn("caddy", ["run", "--adapter", "caddyfile", "--config", file], {
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  caddy.stderr!.on("data", (d) => (log += d));
  for (let i = 0; i < 200; i++) {
    if (log.includes("serving initial configuration")) return caddy;
    if (caddy.exitCode !== null) throw new Error(`caddy exited: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`caddy did not start: ${log}`);
}
