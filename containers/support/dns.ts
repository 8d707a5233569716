import { createSocket, type Socket } from "node:dgram";

/**
 * A DNS stand-in (UDP): A records for the names given, an empty answer for their other types, and
 * NXDOMAIN for every other name, so what is not stood in fails at once instead of timing out.
 * It listens where Azure's resolver does (the WireServer address, which the container firewall
 * lets containers reach on port 53 only), so the VM and its containers resolve through it.
 */
export class DnsStandIn {
  readonly queries: { name: string; type: number; from: string }[] = [];
  private socket?: Socket;

  constructor(private readonly records: ReadonlyMap<string, string>) {}

  /** The address a name resolves to: an exact entry, or a "*.suffix" one. */
  lookup(name: string): string | undefined {
    const n = name.toLowerCase().replace(/\.$/, "");
    if (this.records.has(n)) return this.records.get(n);
    for (const [pattern, address] of this.records) if (pattern.startsWith("*.") && n.endsWith(pattern.slice(1))) return address;
    return undefined;
  }

  async start(host: string, port = 53): Promise<void> {
    this.socket = createSocket("udp4");
    this.socket.on("message", (msg, rinfo) => {
      const answer = this.answer(msg, rinfo.address);
      if (answer) this.socket!.send(answer, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve, reject) => {
      this.socket!.once("error", reject);
      this.socket!.bind(port, host, () => resolve());
    });
  }

  stop(): void {
    this.socket?.close();
  }

  private answer(msg: Buffer, from: string): Buffer | undefined {
    if (msg.length < 12) return undefined;
    // The question: labels, then type and class.
    let off = 12;
    const labels: string[] = [];
    while (off < msg.length && msg[off] !== 0) {
      const len = msg[off];
      labels.push(msg.subarray(off + 1, off + 1 + len).toString("latin1"));
      off += 1 + len;
    }
    const questionEnd = off + 5;
    if (questionEnd > msg.length) return undefined;
    const type = msg.readUInt16BE(off + 1);
    const name = labels.join(".");
    this.queries.push({ name, type, from });
    const address = this.lookup(name);
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    const recursionDesired = msg[2] & 0x01;
    header[2] = 0x84 | recursionDesired; // response, authoritative
    header[3] = 0x80 | (address ? 0 : 3); // recursion available; NXDOMAIN for unknown names
    header.writeUInt16BE(1, 4); // one question
    const withAnswer = address !== undefined && type === 1;
    header.writeUInt16BE(withAnswer ? 1 : 0, 6);
    const question = msg.subarray(12, questionEnd);
    if (!withAnswer) return Buffer.concat([header, question]);
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // the name, by a pointer to the question's
    record.writeUInt16BE(1, 2); // A
    record.writeUInt16BE(1, 4); // IN
    record.writeUInt32BE(60, 6); // TTL
    record.writeUInt16BE(4, 10);
    address.split(".").forEach((octet, i) => (record[12 + i] = Number(octet)));
    return Buffer.concat([header, question, record]);
  }
}
