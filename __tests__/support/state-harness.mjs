// Store-side helpers of the state-sync suite, run under Node 24 with NODE_EXTRA_CA_CERTS set to
// the test's throwaway certificate. Usage: state-harness.mjs <command> <args...>; prints JSON.
import { DatabaseSync } from "node:sqlite";
import { createHash } from "node:crypto";
import { gzipSync, gunzipSync } from "node:zlib";
import { tarPack, tarUnpack } from "../../state-sync/state-sync.mjs";

/** An Entra-shaped access token for storage, as Azurite's basic OAuth mode checks it (unsigned). */
function jwt() {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "RS256", typ: "JWT" })}.${b64({ aud: "https://storage.azure.com", iss: "https://sts.windows.net/00000000-0000-0000-0000-000000000001/", iat: now - 60, nbf: now - 60, exp: now + 3600, oid: "11111111-1111-1111-1111-111111111111" })}.c2ln`;
}
const headers = (extra = {}) => ({ Authorization: `Bearer ${jwt()}`, "x-ms-version": "2023-11-03", ...extra });

const [command, base, ...args] = process.argv.slice(2);
const blob = (name) => `${base}/botfleet-state/${name}`;
let out;
if (command === "create-container") {
  const r = await fetch(`${base}?restype=container`, { method: "PUT", headers: headers() });
  out = { status: r.status };
} else if (command === "pointer") {
  const r = await fetch(blob("pointer.json"), { headers: headers() });
  out = r.status === 200 ? JSON.parse((await r.text()) || "{}") : { status: r.status };
} else if (command === "rows") {
  // Row count and newest row of the database inside the pointer's snapshot.
  const p = await (await fetch(blob("pointer.json"), { headers: headers() })).json();
  const body = Buffer.from(await (await fetch(blob(p.snapshot), { headers: headers() })).arrayBuffer());
  const db = (await tarUnpack(gunzipSync(body))).find((e) => e.name === "state/agent.sqlite");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(args[0], db.data);
  const d = new DatabaseSync(args[0]);
  out = d.prepare("SELECT count(*) AS n, max(seq) AS max, max(t) AS t FROM events").get();
} else if (command === "corrupt-latest") {
  // A new snapshot whose database has a damaged b-tree page (a valid archive, a matching checksum):
  // only integrity_check can tell. Written as the pointer's current snapshot, the old one kept in
  // its history, while no instance holds the lease.
  const p = await (await fetch(blob("pointer.json"), { headers: headers() })).json();
  const body = Buffer.from(await (await fetch(blob(p.snapshot), { headers: headers() })).arrayBuffer());
  const entries = await tarUnpack(gunzipSync(body));
  const db = entries.find((e) => e.name === "state/agent.sqlite");
  const page = 4096;
  for (let off = 2 * page; off < db.data.length; off += page) db.data.fill(0x5a, off + 8, off + 64);
  const bad = gzipSync(await tarPack(entries));
  const name = "snapshots/corrupt.tar.gz";
  await fetch(blob(name), { method: "PUT", headers: headers({ "x-ms-blob-type": "BlockBlob" }), body: bad });
  const next = { ...p, snapshot: name, sha256: createHash("sha256").update(bad).digest("hex"), history: [name, ...p.history] };
  const r = await fetch(blob("pointer.json"), { method: "PUT", headers: headers({ "x-ms-blob-type": "BlockBlob" }), body: JSON.stringify(next) });
  out = { status: r.status, previous: p.snapshot, corrupt: name };
} else if (command === "bad-crc") {
  // The pointer's snapshot again with one byte of its gzip trailer's CRC changed (every tar entry
  // intact, a matching checksum in the pointer): only reading the gzip stream to its end tells.
  const p = await (await fetch(blob("pointer.json"), { headers: headers() })).json();
  const bad = Buffer.from(await (await fetch(blob(p.snapshot), { headers: headers() })).arrayBuffer());
  bad[bad.length - 8] ^= 0xff;
  const name = "snapshots/bad-crc.tar.gz";
  await fetch(blob(name), { method: "PUT", headers: headers({ "x-ms-blob-type": "BlockBlob" }), body: bad });
  const next = { ...p, snapshot: name, sha256: createHash("sha256").update(bad).digest("hex"), history: [name, ...p.history] };
  const r = await fetch(blob("pointer.json"), { method: "PUT", headers: headers({ "x-ms-blob-type": "BlockBlob" }), body: JSON.stringify(next) });
  out = { status: r.status, previous: p.snapshot, bad: name };
} else if (command === "put-pointer") {
  // The pointer replaced by args[0] (an empty or garbled one), while no instance holds the lease.
  const r = await fetch(blob("pointer.json"), { method: "PUT", headers: headers({ "x-ms-blob-type": "BlockBlob" }), body: args[0] });
  out = { status: r.status };
} else if (command === "get-blob") {
  // Any blob of the container, by its full path (args[0]): its JSON, or {status} when absent.
  const r = await fetch(`${base}/${args[0]}`, { headers: headers() });
  out = r.status === 200 ? JSON.parse(await r.text()) : { status: r.status };
} else if (command === "put-blob") {
  const r = await fetch(`${base}/${args[0]}`, { method: "PUT", headers: headers({ "x-ms-blob-type": "BlockBlob" }), body: args[1] });
  out = { status: r.status };
} else if (command === "delete-pointer") {
  const r = await fetch(blob("pointer.json"), { method: "DELETE", headers: headers() });
  out = { status: r.status };
}
console.log(JSON.stringify(out));
