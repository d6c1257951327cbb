// Hand-written codecs for the messages of the hot RPC (ValidateApiKey), which protobuf-es would otherwise walk by
// reflection on every call: the request's binary form, and the answer's binary and JSON forms. The KeyInfo part of
// an answer is the same for every call on a key, so its bytes and its JSON are computed once (by protobuf-es
// itself) per KeyInfo message, which mappers.ts keeps per key record. Whatever these do not cover goes to
// protobuf-es, and test/unit/hot-codec.test.ts checks their output against protobuf-es's on generated messages.
import { fromBinary, toBinary, toJson, toJsonString } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
import {
  type CreditsState,
  type KeyInfo,
  KeyInfoSchema,
  OutcomeSchema,
  PolicyLevelSchema,
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
 * A request holding only fields 1–4 (key, required_scopes, client_ip as ASCII strings; cost as a varint below 2^28),
 * decoded by hand; anything else (unknown fields, other wire types, non-ASCII text, long varints, truncation) by
 * protobuf-es, which throws its own errors.
 */
export function decodeValidateRequest(b: Uint8Array): ValidateApiKeyRequest {
  return decodeSimpleValidateRequest(b) ?? fromBinary(ValidateApiKeyRequestSchema, b);
}

/** The common case by hand; undefined when protobuf-es must decide. */
export function decodeSimpleValidateRequest(b: Uint8Array): ValidateApiKeyRequest | undefined {
  let key = "";
  let clientIp = "";
  let cost: number | undefined;
  const requiredScopes: string[] = [];
  let i = 0;
  while (i < b.length) {
    const tag = b[i++];
    if (tag === 0x18) {
      // cost (uint32): 1–4 bytes by hand, longer ones (which protobuf-es truncates to 32 bits) left to it.
      let v = 0;
      let shift = 0;
      for (;;) {
        const x = b[i++];
        if (x === undefined || shift > 21) return undefined;
        v += (x & 0x7f) * 2 ** shift;
        if (!(x & 0x80)) break;
        shift += 7;
      }
      cost = v;
      continue;
    }
    if (tag !== 0x0a && tag !== 0x12 && tag !== 0x22) return undefined;
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
    else if (tag === 0x12) requiredScopes.push(s);
    else clientIp = s;
    i = end;
  }
  return request(key, requiredScopes, clientIp, cost);
}

/**
 * A JSON request that is an object of "key", "requiredScopes", "clientIp" (ASCII strings) and "cost" (an integer
 * number in uint32's range), read by hand; undefined when protobuf-es must decide (other field names, types, cost
 * as a string, non-ASCII text, bad JSON: it throws its own errors).
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
  let clientIp = "";
  let cost: number | undefined;
  let requiredScopes: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    if (k === "key" && typeof x === "string" && ASCII.test(x)) key = x;
    else if (k === "requiredScopes" && Array.isArray(x) && x.every((s) => typeof s === "string" && ASCII.test(s))) requiredScopes = x;
    else if (k === "clientIp" && typeof x === "string" && ASCII.test(x)) clientIp = x;
    else if (k === "cost" && typeof x === "number" && u32(x) && !Object.is(x, -0)) cost = x;
    else return undefined;
  }
  return request(key, requiredScopes, clientIp, cost);
}

const ASCII = /^[\x00-\x7f]*$/;

/** What create(ValidateApiKeyRequestSchema, { key, requiredScopes, clientIp, cost }) returns (cost: explicit presence). */
function request(key: string, requiredScopes: string[], clientIp: string, cost: number | undefined): ValidateApiKeyRequest {
  const m: ValidateApiKeyRequest = { $typeName: "flux.apikeys.v1.ValidateApiKeyRequest", key, requiredScopes, clientIp };
  if (cost !== undefined) m.cost = cost;
  return m;
}

/** toBinary(ValidateApiKeyResponseSchema, m), with the key's part cached. */
export function encodeValidateResponse(m: ValidateApiKeyResponse): Uint8Array {
  if (m.$unknown || !u32(m.outcome)) return toBinary(ValidateApiKeyResponseSchema, m);
  if (!m.credits && !m.organization && !m.refusedBy) return encodeBase(m);
  // Metered answers: fields 6–8 follow field 5, so they are the base's bytes plus theirs.
  const extra = encodePolicies(m);
  if (!extra) return toBinary(ValidateApiKeyResponseSchema, m);
  const base = encodeBase(m);
  return base && Buffer.concat([base, extra]);
}

/** Fields 1–5 (valid, outcome, key, rate_limit, missing_scopes); protobuf-es's bytes when the rate state is unusual. */
function encodeBase(m: ValidateApiKeyResponse): Uint8Array {
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

/** Fields 6–8 (credits, organization, refused_by) as bytes; undefined when protobuf-es must write them. */
function encodePolicies(m: ValidateApiKeyResponse): Buffer | undefined {
  const out: number[] = [];
  if (m.credits && !message(out, 0x32, creditsBytes(m.credits))) return undefined;
  const o = m.organization;
  if (o) {
    if (o.$unknown) return undefined;
    const body: number[] = [];
    if (o.rateLimit && !message(body, 0x0a, rateBytes(o.rateLimit))) return undefined;
    if (o.credits && !message(body, 0x12, creditsBytes(o.credits))) return undefined;
    message(out, 0x3a, body);
  }
  if (m.refusedBy) {
    if (!u32(m.refusedBy)) return undefined;
    out.push(0x40), pushVarint(out, m.refusedBy);
  }
  return Buffer.from(out);
}

function message(out: number[], tag: number, body: number[] | undefined): boolean {
  if (!body) return false;
  out.push(tag), pushVarint(out, body.length);
  for (const b of body) out.push(b);
  return true;
}

function creditsBytes(c: CreditsState): number[] | undefined {
  if (c.$unknown || c.remaining < 0n || c.remaining > MAX_SAFE) return undefined;
  const out: number[] = [];
  if (c.remaining) out.push(0x08), pushVarint(out, Number(c.remaining));
  if (c.nextRefillAt && !message(out, 0x12, tsBytes(c.nextRefillAt))) return undefined;
  return out;
}

function rateBytes(r: RateLimitState): number[] | undefined {
  if (r.$unknown || !u32(r.limit) || !u32(r.remaining) || !u32(r.retryAfterMs)) return undefined;
  const out: number[] = [];
  if (r.limit) out.push(0x08), pushVarint(out, r.limit);
  if (r.remaining) out.push(0x10), pushVarint(out, r.remaining);
  if (r.resetAt && !message(out, 0x1a, tsBytes(r.resetAt))) return undefined;
  if (r.retryAfterMs) out.push(0x20), pushVarint(out, r.retryAfterMs);
  return out;
}

function tsBytes(t: Timestamp): number[] | undefined {
  if (t.$unknown || t.seconds < 0n || t.seconds > MAX_SAFE || t.nanos < 0 || !Number.isInteger(t.nanos)) return undefined;
  const out: number[] = [];
  if (t.seconds) out.push(0x08), pushVarint(out, Number(t.seconds));
  if (t.nanos) out.push(0x10), pushVarint(out, t.nanos);
  return out;
}

function pushVarint(out: number[], v: number): void {
  while (v > 127) out.push((v % 128) | 0x80), (v = Math.floor(v / 128));
  out.push(v);
}

/** toJsonString(ValidateApiKeyResponseSchema, m), with the key's part cached. */
export function validateResponseJson(m: ValidateApiKeyResponse): string {
  const outcome = OUTCOME_JSON.get(m.outcome);
  if (m.$unknown || outcome === undefined) return toJsonString(ValidateApiKeyResponseSchema, m);
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
  if (m.credits || m.organization || m.refusedBy) {
    const more = policiesJson(m);
    if (more === undefined) return toJsonString(ValidateApiKeyResponseSchema, m);
    parts.push(...more);
  }
  return `{${parts.join(",")}}`;
}

/** "credits", "organization" and "refusedBy" as protobuf JSON writes them; undefined when protobuf-es must. */
function policiesJson(m: ValidateApiKeyResponse): string[] | undefined {
  const parts: string[] = [];
  if (m.credits) {
    const c = creditsJson(m.credits);
    if (c === undefined) return undefined;
    parts.push(`"credits":${c}`);
  }
  const o = m.organization;
  if (o) {
    if (o.$unknown) return undefined;
    const op: string[] = [];
    if (o.rateLimit) {
      const r = o.rateLimit;
      if (r.$unknown || !u32(r.limit) || !u32(r.remaining) || !u32(r.retryAfterMs)) return undefined;
      op.push(`"rateLimit":${rateJson(r)}`);
    }
    if (o.credits) {
      const c = creditsJson(o.credits);
      if (c === undefined) return undefined;
      op.push(`"credits":${c}`);
    }
    parts.push(`"organization":{${op.join(",")}}`);
  }
  if (m.refusedBy) {
    const name = POLICY_JSON.get(m.refusedBy);
    if (name === undefined) return undefined;
    parts.push(`"refusedBy":${name}`);
  }
  return parts;
}

function creditsJson(c: CreditsState): string | undefined {
  if (c.$unknown || c.remaining < 0n || c.remaining > MAX_U64) return undefined;
  const cp: string[] = [];
  if (c.remaining) cp.push(`"remaining":"${c.remaining}"`);
  if (c.nextRefillAt) cp.push(`"nextRefillAt":${JSON.stringify(toJson(TimestampSchema, c.nextRefillAt))}`);
  return `{${cp.join(",")}}`;
}

function rateJson(r: RateLimitState): string {
  const rp: string[] = [];
  if (r.limit) rp.push(`"limit":${r.limit}`);
  if (r.remaining) rp.push(`"remaining":${r.remaining}`);
  if (r.resetAt) rp.push(`"resetAt":${timestampJson(r.resetAt)}`);
  if (r.retryAfterMs) rp.push(`"retryAfterMs":${r.retryAfterMs}`);
  return `{${rp.join(",")}}`;
}

const POLICY_JSON = new Map(PolicyLevelSchema.values.map((v) => [v.number, `"${v.name}"`]));
const MAX_U64 = 2n ** 64n - 1n;

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

