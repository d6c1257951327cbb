// The hand-written codecs of the hot RPC (src/transport/hot-codec.ts) write exactly what protobuf-es writes and
// read exactly what it reads, on generated messages: every outcome, keys with and without scopes, metadata,
// expiry and unicode, rate limits at their edges, missing scopes; and requests whole, mutated and truncated.
import { create, fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { KeyInfoSchema, ValidateApiKeyRequestSchema, ValidateApiKeyResponseSchema } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { OUTCOMES, type ValidationResult } from "../../src/domain/types.js";
import { validationToWire } from "../../src/transport/mappers.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { decodeSimpleValidateRequest, decodeSimpleValidateRequestJson, decodeValidateRequest, encodeValidateResponse, validateResponseJson } from "../../src/transport/hot-codec.js";

const SEED = Number(process.env.FLUX_FUZZ_SEED ?? 7);
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
const r = prng(SEED);
const STRINGS = ["", "a", "org_1", "data:read", "é€😀", "\u0000", "\ud800", "x".repeat(200), "key_" + "Z".repeat(20), '"quoted\\"', "\n\t"];
const U32 = [0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 31 - 1, 2 ** 32 - 1];
const MS = [0, 1, 999, 1_000, 1_767_225_600_123, 253_402_300_799_000, Date.UTC(2026, 2, 1)];
const str = () => (r.next() < 0.7 ? r.pick(STRINGS) : String.fromCharCode(...Array.from({ length: r.int(300) }, () => 32 + r.int(95))));

function randomResponse() {
  const key =
    r.next() < 0.8
      ? create(KeyInfoSchema, {
          id: str(),
          orgId: str(),
          name: str(),
          scopes: Array.from({ length: r.int(4) }, str),
          metadata: Object.fromEntries(Array.from({ length: r.int(5) }, () => [str(), str()])),
          expiresAt: r.next() < 0.5 ? timestampFromMs(r.pick(MS)) : undefined,
        })
      : undefined;
  return create(ValidateApiKeyResponseSchema, {
    valid: r.next() < 0.5,
    outcome: r.int(9),
    key,
    rateLimit: r.next() < 0.7 ? { limit: r.pick(U32), remaining: r.pick(U32), resetAt: r.next() < 0.9 ? timestampFromMs(r.pick(MS)) : undefined, retryAfterMs: r.pick(U32) } : undefined,
    missingScopes: r.next() < 0.3 ? Array.from({ length: 1 + r.int(3) }, str) : [],
  });
}

/** Requests with and without client_ip and cost (absent, 0, and across the varint lengths up to 2^32 − 1). */
const IPS = ["", "203.0.113.7", "2001:db8::1", "::ffff:192.0.2.1", "not an ip", "é"];
const randomRequest = () =>
  create(ValidateApiKeyRequestSchema, {
    key: str(),
    requiredScopes: Array.from({ length: r.int(3) }, str),
    clientIp: r.next() < 0.5 ? r.pick(IPS) : "",
    cost: r.next() < 0.5 ? r.pick([0, 1, 1_000_000, 2 ** 28 - 1, 2 ** 28, ...U32]) : undefined,
  });

describe("hot codec = protobuf-es", () => {
  it("writes every generated ValidateApiKeyResponse as protobuf-es does, in binary and JSON (also a second time, from the caches)", () => {
    for (let i = 0; i < 3000; i++) {
      const m = randomResponse();
      for (let pass = 0; pass < 2; pass++) {
        expect(Buffer.from(encodeValidateResponse(m)).toString("hex"), `seed ${SEED} #${i}`).toBe(Buffer.from(toBinary(ValidateApiKeyResponseSchema, m)).toString("hex"));
        expect(validateResponseJson(m), `seed ${SEED} #${i}`).toBe(toJsonString(ValidateApiKeyResponseSchema, m));
      }
    }
  });

  it("reads every generated, mutated or truncated ValidateApiKeyRequest as protobuf-es does, or fails as it does", () => {
    for (let i = 0; i < 5000; i++) {
      const bytes = Buffer.from(toBinary(ValidateApiKeyRequestSchema, randomRequest()));
      for (let k = r.int(3); k > 0 && bytes.length; k--) bytes[r.int(bytes.length)] = r.int(256);
      const input = r.next() < 0.2 ? bytes.subarray(0, r.int(bytes.length + 1)) : bytes;
      const outcome = (f: () => unknown) => {
        try {
          return { ok: toBinary(ValidateApiKeyRequestSchema, f() as never).toString() };
        } catch (e) {
          return { error: (e as Error).message };
        }
      };
      expect(outcome(() => decodeValidateRequest(input)), `seed ${SEED} ${input.toString("hex")}`).toEqual(outcome(() => fromBinary(ValidateApiKeyRequestSchema, input)));
    }
  });

  it("reads every generated or mutated JSON ValidateApiKeyRequest as protobuf-es does (strict), or leaves it to protobuf-es", () => {
    const JSON_BITS = ['"key"', '"requiredScopes"', '"required_scopes"', '"clientIp"', '"client_ip"', '"cost"', "null", "1", "-1", "1.5", "4294967296", '"7"', "[]", '["a"]', "{}", '"é"', '"\\ud800"', ",", ":", '"__proto__"'];
    for (let i = 0; i < 5000; i++) {
      const m = randomRequest();
      let text = toJsonString(ValidateApiKeyRequestSchema, m);
      for (let k = r.int(3); k > 0; k--) {
        const at = r.int(text.length + 1);
        text = text.slice(0, at) + r.pick(JSON_BITS) + text.slice(at + r.int(4));
      }
      const mine = decodeSimpleValidateRequestJson(text);
      if (mine === undefined) continue; // protobuf-es decides
      const theirs = fromJsonString(ValidateApiKeyRequestSchema, text, { ignoreUnknownFields: false });
      expect(toBinary(ValidateApiKeyRequestSchema, mine).toString(), `seed ${SEED} ${text}`).toBe(toBinary(ValidateApiKeyRequestSchema, theirs).toString());
    }
  });

  it("reads client_ip and cost by hand (no protobuf-es walk) in both codecs, cost 0 kept as present", () => {
    for (const cost of [undefined, 0, 1, 1_000_000, 2 ** 28 - 1]) {
      const m = create(ValidateApiKeyRequestSchema, { key: "flux_x", requiredScopes: ["a:b"], clientIp: "2001:db8::1", cost });
      const bin = decodeSimpleValidateRequest(toBinary(ValidateApiKeyRequestSchema, m));
      const json = decodeSimpleValidateRequestJson(toJsonString(ValidateApiKeyRequestSchema, m));
      for (const got of [bin, json]) {
        expect(got, `cost ${cost}`).toBeDefined();
        expect(got!.clientIp).toBe("2001:db8::1");
        expect(got!.cost).toBe(cost);
        expect("cost" in got!).toBe(cost !== undefined);
      }
    }
  });

  it("builds the same ValidateApiKeyResponse as the create()-based mapper did, for generated results", () => {
    // The mapper as it was before it built messages by hand (and kept KeyInfo per record).
    const before = (r: ValidationResult) => {
      const k = r.key;
      const ts = (ms: number | undefined) => (ms === undefined ? undefined : timestampFromMs(ms));
      return create(ValidateApiKeyResponseSchema, {
        valid: r.outcome === "VALID",
        outcome: Outcome[r.outcome],
        key: k && { id: k.id, orgId: k.orgId, name: k.name, scopes: k.scopes, metadata: k.metadata, expiresAt: ts(k.expiresAtMs) },
        rateLimit: r.rateLimit && { limit: r.rateLimit.limit, remaining: r.rateLimit.remaining, resetAt: ts(r.rateLimit.resetAtMs), retryAfterMs: r.rateLimit.retryAfterMs },
        missingScopes: r.missingScopes,
      });
    };
    for (let i = 0; i < 2000; i++) {
      const result: ValidationResult = {
        outcome: r.pick(OUTCOMES),
        key:
          r.next() < 0.8
            ? { id: str(), orgId: str(), name: str(), scopes: Array.from({ length: r.int(3) }, str), metadata: Object.fromEntries(Array.from({ length: r.int(3) }, () => [str(), str()])), expiresAtMs: r.next() < 0.5 ? r.pick(MS) : undefined, enabled: true, displayHint: "h", createdAtMs: 1, updatedAtMs: 1, digest: "d" }
            : undefined,
        rateLimit: r.next() < 0.7 ? { limit: r.pick(U32), remaining: r.pick(U32), resetAtMs: r.pick(MS), retryAfterMs: r.pick(U32) } : undefined,
        missingScopes: r.next() < 0.3 ? [str()] : [],
      };
      const mine = validationToWire(result);
      const theirs = before(result);
      expect(toJsonString(ValidateApiKeyResponseSchema, mine)).toBe(toJsonString(ValidateApiKeyResponseSchema, theirs));
      expect(Buffer.from(toBinary(ValidateApiKeyResponseSchema, mine)).toString("hex")).toBe(Buffer.from(toBinary(ValidateApiKeyResponseSchema, theirs)).toString("hex"));
      expect(Buffer.from(encodeValidateResponse(mine)).toString("hex")).toBe(Buffer.from(toBinary(ValidateApiKeyResponseSchema, theirs)).toString("hex"));
    }
  });
});
