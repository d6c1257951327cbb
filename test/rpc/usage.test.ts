// Every validation is counted per key and outcome; GetApiKeyUsage reports the month's requests, errors, error rate,
// last use, a per-outcome breakdown and an hourly or daily series.
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Granularity } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { ManualClock } from "../../src/domain/clock.js";
import { failure } from "../support/callers.js";
import { createKey, defineScopes, validate } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 20, 9, 30, 0); // 20 May 2026, 09:30 UTC

describe.each(STORE_KINDS)("on the %s store", (kind) => {
  let t: TestServer;
  const clock = new ManualClock(T0);
  beforeAll(async () => {
    t = await startTestServer(kind, "usage", { clock });
    await defineScopes(t.callers[0]!, "data:read", "data:write");
  });
  afterAll(() => t?.stop());

  describe.each(["grpc", "connect"] as const)("over %s", (name) => {
    const c = () => t.callers.find((x) => x.name === name)!;
    const usage = (id: string, granularity = Granularity.DAY, seriesStartMs?: number) =>
      c().call(ApiKeyService, "getApiKeyUsage", { id, granularity, seriesStart: seriesStartMs === undefined ? undefined : timestampFromMs(seriesStartMs) }, ADMIN_KEY);

    it("counts N validations with k failures as N requests, k errors, the right rate and last use", async () => {
      clock.set(T0);
      const { key, secret } = await createKey(c(), { scopes: ["data:read"] });
      for (let i = 0; i < 7; i++) await validate(c(), secret);
      for (let i = 0; i < 3; i++) await validate(c(), secret, ["data:write"]);
      const lastValidMs = clock.nowMs();
      clock.advance(HOUR);
      await validate(c(), secret, ["data:write"]); // a failure does not move last use
      const u = await usage(key.id);
      expect(u.requestsCurrentPeriod).toBe(11n);
      expect(u.errorsCurrentPeriod).toBe(4n);
      expect(u.errorRate).toBeCloseTo(4 / 11, 10);
      expect(timestampMs(u.lastUsedAt!)).toBe(lastValidMs);
      expect(timestampMs(u.periodStart!)).toBe(Date.UTC(2026, 4, 1));
      expect(u.outcomes.map((o) => [Outcome[o.outcome], Number(o.count)])).toEqual([
        ["VALID", 7],
        ["INSUFFICIENT_SCOPE", 4],
      ]);
    });

    it("splits the series per hour and per day by outcome", async () => {
      clock.set(T0);
      const { key, secret } = await createKey(c(), { rateLimit: { requests: 2, windowSeconds: 1 } });
      await validate(c(), secret);
      clock.advance(HOUR);
      await validate(c(), secret);
      await t.deps.services.keys.revoke({ adminKeyId: "test", validateOnly: false }, key.id);
      await validate(c(), secret);
      const hourly = await usage(key.id, Granularity.HOUR, T0 - 2 * HOUR);
      const byHour = hourly.series.map((b) => [timestampMs(b.startTime!) - (T0 - 2.5 * HOUR), Number(b.requests), Number(b.valid), Number(b.otherErrors)]);
      expect(byHour).toEqual([
        [0, 0, 0, 0],
        [HOUR, 0, 0, 0],
        [2 * HOUR, 1, 1, 0],
        [3 * HOUR, 2, 1, 1],
      ]);
      const daily = await usage(key.id, Granularity.DAY);
      expect(daily.series).toHaveLength(31);
      const today = daily.series[daily.series.length - 1]!;
      expect(timestampMs(today.startTime!)).toBe(Date.UTC(2026, 4, 20));
      expect([Number(today.requests), Number(today.valid), Number(today.otherErrors)]).toEqual([3, 2, 1]);
    });

    it("starts a new period with the calendar month and keeps older months in the series", async () => {
      clock.set(Date.UTC(2026, 4, 31, 23, 0, 0));
      const { key, secret } = await createKey(c());
      await validate(c(), secret);
      clock.set(Date.UTC(2026, 5, 1, 1, 0, 0));
      await validate(c(), secret);
      await validate(c(), secret);
      const u = await usage(key.id);
      expect(u.requestsCurrentPeriod).toBe(3n - 1n);
      expect(timestampMs(u.periodStart!)).toBe(Date.UTC(2026, 5, 1));
      const total = u.series.reduce((n, b) => n + Number(b.requests), 0);
      expect(total).toBe(3);
    });

    it("answers NOT_FOUND for usage of an unknown key and INVALID_ARGUMENT for a series start in the future", async () => {
      expect(await failure(usage("key_missing000000000000"))).toMatchObject({ code: Code.NotFound });
      const { key } = await createKey(c());
      expect(await failure(usage(key.id, Granularity.HOUR, clock.nowMs() + 10 * HOUR))).toMatchObject({ code: Code.InvalidArgument });
    });
  });

  it("keeps a key's usage history through rotation", async () => {
    const c = t.callers[0]!;
    clock.set(T0);
    const { key, secret } = await createKey(c);
    await validate(c, secret);
    const rotated = await c.call(ApiKeyService, "rotateApiKey", { id: key.id }, ADMIN_KEY);
    await validate(c, rotated.secret);
    await validate(c, secret); // the old secret no longer maps to the key: counted service-wide, not here
    const u = await c.call(ApiKeyService, "getApiKeyUsage", { id: key.id }, ADMIN_KEY);
    expect(u.requestsCurrentPeriod).toBe(2n);
    expect(u.errorsCurrentPeriod).toBe(0n);
  });
});
