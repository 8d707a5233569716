import { z } from "zod";

/** IPv4 CIDR checks for the address plan; only what the fleet file needs. */

function parse(cidr: string): { base: number; prefix: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  return { base, prefix };
}

const size = (prefix: number) => 2 ** (32 - prefix);

/** True for "a.b.c.d/n" whose address is the network address (10.0.0.0/16, not 10.0.0.1/16). */
export function isIpv4Cidr(cidr: string): boolean {
  const p = parse(cidr);
  return p !== undefined && p.base % size(p.prefix) === 0;
}

/** True when `inner` lies wholly inside `outer`. Both must be valid CIDRs. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parse(outer)!;
  const i = parse(inner)!;
  return i.prefix >= o.prefix && i.base >= o.base && i.base + size(i.prefix) <= o.base + size(o.prefix);
}

/** True when the two ranges share any address. Both must be valid CIDRs. */
export function cidrsOverlap(a: string, b: string): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** The prefix length of a valid CIDR. */
export function cidrPrefix(cidr: string): number {
  return parse(cidr)!.prefix;
}

/** A fleet-file field that holds an IPv4 CIDR; `example` shows one in the message. */
export const cidr = (example: string) => z.string().refine(isIpv4Cidr, { message: `is not an IPv4 CIDR with its network address (e.g. ${example})` });
