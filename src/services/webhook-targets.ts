// Where webhooks may go: http(s) URLs whose host resolves only to public addresses. Checked at registration and
// again at every delivery (the name may resolve elsewhere by then: DNS rebinding); the delivery then connects to
// the address it checked, not to a second lookup's.
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";

const BLOCKED = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata (169.254.169.254)
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) BLOCKED.addSubnet(net, bits, "ipv4");
BLOCKED.addAddress("168.63.129.16", "ipv4"); // Azure's platform endpoint
for (const [net, bits] of [
  ["::", 96], // IPv4-compatible (deprecated; ::7f00:1 is 127.0.0.1), "::" and "::1" included
  ["::ffff:0:0:0", 96], // IPv4-translated (SIIT)
  ["100::", 64], // discard-only
  ["2001::", 32], // Teredo: relays an IPv4 address
  ["2002::", 16], // 6to4 (deprecated): relays to the IPv4 address it embeds, private ones included
  ["fec0::", 10], // site-local (deprecated)
  ["fc00::", 7], // unique-local (and AWS's fd00:ec2::254 metadata)
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
  ["64:ff9b::", 96], // NAT64 of any IPv4, private ones included
  ["64:ff9b:1::", 48], // local-use NAT64 (RFC 8215): a site's own translator, to private IPv4 too
  ["2001:db8::", 32],
] as const) BLOCKED.addSubnet(net, bits, "ipv6");

/** Whether the address is loopback, private, link-local, unique-local, metadata or otherwise not public. */
export function isPrivateAddress(address: string): boolean {
  const v = isIP(address);
  if (v === 4) return BLOCKED.check(address, "ipv4");
  if (v === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return BLOCKED.check(mapped[1]!, "ipv4");
    return BLOCKED.check(address, "ipv6");
  }
  return true;
}

/** The URL's shape: http or https, a host, no credentials, within the length limit. */
export function checkWebhookUrl(raw: string, field = "url"): URL {
  if (!raw) throw invalidArgument(`${field} is required`, field);
  if (raw.length > LIMITS.webhookUrlLength) throw invalidArgument(`${field} is longer than ${LIMITS.webhookUrlLength} characters`, field);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidArgument(`${field} is not a URL`, field);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw invalidArgument(`${field} must be an http:// or https:// URL`, field);
  if (!url.hostname) throw invalidArgument(`${field} has no host`, field);
  if (url.username || url.password) throw invalidArgument(`${field} must not carry credentials`, field);
  return url;
}

export interface ResolvedTarget {
  url: URL;
  /** The checked address the request connects to. */
  address: string;
  family: 4 | 6;
}

export class TargetRefused extends Error {}

/** Resolves the URL's host; refuses it when any address it has is not public (unless private targets are allowed). */
export async function resolveTarget(url: URL, allowPrivate: boolean): Promise<ResolvedTarget> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: { address: string; family: number }[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch (err) {
      throw new TargetRefused(`cannot resolve ${host}: ${(err as { code?: string }).code ?? "lookup failed"}`);
    }
  }
  if (addresses.length === 0) throw new TargetRefused(`${host} has no address`);
  const refused = addresses.find((a) => isPrivateAddress(a.address));
  if (refused && !allowPrivate) throw new TargetRefused(`${host} resolves to a private or loopback address (${refused.address})`);
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** Registration's check: the shape, then the addresses; a refusal is INVALID_ARGUMENT naming the field. */
export async function checkTarget(raw: string, allowPrivate: boolean, field = "endpoint.url"): Promise<string> {
  const url = checkWebhookUrl(raw, field);
  try {
    await resolveTarget(url, allowPrivate);
  } catch (err) {
    if (err instanceof TargetRefused) throw invalidArgument(`${field} is not allowed: ${err.message}`, field);
    throw err;
  }
  return raw;
}
