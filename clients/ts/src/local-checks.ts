// The server's offline rules, repeated for the local validator: a secret's shape and checksum (key-material.ts),
// which requests the server would refuse with an error (left to the network so the error is the server's own),
// digests, and CIDR allowlists (cidr.ts). Node only (node:crypto, node:net, node:zlib).
import { createHmac, hash } from "node:crypto";
import { BlockList, isIP } from "node:net";
import type { ValidateOptions } from "./requests.js";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CHECKSUM_CHARS = 6;
/** Secrets longer than this are MALFORMED without a lookup (the server's LIMITS.keyLength). */
export const KEY_LENGTH_MAX = 512;
/** 1 for the base62 characters (by char code). */
const BASE62 = new Uint8Array(128);
for (let i = 0; i < ALPHABET.length; i++) BASE62[ALPHABET.charCodeAt(i)] = 1;
/** CRC-32 (IEEE, as node:zlib's crc32) by table: computed over the string's char codes, no slice, no native call. */
const CRC_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}
const PREFIX = "flux_";
const SCOPE_NAME = /^[A-Za-z0-9._:\-/*]{1,100}$/;
const REQUIRED_SCOPES_MAX = 100;
const COST_MAX = 1_000_000;
const CLIENT_IP_LENGTH_MAX = 45;

/**
 * The server's MALFORMED rule: "flux_", 30 random and 6 checksum base62 characters, the checksum being the body's
 * CRC-32 in base62. One pass over the characters (the hot path: this runs on every local validation).
 */
export function isWellFormedKey(secret: string): boolean {
  if (secret.length !== 41 || !secret.startsWith(PREFIX)) return false;
  let c = -1;
  for (let i = 0; i < 35; i++) {
    const ch = secret.charCodeAt(i);
    if (i >= 5 && (ch > 127 || BASE62[ch] === 0)) return false;
    c = CRC_TABLE[(c ^ ch) & 0xff]! ^ (c >>> 8);
  }
  let n = (c ^ -1) >>> 0;
  for (let i = 40; i >= 35; i--) {
    if (secret.charCodeAt(i) !== ALPHABET.charCodeAt(n % 62)) return false;
    n = Math.floor(n / 62);
  }
  return true;
}

/**
 * Whether the server would answer these options (rather than refuse them with INVALID_ARGUMENT): anything else is
 * sent over the network, so the caller sees the server's own error. Also false for options of unexpected types.
 */
export function isPlainRequest(options: ValidateOptions): boolean {
  const { requiredScopes, cost, clientIp } = options;
  if (requiredScopes !== undefined) {
    if (!Array.isArray(requiredScopes) || requiredScopes.length > REQUIRED_SCOPES_MAX) return false;
    for (const s of requiredScopes) if (typeof s !== "string" || !SCOPE_NAME.test(s)) return false;
  }
  if (cost !== undefined && !(Number.isInteger(cost) && cost >= 0 && cost <= COST_MAX)) return false;
  if (clientIp !== undefined && clientIp !== "" && !isClientIp(clientIp)) return false;
  return true;
}

/** One IPv4 or IPv6 address without zone, as ValidateApiKey's client_ip takes it. */
export function isClientIp(ip: string): boolean {
  return typeof ip === "string" && ip.length <= CLIENT_IP_LENGTH_MAX && !ip.includes("%") && isIP(ip) !== 0;
}

export type Digester = (secret: string) => string;

/** The server's digest: base64url(SHA-256) without a pepper, base64url(HMAC-SHA-256(pepper)) with one. */
export function createDigester(pepper: string | undefined): Digester {
  if (pepper) return (s) => createHmac("sha256", pepper).update(s).digest("base64url");
  return (s) => hash("sha256", s, "base64url");
}

/** What the server sends as ValidatorSession.pepper_id for a pepper. */
export const pepperId = (pepper: string): string => createHmac("sha256", pepper).update("flux-pepper-id").digest("base64url");

/** Whether an end client's address may use a key with this (normalised, non-empty) list. */
export type CidrMatcher = (clientIp: string) => boolean;

/** The server's matching: node:net BlockList, which matches IPv4-mapped IPv6 addresses against IPv4 subnets. */
export function compileCidrs(cidrs: readonly string[]): CidrMatcher {
  const list = new BlockList();
  for (const c of cidrs) {
    const [address = "", prefix = ""] = c.split("/");
    const family = isIP(address);
    if (family === 0) continue; // the server normalises lists; an entry we cannot read matches nothing
    list.addSubnet(address, prefix === "" ? (family === 4 ? 32 : 128) : Number(prefix), family === 4 ? "ipv4" : "ipv6");
  }
  return (ip) => {
    const family = ip.includes("%") ? 0 : isIP(ip);
    return family !== 0 && list.check(ip, family === 4 ? "ipv4" : "ipv6");
  };
}

/** Required scopes the key lacks, in the request's order. */
export function missingScopes(granted: ReadonlySet<string>, required: readonly string[]): string[] {
  let missing: string[] | undefined;
  for (const s of required) if (!granted.has(s)) (missing ??= []).push(s);
  return missing ?? [];
}
