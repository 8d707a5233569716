// Agent stand-in for the state-sync suite (Node 24): writes to a WAL-mode SQLite database as fast
// as it can (or at most argv[3] rows a second), one row per transaction (seq, wall-clock ms), plus
// a workspace file now and then, the way a gateway keeps sessions. Continues from the highest seq.
import { DatabaseSync } from "node:sqlite";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
// Rows a second at most (argv[3]); as fast as it can without.
const perSecond = Number(process.argv[3] ?? Infinity);
const started = Date.now();
mkdirSync(join(dir, "state"), { recursive: true });
mkdirSync(join(dir, "workspace"), { recursive: true });
const db = new DatabaseSync(join(dir, "state", "agent.sqlite"), { timeout: 10_000 });
db.exec("PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, t INTEGER NOT NULL, payload BLOB NOT NULL)");
const insert = db.prepare("INSERT INTO events (seq, t, payload) VALUES (?, ?, randomblob(200))");
let seq = db.prepare("SELECT coalesce(max(seq), 0) AS m FROM events").get().m;
const first = seq;
process.on("SIGTERM", () => {
  db.close();
  process.exit(0);
});
for (;;) {
  insert.run(++seq, Date.now());
  if (seq % 200 === 0) writeFileSync(join(dir, "workspace", "MEMORY.md"), `seq ${seq}\n`);
  if (seq % 20 === 0) await new Promise((r) => setTimeout(r, 1));
  while (seq - first >= ((Date.now() - started) / 1000) * perSecond) await new Promise((r) => setTimeout(r, 20));
}
