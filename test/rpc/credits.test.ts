// Credits on ValidateApiKey, on both stores and both transports: the balance is spent exactly, cost 0 reads it,
// a cost above it is refused and spends nothing, refills happen lazily by interval or on a day of the month (the
// last day of February for day 31), UpdateApiKey "credits" sets a new balance, and USAGE_EXCEEDED is counted in
// usage and metrics. A refused call spends nothing at any level: neither credits nor rate-limit points.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Granularity } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { Outcome, PolicyLevel } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { ManualClock } from "../../src/domain/clock.js";
import type { Caller } from "../support/callers.js";
import { newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

type Refill = { amount: bigint; schedule: { case: "intervalSeconds" | "dayOfMonth"; value: number } };

async function meteredKey(c: Caller, remaining: number, refill?: Refill, rateLimit?: { requests: number; windowSeconds: number }) {
  const res = await c.call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "metered", credits: { remaining: BigInt(remaining), refill }, rateLimit }, ADMIN_KEY);
  return { id: res.apiKey!.id, secret: res.secret, apiKey: res.apiKey! };
}
const spend = (c: Caller, key: string, cost?: number) => c.call(ApiKeyService, "validateApiKey", { key, cost }, ADMIN_KEY);

describe.each(STORE_KINDS)("credits on the %s store", (kind) => {
  let t: TestServer;
  const clock = new ManualClock(Date.UTC(2026, 1, 10, 12, 0, 0)); // 10 February 2026
  beforeAll(async () => {
    t = await startTestServer(kind, "credits", { clock });
  });
  afterAll(async () => {
    await t?.stop();
  });

  describe.each(["grpc", "connect"] as const)("over %s", (name) => {
    const c = () => t.callers.find((x) => x.name === name)!;

    it("spends the balance exactly, then answers USAGE_EXCEEDED refused by the key, always with the balance", async () => {
      const k = await meteredKey(c(), 3);
      expect(k.apiKey.credits?.remaining).toBe(3n);
      for (const left of [2n, 1n, 0n]) {
        const r = await spend(c(), k.secret);
        expect(r).toMatchObject({ valid: true, outcome: Outcome.VALID, refusedBy: PolicyLevel.UNSPECIFIED, credits: { remaining: left } });
      }
      const refused = await spend(c(), k.secret);
      expect(refused).toMatchObject({ valid: false, outcome: Outcome.USAGE_EXCEEDED, refusedBy: PolicyLevel.KEY, credits: { remaining: 0n } });
      expect(refused.key?.id).toBe(k.id);
      expect(refused.credits?.nextRefillAt).toBeUndefined();
    });

    it("answers the balance for cost 0 without spending, and refuses a cost above the balance spending nothing", async () => {
      const k = await meteredKey(c(), 5);
      expect(await spend(c(), k.secret, 0)).toMatchObject({ outcome: Outcome.VALID, credits: { remaining: 5n } });
      expect(await spend(c(), k.secret, 0)).toMatchObject({ outcome: Outcome.VALID, credits: { remaining: 5n } });
      expect(await spend(c(), k.secret, 6)).toMatchObject({ outcome: Outcome.USAGE_EXCEEDED, refusedBy: PolicyLevel.KEY, credits: { remaining: 5n } });
      expect(await spend(c(), k.secret, 3)).toMatchObject({ outcome: Outcome.VALID, credits: { remaining: 2n } });
      expect(await spend(c(), k.secret, 3)).toMatchObject({ outcome: Outcome.USAGE_EXCEEDED, credits: { remaining: 2n } });
      expect(await spend(c(), k.secret, 2)).toMatchObject({ outcome: Outcome.VALID, credits: { remaining: 0n } });
      const got = await c().call(ApiKeyService, "getApiKey", { id: k.id }, ADMIN_KEY);
      expect(got.apiKey?.credits?.remaining).toBe(0n);
    });

    it("leaves keys without credits unmetered: no credits in the answer, cost ignored", async () => {
      const res = await c().call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "free" }, ADMIN_KEY);
      const r = await spend(c(), res.secret, 1_000_000);
      expect(r.outcome).toBe(Outcome.VALID);
      expect(r.credits).toBeUndefined();
      expect(r.organization).toBeUndefined();
      expect(res.apiKey?.credits).toBeUndefined();
    });

    it("refills to the amount every interval, lazily, and says when the next refill happens", async () => {
      const start = clock.nowMs();
      const k = await meteredKey(c(), 2, { amount: 4n, schedule: { case: "intervalSeconds", value: 3600 } });
      expect((await spend(c(), k.secret)).credits?.remaining).toBe(1n);
      const r = await spend(c(), k.secret);
      expect(r.credits?.remaining).toBe(0n);
      expect(timestampMs(r.credits!.nextRefillAt!)).toBe(start + 3_600_000);
      expect((await spend(c(), k.secret)).outcome).toBe(Outcome.USAGE_EXCEEDED);
      clock.set(start + 3_600_000);
      const refilled = await spend(c(), k.secret);
      expect(refilled).toMatchObject({ outcome: Outcome.VALID, credits: { remaining: 3n } });
      expect(timestampMs(refilled.credits!.nextRefillAt!)).toBe(start + 7_200_000);
      clock.set(start + 5 * 3_600_000 + 1); // several periods later: back to the amount, not amount × periods
      expect((await spend(c(), k.secret)).credits?.remaining).toBe(3n);
      const got = await c().call(ApiKeyService, "getApiKey", { id: k.id }, ADMIN_KEY);
      expect(got.apiKey?.credits).toMatchObject({ remaining: 3n, refill: { amount: 4n, schedule: { case: "intervalSeconds", value: 3600 } } });
      expect(timestampMs(got.apiKey!.credits!.refill!.lastRefillAt!)).toBe(start + 5 * 3_600_000);
    });

    it("refills on day 31 at the end of February (the month's last day), then on 31 March", async () => {
      clock.set(Date.UTC(2026, 1, 10, 12, 0, 0));
      const k = await meteredKey(c(), 1, { amount: 10n, schedule: { case: "dayOfMonth", value: 31 } });
      const r = await spend(c(), k.secret);
      expect(r.credits?.remaining).toBe(0n);
      expect(timestampMs(r.credits!.nextRefillAt!)).toBe(Date.UTC(2026, 1, 28));
      clock.set(Date.UTC(2026, 1, 27, 23, 59, 59, 999));
      expect((await spend(c(), k.secret)).outcome).toBe(Outcome.USAGE_EXCEEDED);
      clock.set(Date.UTC(2026, 1, 28));
      const refilled = await spend(c(), k.secret);
      expect(refilled).toMatchObject({ outcome: Outcome.VALID, credits: { remaining: 9n } });
      expect(timestampMs(refilled.credits!.nextRefillAt!)).toBe(Date.UTC(2026, 2, 31));
      clock.set(Date.UTC(2026, 2, 31, 0, 0, 1));
      expect((await spend(c(), k.secret)).credits?.remaining).toBe(9n);
      clock.set(Date.UTC(2026, 1, 10, 12, 0, 0));
    });

    it("sets a new balance with UpdateApiKey \"credits\" and clears it when the field is left unset", async () => {
      const k = await meteredKey(c(), 1);
      expect((await spend(c(), k.secret)).credits?.remaining).toBe(0n);
      const up = await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: k.id, credits: { remaining: 7n } }, updateMask: { paths: ["credits"] } }, ADMIN_KEY);
      expect(up.apiKey?.credits?.remaining).toBe(7n);
      expect(await spend(c(), k.secret)).toMatchObject({ outcome: Outcome.VALID, credits: { remaining: 6n } });
      await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: k.id }, updateMask: { paths: ["credits"] } }, ADMIN_KEY);
      const free = await spend(c(), k.secret, 1000);
      expect(free.outcome).toBe(Outcome.VALID);
      expect(free.credits).toBeUndefined();
    });

    it("spends no credits on a rate-limited call and gives back the rate-limit point of a call refused for credits", async () => {
      const k = await meteredKey(c(), 1, undefined, { requests: 2, windowSeconds: 3600 });
      expect(await spend(c(), k.secret)).toMatchObject({ outcome: Outcome.VALID, rateLimit: { remaining: 1 }, credits: { remaining: 0n } });
      expect(await spend(c(), k.secret)).toMatchObject({ outcome: Outcome.USAGE_EXCEEDED, refusedBy: PolicyLevel.KEY });
      expect(await spend(c(), k.secret)).toMatchObject({ outcome: Outcome.USAGE_EXCEEDED, refusedBy: PolicyLevel.KEY });
      await c().call(ApiKeyService, "updateApiKey", { apiKey: { id: k.id, credits: { remaining: 5n } }, updateMask: { paths: ["credits"] } }, ADMIN_KEY);
      // The two refused calls took no points: one point is left in the window.
      expect(await spend(c(), k.secret)).toMatchObject({ outcome: Outcome.VALID, rateLimit: { remaining: 0 }, credits: { remaining: 4n } });
      const limited = await spend(c(), k.secret);
      expect(limited).toMatchObject({ outcome: Outcome.RATE_LIMITED, refusedBy: PolicyLevel.KEY });
      expect(limited.credits).toBeUndefined();
      expect((await spend(c(), k.secret, 0)).outcome).toBe(Outcome.RATE_LIMITED);
      clock.advance(3_600_000);
      expect(await spend(c(), k.secret, 0)).toMatchObject({ outcome: Outcome.VALID, credits: { remaining: 4n } });
    });

    it("counts USAGE_EXCEEDED in usage (outcomes and series) and in /metrics", async () => {
      const k = await meteredKey(c(), 1);
      await spend(c(), k.secret);
      await spend(c(), k.secret);
      await spend(c(), k.secret);
      const u = await c().call(ApiKeyService, "getApiKeyUsage", { id: k.id, granularity: Granularity.HOUR }, ADMIN_KEY);
      expect(u.outcomes).toContainEqual(expect.objectContaining({ outcome: Outcome.USAGE_EXCEEDED, count: 2n }));
      expect(u.series.reduce((n, b) => n + b.usageExceeded, 0n)).toBe(2n);
      expect(u.series.reduce((n, b) => n + b.otherErrors, 0n)).toBe(0n);
      const metrics = await (await fetch(`http://127.0.0.1:${t.server.httpPort}/metrics`)).text();
      expect(metrics).toMatch(/flux_validations_total\{outcome="USAGE_EXCEEDED"\} [1-9]/);
    });
  });
});
