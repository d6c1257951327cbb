// Secrets: generation, offline shape/checksum checks, digests and display hints. The only place a raw secret is handled.
import { createHmac, hash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_CHARS = 30; // 30 × log2(62) ≈ 178 bits
const CHECKSUM_CHARS = 6; // 62^6 > 2^32
export const API_KEY_PREFIX = "flux_";
export const ADMIN_KEY_PREFIX = "fluxadm_";

function base62(bytes: number): string {
  let out = "";
  while (out.length < bytes) {
    // Rejection sampling keeps every character uniform: 248 = 4 × 62.
    for (const b of randomBytes(bytes * 2)) {
      if (b < 248 && out.length < bytes) out += ALPHABET[b % 62];
    }
  }
  return out;
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = "";
  for (let i = 0; i < CHECKSUM_CHARS; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export function generateSecret(prefix: string): string {
  const body = prefix + base62(RANDOM_CHARS);
  return body + checksum(body);
}

const shapes = new Map<string, RegExp>();
/** True when the secret has our shape and its checksum matches: typos never reach the database. */
export function isWellFormed(secret: string, prefix: string): boolean {
  let re = shapes.get(prefix);
  if (!re) {
    re = new RegExp(`^${prefix}[0-9A-Za-z]{${RANDOM_CHARS + CHECKSUM_CHARS}}$`);
    shapes.set(prefix, re);
  }
  if (!re.test(secret)) return false;
  const split = secret.length - CHECKSUM_CHARS;
  return checksum(secret.slice(0, split)) === secret.slice(split);
}

/** Digest stored and indexed instead of the secret: HMAC-SHA-256 with the pepper when configured, else SHA-256. */
export type Digester = (secret: string) => string;
export function createDigester(pepper?: string): Digester {
  if (pepper) return (s) => createHmac("sha256", pepper).update(s).digest("base64url");
  // crypto.hash (Node ≥ 20.12): the same SHA-256 in one call, without a Hash object per digest (~3× faster).
  return (s) => hash("sha256", s, "base64url");
}

/** "flux_…a1B2": enough to tell keys apart, far too little to guess them. */
export function displayHint(secret: string, prefix: string): string {
  return `${prefix}…${secret.slice(-4)}`;
}

export function newId(kind: "key" | "adm"): string {
  return `${kind}_${base62(20)}`;
}
