// GetOrganizationUsage: an organisation's totals equal the sum of its keys' usage, by outcome and per hour or day;
// the top lists are ordered (by requests; by error rate among keys with at least 10 validations); another
// organisation's keys are never counted.
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { Granularity } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { ManualClock } from "../../src/domain/clock.js";
import { createKey, defineScopes, newOrg, validate } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 6, 10, 9, 15, 0);

describe.each(STORE_KINDS)("on the %s store", (kind) => {
  let t: TestServer;
  const clock = new ManualClock(T0);
  beforeAll(async () => {
    t = await startTestServer(kind, "org-usage", { clock });
    await defineScopes(t.callers[0]!, "org:read", "org:write");
  });
  afterAll(() => t?.stop());

  describe.each(["grpc", "connect"] as const)("over %s", (name) => {
    const c = () => t.callers.find((x) => x.name === name)!;
    const orgUsage = (orgId: string, granularity = Granularity.HOUR, seriesStartMs?: number, topKeys = 0) =>
      c().call(OrganizationService, "getOrganizationUsage", { orgId, granularity, topKeys, seriesStart: seriesStartMs === undefined ? undefined : timestampFromMs(seriesStartMs) }, ADMIN_KEY);
    const keyUsage = (id: string) => c().call(ApiKeyService, "getApiKeyUsage", { id, granularity: Granularity.HOUR, seriesStart: timestampFromMs(T0 - 2 * HOUR) }, ADMIN_KEY);

    it("totals, outcomes and series equal the sum of its keys' usage, and another org's keys are never counted", async () => {
      clock.set(T0);
      const org = newOrg();
      const other = newOrg();
      const a = await createKey(c(), { orgId: org, scopes: ["org:read"] });
      const b = await createKey(c(), { orgId: org, rateLimit: { requests: 2, windowSeconds: 3600 } });
      const x = await createKey(c(), { orgId: other });
      for (let i = 0; i < 4; i++) await validate(c(), a.secret, ["org:read"]);
      await validate(c(), a.secret, ["org:write"]);
      clock.advance(HOUR);
      for (let i = 0; i < 3; i++) await validate(c(), b.secret); // 2 VALID, 1 RATE_LIMITED
      for (let i = 0; i < 7; i++) await validate(c(), x.secret);

      const u = await orgUsage(org, Granularity.HOUR, T0 - 2 * HOUR);
      expect(u.orgId).toBe(org);
      expect(u.requests).toBe(8n);
      expect(u.errors).toBe(2n);
      expect(u.errorRate).toBeCloseTo(2 / 8, 10);
      expect(u.outcomes.map((o) => [Outcome[o.outcome], Number(o.count)])).toEqual([
        ["VALID", 6],
        ["RATE_LIMITED", 1],
        ["INSUFFICIENT_SCOPE", 1],
      ]);
      // Per bucket, the org's series is the sum of its keys' series.
      const [ua, ub] = await Promise.all([keyUsage(a.key.id), keyUsage(b.key.id)]);
      expect(u.series.map((s) => timestampMs(s.startTime!))).toEqual(ua.series.map((s) => timestampMs(s.startTime!)));
      u.series.forEach((s, i) => {
        for (const f of ["requests", "valid", "rateLimited", "otherErrors"] as const) expect(s[f], `bucket ${i} ${f}`).toBe(ua.series[i]![f] + ub.series[i]![f]);
      });
      expect(u.series.map((s) => Number(s.requests))).toEqual([0, 0, 5, 3]);

      const daily = await orgUsage(org, Granularity.DAY, T0 - 24 * HOUR);
      expect(daily.series.reduce((n, s) => n + s.requests, 0n)).toBe(8n);
      expect(daily.series.at(-1)!.requests).toBe(8n);

      const o = await orgUsage(other);
      expect(o.requests).toBe(7n);
      expect(o.topKeysByRequests.map((k) => k.keyId)).toEqual([x.key.id]);
    });

    it("orders the top keys by requests and by error rate (at least 10 validations), bounded by top_keys", async () => {
      clock.set(T0);
      const org = newOrg();
      const busy = await createKey(c(), { orgId: org, scopes: ["org:read"] });
      const flaky = await createKey(c(), { orgId: org, scopes: ["org:read"] });
      const few = await createKey(c(), { orgId: org });
      const quiet = await createKey(c(), { orgId: org });
      for (let i = 0; i < 20; i++) await validate(c(), busy.secret, i < 2 ? ["org:write"] : []); // 2/20 errors
      for (let i = 0; i < 12; i++) await validate(c(), flaky.secret, i < 6 ? ["org:write"] : []); // 6/12 errors
      for (let i = 0; i < 3; i++) await validate(c(), few.secret, ["org:write"]); // 3/3 errors, too few to rank
      await validate(c(), quiet.secret);

      const u = await orgUsage(org);
      expect(u.topKeysByRequests.map((k) => [k.keyId, Number(k.requests), Number(k.errors)])).toEqual([
        [busy.key.id, 20, 2],
        [flaky.key.id, 12, 6],
        [few.key.id, 3, 3],
        [quiet.key.id, 1, 0],
      ]);
      expect(u.topKeysByRequests[0]!.name).toBe("test key");
      expect(u.topKeysByErrorRate.map((k) => [k.keyId, k.errorRate])).toEqual([
        [flaky.key.id, 0.5],
        [busy.key.id, 0.1],
      ]);
      const two = await orgUsage(org, Granularity.DAY, undefined, 1);
      expect(two.topKeysByRequests.map((k) => k.keyId)).toEqual([busy.key.id]);
      expect(two.topKeysByErrorRate.map((k) => k.keyId)).toEqual([flaky.key.id]);
    });

    it("answers an organisation without traffic with zeros and an empty series of the asked span", async () => {
      clock.set(T0);
      const u = await orgUsage(newOrg(), Granularity.HOUR, T0 - 5 * HOUR);
      expect(u.requests).toBe(0n);
      expect(u.errorRate).toBe(0);
      expect(u.series).toHaveLength(6);
      expect(u.topKeysByRequests).toEqual([]);
    });
  });
});
