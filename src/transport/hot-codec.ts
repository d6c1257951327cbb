// Hand-written codecs for the messages of the hot RPC (ValidateApiKey), which protobuf-es would otherwise walk by
// reflection on every call: the request's binary form, and the answer's binary and JSON forms. The KeyInfo part of
// an answer is the same for every call on a key, so its bytes and its JSON are computed once (by protobuf-es
// itself) per KeyInfo message, which mappers.ts keeps per key record. Whatever these do not cover goes to
// protobuf-es, and test/unit/hot-codec.test.ts checks their output against protobuf-es's on generated messages.
import { fromBinary, toBinary, toJson, toJsonString } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
import {
  type KeyInfo,
  KeyInfoSchema,
  OutcomeSchema,
  type RateLimitState,
  type ValidateApiKeyRequest,
  ValidateApiKeyRequestSchema,
  type ValidateApiKeyResponse,
  ValidateApiKeyResponseSchema,
} from "../../gen/ts/flux/apikeys/v1/validation_pb.js";

/** Enum names as protobuf JSON writes them ("OUTCOME_VALID"), by number. */
const OUTCOME_JSON = new Map(OutcomeSchema.values.map((v) => [v.number, `"${v.name}"`]));
const keyBinary = new WeakMap<KeyInfo, Uint8Array>();
const keyJson = new WeakMap<KeyInfo, string>();

/**
 * A request holding only fields 1 and 2 (key, required_scopes) as ASCII strings, decoded by hand; anything else
 * (unknown fields, other wire types, non-ASCII text, truncation) by protobuf-es, which throws its own errors.
 */
export function decodeValidateRequest(b: Uint8Array): ValidateApiKeyRequest {
  return decodeSimpleValidateRequest(b) ?? fromBinary(ValidateApiKeyRequestSchema, b);
}

/** The common case by hand; undefined when protobuf-es must decide. */
export function decodeSimpleValidateRequest(b: Uint8Array): ValidateApiKeyRequest | undefined {
  let key = "";
  const requiredScopes: string[] = [];
  let i = 0;
  while (i < b.length) {
    const tag = b[i++];
    if (tag !== 0x0a && tag !== 0x12) return undefined;
    let len = b[i++];
    if (len === undefined) return undefined;
    if (len & 0x80) {
      const hi = b[i++];
      if (hi === undefined || hi & 0x80) return undefined;
      len = (len & 0x7f) | (hi << 7);
    }
    const end = i + len;
    if (end > b.length) return undefined;
    for (let j = i; j < end; j++) if (b[j]! >= 0x80) return undefined;
    // ASCII: latin1 reads it as UTF-8 would.
    const s = Buffer.isBuffer(b) ? b.toString("latin1", i, end) : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1", i, end);
    if (tag === 0x0a) key = s;
    else requiredScopes.push(s);
    i = end;
  }
  return request(key, requiredScopes);
}

/**
 * A JSON request that is an object of "key" and "requiredScopes" with ASCII strings only, read by hand; undefined
 * when protobuf-es must decide (other field names, types, non-ASCII text, bad JSON: it throws its own errors).
 */
export function decodeSimpleValidateRequestJson(text: string): ValidateApiKeyRequest | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  let key = "";
  let requiredScopes: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (k === "key" && typeof x === "string" && ASCII.test(x)) key = x;
    else if (k === "requiredScopes" && Array.isArray(x) && x.every((s) => typeof s === "string" && ASCII.test(s))) requiredScopes = x;
    else return undefined;
  }
  return request(key, requiredScopes);
}

const ASCII = /^[\x00-\x7f]*$/;

/** What create(ValidateApiKeyRequestSchema, { key, requiredScopes }) returns (proto3: every field implicit). */
const request = (key: string, requiredScopes: string[]): ValidateApiKeyRequest => ({ $typeName: "flux.apikeys.v1.ValidateApiKeyRequest", key, requiredScopes, clientIp: "" });

/** toBinary(ValidateApiKeyResponseSchema, m), with the key's part cached. */
export function encodeValidateResponse(m: ValidateApiKeyResponse): Uint8Array {
  if (m.$unknown || !u32(m.outcome) || m.credits || m.organization || m.refusedBy) return toBinary(ValidateApiKeyResponseSchema, m);
  let key: Uint8Array | undefined;
  if (m.key) {
    key = keyBinary.get(m.key);
    // Buffer.from copies into Node's shared 8 KiB pool: no ArrayBuffer of its own per cached key.
    if (!key) keyBinary.set(m.key, (key = Buffer.from(toBinary(KeyInfoSchema, m.key))));
  }
  const r = m.rateLimit;
  let rateSize = 0;
  let tsSize = 0;
  let seconds = 0;
  if (r) {
    if (r.$unknown || !u32(r.limit) || !u32(r.remaining) || !u32(r.retryAfterMs)) return toBinary(ValidateApiKeyResponseSchema, m);
    if (r.resetAt) {
      const t = r.resetAt;
      if (t.$unknown || t.seconds < 0n || t.seconds > MAX_SAFE || t.nanos < 0 || !Number.isInteger(t.nanos)) return toBinary(ValidateApiKeyResponseSchema, m);
      seconds = Number(t.seconds);
      tsSize = (seconds ? 1 + varintSize(seconds) : 0) + (t.nanos ? 1 + varintSize(t.nanos) : 0);
      rateSize += 1 + varintSize(tsSize) + tsSize;
    }
    if (r.limit) rateSize += 1 + varintSize(r.limit);
    if (r.remaining) rateSize += 1 + varintSize(r.remaining);
    if (r.retryAfterMs) rateSize += 1 + varintSize(r.retryAfterMs);
  }
  let size = (m.valid ? 2 : 0) + (m.outcome ? 1 + varintSize(m.outcome) : 0);
  if (key) size += 1 + varintSize(key.length) + key.length;
  if (r) size += 1 + varintSize(rateSize) + rateSize;
  const scopes = m.missingScopes.length ? m.missingScopes.map((s) => Buffer.from(s, "utf8")) : NONE;
  for (const s of scopes) size += 1 + varintSize(s.length) + s.length;
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  if (m.valid) (out[p++] = 0x08), (out[p++] = 1);
  if (m.outcome) (out[p++] = 0x10), (p = varint(out, p, m.outcome));
  if (key) (out[p++] = 0x1a), (p = varint(out, p, key.length)), out.set(key, p), (p += key.length);
  if (r) {
    (out[p++] = 0x22), (p = varint(out, p, rateSize));
    if (r.limit) (out[p++] = 0x08), (p = varint(out, p, r.limit));
    if (r.remaining) (out[p++] = 0x10), (p = varint(out, p, r.remaining));
    if (r.resetAt) {
      (out[p++] = 0x1a), (p = varint(out, p, tsSize));
      if (seconds) (out[p++] = 0x08), (p = varint(out, p, seconds));
      if (r.resetAt.nanos) (out[p++] = 0x10), (p = varint(out, p, r.resetAt.nanos));
    }
    if (r.retryAfterMs) (out[p++] = 0x20), (p = varint(out, p, r.retryAfterMs));
  }
  for (const s of scopes) (out[p++] = 0x2a), (p = varint(out, p, s.length)), out.set(s, p), (p += s.length);
  return out;
}

const NONE: Buffer[] = [];
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** toJsonString(ValidateApiKeyResponseSchema, m), with the key's part cached. */
export function validateResponseJson(m: ValidateApiKeyResponse): string {
  const outcome = OUTCOME_JSON.get(m.outcome);
  if (m.$unknown || outcome === undefined || m.credits || m.organization || m.refusedBy) return toJsonString(ValidateApiKeyResponseSchema, m);
  const parts: string[] = [];
  if (m.valid) parts.push('"valid":true');
  if (m.outcome) parts.push(`"outcome":${outcome}`);
  if (m.key) {
    let k = keyJson.get(m.key);
    if (k === undefined) keyJson.set(m.key, (k = toJsonString(KeyInfoSchema, m.key)));
    parts.push(`"key":${k}`);
  }
  if (m.rateLimit) {
    const r = m.rateLimit;
    if (r.$unknown || !u32(r.limit) || !u32(r.remaining) || !u32(r.retryAfterMs)) return toJsonString(ValidateApiKeyResponseSchema, m);
    const rp: string[] = [];
    if (r.limit) rp.push(`"limit":${r.limit}`);
    if (r.remaining) rp.push(`"remaining":${r.remaining}`);
    if (r.resetAt) rp.push(`"resetAt":${timestampJson(r.resetAt)}`);
    if (r.retryAfterMs) rp.push(`"retryAfterMs":${r.retryAfterMs}`);
    parts.push(`"rateLimit":{${rp.join(",")}}`);
  }
  if (m.missingScopes.length) parts.push(`"missingScopes":${JSON.stringify(m.missingScopes)}`);
  return `{${parts.join(",")}}`;
}

/** A window's reset time is the same for every call in the window: its JSON (protobuf-es's) is kept for the last one. */
let lastTs: { seconds: bigint; nanos: number; json: string } | undefined;
function timestampJson(t: Timestamp): string {
  if (lastTs && lastTs.seconds === t.seconds && lastTs.nanos === t.nanos && !t.$unknown) return lastTs.json;
  const json = JSON.stringify(toJson(TimestampSchema, t));
  if (!t.$unknown) lastTs = { seconds: t.seconds, nanos: t.nanos, json };
  return json;
}

const u32 = (v: number) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

function varintSize(v: number): number {
  let n = 1;
  while (v > 127) (v = Math.floor(v / 128)), n++;
  return n;
}

function varint(out: Uint8Array, p: number, v: number): number {
  while (v > 127) (out[p++] = (v & 0x7f) | 0x80), (v = Math.floor(v / 128));
  out[p++] = v;
  return p;
}

