import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { connect as tlsConnect } from "node:tls";
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

/**
 * The rendered Caddyfile for a test: its ports moved to `httpPort` and `httpsPort`, the admin API
 * off, and Caddy's local CA instead of Let's Encrypt (no network).
 */
export function testCaddyfile(rendered: string, httpPort: number, httpsPort: number): string {
  return rendered
    .replace("{\n\tservers {", `{\n\tadmin off\n\thttp_port ${httpPort}\n\thttps_port ${httpsPort}\n\tlocal_certs\n\tskip_install_trust\n\tservers {`)
    .replace(/^:80 \{/m, `:${httpPort} {`);
}

/**
 * The real caddy with `caddyfile`, its state in a scratch directory; returns once it serves and,
 * for each name in `certificatesFor`, once a TLS handshake for that name succeeds on the file's
 * `https_port`. Caddy logs "serving initial configuration" before it obtains any certificate, and
 * until it has one it answers a handshake with an internal-error alert.
 */
export async function startCaddy(caddyfile: string, { certificatesFor = [] as string[] } = {}): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), "botfleet-caddy-"));
  const file = join(dir, "Caddyfile");
  writeFileSync(file, caddyfile);
  const httpsPort = Number(/^\thttps_port (\d+)$/m.exec(caddyfile)?.[1]);
  if (certificatesFor.length && !httpsPort) throw new Error("startCaddy: certificatesFor needs an https_port in the Caddyfile's global options");
  const caddy = spawn("caddy", ["run", "--adapter", "caddyfile", "--config", file], {
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  caddy.stderr!.on("data", (d) => (log += d));
  const pending = new Set(certificatesFor);
  for (const deadline = Date.now() + 30000; Date.now() < deadline;) {
    if (caddy.exitCode !== null) throw new Error(`caddy exited: ${log}`);
    if (log.includes("serving initial configuration")) {
      for (const name of pending) if (await handshakes(httpsPort, name)) pending.delete(name);
      if (!pending.size) return caddy;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  caddy.kill("SIGKILL");
  throw new Error(`caddy did not start${pending.size ? ` (no certificate for ${[...pending].join(", ")})` : ""}: ${log}`);
}

/** Whether a TLS handshake for `servername` on loopback `port` completes (any certificate). */
function handshakes(port: number, servername: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: "127.0.0.1", port, servername, rejectUnauthorized: false });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once("secureConnect", () => done(true));
    s.once("error", () => done(false));
    s.setTimeout(2000, () => done(false));
  });
}
