// Per-key limits on ValidateApiKey: exactly L per window, then RATE_LIMITED with a retry-after that matches the
// clock; a new window restores the budget; limit changes apply on the next call; rotation keeps the window.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { ManualClock } from "../../src/domain/clock.js";
import type { Caller } from "../support/callers.js";
import { createKey, validate } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

const T0 = Date.UTC(2026, 5, 1, 10, 0, 0);

const setLimit = (c: Caller, id: string, rateLimit: { requests: number; windowSeconds: number }) =>
  c.call(ApiKeyService, "updateApiKey", { apiKey: { id, rateLimit }, updateMask: { paths: ["rate_limit"] } }, ADMIN_KEY);

describe.each(STORE_KINDS)("on the %s store", (kind) => {
  let t: TestServer;
  const clock = new ManualClock(T0);
  // The limiters read the injected clock: moving it is all a test needs to cross windows.
  const at = (ms: number) => clock.set(ms);
  beforeAll(async () => {
    t = await startTestServer(kind, "rate-limit", { clock });
  });
  afterEach(() => at(clock.nowMs() + 3_600_000)); // every test starts in a fresh window
  afterAll(async () => {
    await t?.stop();
  });

  describe.each(["grpc", "connect"] as const)("over %s", (name) => {
    const c = () => t.callers.find((x) => x.name === name)!;

    it("admits exactly L validations in a window and limits the next with a retry-after that matches the clock", async () => {
      const start = clock.nowMs();
      const { secret } = await createKey(c(), { rateLimit: { requests: 3, windowSeconds: 60 } });
      for (let i = 0; i < 3; i++) {
        const res = await validate(c(), secret);
        expect(res.outcome).toBe(Outcome.VALID);
        expect(res.rateLimit).toMatchObject({ limit: 3, remaining: 2 - i });
      }
      at(start + 20_000);
      const limited = await validate(c(), secret);
      expect(limited).toMatchObject({ valid: false, outcome: Outcome.RATE_LIMITED, rateLimit: { limit: 3, remaining: 0 } });
      expect(limited.key).toBeDefined();
      expect(limited.rateLimit!.retryAfterMs).toBe(40_000);
      expect(timestampMs(limited.rateLimit!.resetAt!)).toBe(start + 60_000);
      at(start + 60_001);
      const next = await validate(c(), secret);
      expect(next).toMatchObject({ valid: true, outcome: Outcome.VALID, rateLimit: { limit: 3, remaining: 2 } });
    });

    it("applies a changed limit on the next validate", async () => {
      const { key, secret } = await createKey(c(), { rateLimit: { requests: 1, windowSeconds: 60 } });
      expect((await validate(c(), secret)).outcome).toBe(Outcome.VALID);
      expect((await validate(c(), secret)).outcome).toBe(Outcome.RATE_LIMITED);
      await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id, rateLimit: { requests: 5, windowSeconds: 60 } }, updateMask: { paths: ["rate_limit"] } }, ADMIN_KEY);
      const res = await validate(c(), secret);
      expect(res.outcome).toBe(Outcome.VALID);
      expect(res.rateLimit!.limit).toBe(5);
      await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: key.id }, updateMask: { paths: ["rate_limit"] } }, ADMIN_KEY);
      const unlimited = await validate(c(), secret);
      expect(unlimited.outcome).toBe(Outcome.VALID);
      expect(unlimited.rateLimit).toBeUndefined();
    });

    it("enforces a monthly budget: {2 requests, 30 days} limits the third validate until the month ends", async () => {
      const start = clock.nowMs();
      const { secret } = await createKey(c(), { rateLimit: { requests: 2, windowSeconds: 2_592_000 } });
      expect((await validate(c(), secret)).outcome).toBe(Outcome.VALID);
      expect((await validate(c(), secret)).outcome).toBe(Outcome.VALID);
      at(start + 25 * 86_400_000); // past 2^31-1 ms (~24.8 days), where a per-key timer would have fired at once
      const limited = await validate(c(), secret);
      expect(limited).toMatchObject({ valid: false, outcome: Outcome.RATE_LIMITED, rateLimit: { limit: 2, remaining: 0 } });
      expect(timestampMs(limited.rateLimit!.resetAt!)).toBe(start + 2_592_000_000);
      at(start + 2_592_000_000);
      expect((await validate(c(), secret)).outcome).toBe(Outcome.VALID);
    });

    it("applies a lowered limit to the count already spent in the window: 5 of 10 spent, lowered to 3 → RATE_LIMITED", async () => {
      const { key, secret } = await createKey(c(), { rateLimit: { requests: 10, windowSeconds: 3600 } });
      for (let i = 0; i < 5; i++) expect((await validate(c(), secret)).outcome).toBe(Outcome.VALID);
      await setLimit(c(), key.id, { requests: 3, windowSeconds: 3600 });
      const limited = await validate(c(), secret);
      expect(limited).toMatchObject({ outcome: Outcome.RATE_LIMITED, rateLimit: { limit: 3, remaining: 0 } });
    });

    it("applies a raised limit to the count already spent in the window: 5 of 10 spent, raised to 20 → 15 left", async () => {
      const { key, secret } = await createKey(c(), { rateLimit: { requests: 10, windowSeconds: 3600 } });
      for (let i = 0; i < 5; i++) await validate(c(), secret);
      await setLimit(c(), key.id, { requests: 3, windowSeconds: 3600 });
      expect((await validate(c(), secret)).outcome).toBe(Outcome.RATE_LIMITED); // a denied call spends nothing
      await setLimit(c(), key.id, { requests: 20, windowSeconds: 3600 });
      const outcomes = [];
      for (let i = 0; i < 16; i++) outcomes.push(await validate(c(), secret));
      expect(outcomes[0]!.rateLimit).toMatchObject({ limit: 20, remaining: 14 });
      expect(outcomes.slice(0, 15).every((r) => r.outcome === Outcome.VALID)).toBe(true);
      expect(outcomes[15]!.outcome).toBe(Outcome.RATE_LIMITED);
    });

    it("keeps the current window through a rotation: a rotated key gets no fresh budget", async () => {
      const { key, secret } = await createKey(c(), { rateLimit: { requests: 2, windowSeconds: 60 } });
      await validate(c(), secret);
      await validate(c(), secret);
      const rotated = await c().call(ApiKeyService, "rotateApiKey", { id: key.id }, ADMIN_KEY);
      expect((await validate(c(), rotated.secret)).outcome).toBe(Outcome.RATE_LIMITED);
    });
  });
});
