// IP allowlists: parsing and normalising a key's allowed CIDRs, and matching an end client's address against them
// with a node:net BlockList compiled once per key record (records are never changed in place).
import { BlockList, isIP, SocketAddress } from "node:net";
import { describeSome, invalidArgument } from "./errors.js";
import { LIMITS } from "./limits.js";

/**
 * The list as stored: each entry's network address in canonical form with its prefix ("10.0.0.0/8", "2001:db8::/32"),
 * a bare address as /32 or /128, IPv4-mapped IPv6 networks (::ffff:a.b.c.d/96 and longer) as IPv4, duplicates
 * dropped. Any malformed entry refuses the whole list, naming at most a few of them.
 */
export function normaliseCidrs(entries: readonly string[], field = "allowed_cidrs"): string[] {
  if (entries.length > LIMITS.allowedCidrs) {
    throw invalidArgument(`${field} holds at most ${LIMITS.allowedCidrs} entries (got ${entries.length})`, field);
  }
  const out: string[] = [];
  const bad: string[] = [];
  for (const e of entries) {
    const n = e.length <= LIMITS.cidrLength ? normaliseCidr(e.trim()) : undefined;
    if (n === undefined) bad.push(e);
    else if (!out.includes(n)) out.push(n);
  }
  if (bad.length) {
    throw invalidArgument(
      `${bad.length} malformed CIDR(s) in ${field}: ${describeSome(bad)} (IPv4 or IPv6 address with an optional /prefix, at most ${LIMITS.cidrLength} characters)`,
      field,
    );
  }
  return out;
}

function normaliseCidr(entry: string): string | undefined {
  const slash = entry.indexOf("/");
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = plainIp(address);
  if (family === 0) return undefined;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = entry.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) return undefined;
    prefix = Number(p);
  }
  let value = toBigInt(address, family);
  const hostBits = BigInt(bits - prefix);
  value = (value >> hostBits) << hostBits;
  if (family === 6 && prefix >= 96 && value >> 32n === 0xffffn) return `${fromBigInt(value & 0xffffffffn, 4)}/${prefix - 96}`;
  return `${fromBigInt(value, family)}/${prefix}`;
}

/** 4 or 6 for an address without zone or surrounding text, else 0. */
function plainIp(s: string): 0 | 4 | 6 {
  if (s.includes("%")) return 0;
  return isIP(s) as 0 | 4 | 6;
}

function toBigInt(address: string, family: 4 | 6): bigint {
  // SocketAddress parses with inet_pton: the one parser, whatever the notation (embedded IPv4, "::").
  const canonical = new SocketAddress({ address, family: family === 4 ? "ipv4" : "ipv6" }).address;
  if (family === 4) return canonical.split(".").reduce((v, o) => (v << 8n) | BigInt(Number(o)), 0n);
  const [head, tail] = expandIpv6(canonical);
  return [...head, ...Array(8 - head.length - tail.length).fill(0), ...tail].reduce((v: bigint, g: number) => (v << 16n) | BigInt(g), 0n);
}

/** Hextet groups before and after "::" (an embedded IPv4 tail counts as two groups). */
function expandIpv6(a: string): [number[], number[]] {
  const groups = (part: string): number[] =>
    part === ""
      ? []
      : part.split(":").flatMap((g) => {
          if (!g.includes(".")) return [parseInt(g, 16)];
          const [w, x, y, z] = g.split(".").map(Number) as [number, number, number, number];
          return [(w << 8) | x, (y << 8) | z];
        });
  const at = a.indexOf("::");
  return at < 0 ? [groups(a), []] : [groups(a.slice(0, at)), groups(a.slice(at + 2))];
}

function fromBigInt(v: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((v >> s) & 0xffffn).toString(16));
  return new SocketAddress({ address: groups.join(":"), family: "ipv6" }).address;
}

/** Whether the end client's address may use a key with this (normalised, non-empty) list. */
export type CidrMatcher = (clientIp: string) => boolean;

export function compileCidrs(cidrs: readonly string[]): CidrMatcher {
  const list = new BlockList();
  for (const c of cidrs) {
    const [address, prefix] = c.split("/") as [string, string];
    list.addSubnet(address, Number(prefix), isIP(address) === 4 ? "ipv4" : "ipv6");
  }
  // BlockList matches IPv4-mapped IPv6 addresses (::ffff:1.2.3.4) against IPv4 subnets itself.
  return (ip) => {
    const family = plainIp(ip);
    return family !== 0 && list.check(ip, family === 4 ? "ipv4" : "ipv6");
  };
}

/** A client_ip as ValidateApiKey takes it: empty (none given), or one IPv4 or IPv6 address. */
export function isClientIp(ip: string): boolean {
  return ip.length <= LIMITS.clientIpLength && plainIp(ip) !== 0;
}
