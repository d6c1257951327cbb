// The hot codec's metered answers (issue 14): credits, organisation state and refused_by, written by hand, equal
// protobuf-es's bytes and JSON on generated messages, including balances up to 10^15 and 0, refill times, and
// organisation windows at their edges; unusual values (past 2^53, unknown fields) fall back to protobuf-es.
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { KeyInfoSchema, ValidateApiKeyResponseSchema } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { encodeValidateResponse, validateResponseJson } from "../../src/transport/hot-codec.js";

let a = 14;
const next = () => {
  a = (a + 0x6d2b79f5) >>> 0;
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
const U32 = [0, 1, 127, 128, 16_384, 2 ** 32 - 1];
const U64 = [0n, 1n, 127n, 128n, 999_999n, 10n ** 15n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n];
const MS = [0, 1, 999, 1_767_225_600_123, 253_402_300_799_000, Date.UTC(2026, 1, 28)];

const credits = () => ({ remaining: pick(U64), nextRefillAt: next() < 0.5 ? timestampFromMs(pick(MS)) : undefined });
const rate = () => ({ limit: pick(U32), remaining: pick(U32), resetAt: next() < 0.8 ? timestampFromMs(pick(MS)) : undefined, retryAfterMs: pick(U32) });

function randomMetered() {
  return create(ValidateApiKeyResponseSchema, {
    valid: next() < 0.5,
    outcome: Math.floor(next() * 11),
    key: next() < 0.8 ? create(KeyInfoSchema, { id: "key_x", orgId: "acme", name: "n", scopes: next() < 0.5 ? ["a"] : [] }) : undefined,
    rateLimit: next() < 0.5 ? rate() : undefined,
    missingScopes: next() < 0.2 ? ["data:write"] : [],
    credits: next() < 0.7 ? credits() : undefined,
    organization: next() < 0.5 ? { rateLimit: next() < 0.6 ? rate() : undefined, credits: next() < 0.6 ? credits() : undefined } : undefined,
    refusedBy: Math.floor(next() * 4),
  });
}

describe("hot codec = protobuf-es on metered answers", () => {
  it("writes credits, organisation state and refused_by as protobuf-es does, in binary and JSON", () => {
    for (let i = 0; i < 3000; i++) {
      const m = randomMetered();
      expect(Buffer.from(encodeValidateResponse(m)).toString("hex"), `#${i}`).toBe(Buffer.from(toBinary(ValidateApiKeyResponseSchema, m)).toString("hex"));
      expect(validateResponseJson(m), `#${i}`).toBe(toJsonString(ValidateApiKeyResponseSchema, m));
    }
  });
});
