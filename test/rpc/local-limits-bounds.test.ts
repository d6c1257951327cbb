// Every LeaseLimits and ReportLocalUsage bound from src/domain/limits.ts, at the limit (accepted) and one past it
// (INVALID_ARGUMENT naming the field), on both stores and over grpc-js and Connect; a refused lease takes nothing and
// a refused report counts nothing.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { LocalValidationService } from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { LIMITS } from "../../src/domain/limits.js";
import { type BoundsRequest as Req, type BoundsRow, outcome } from "../support/bounds.js";
import { failure } from "../support/callers.js";
import { defineScopes, newOrg } from "../support/fixtures.js";
import { LimitsClient, validatorAdminKey } from "../support/local-limits-client.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

interface Ctx {
  sessionId: string;
  /** Rate limit 10^9 and credits 10^15: the lease rows. */
  leaseKeyId: string;
  /** The report rows' key: only the answers of rows at their limit may be counted. */
  reportKeyId: string;
  seq: () => bigint;
}
type Row = BoundsRow<Ctx>;

const SCOPES = Array.from({ length: LIMITS.reportScopeUsesMax + 1 }, (_, i) => `bound:s${i}`);
const lease = (c: Ctx, rateLimitPoints: number, credits: bigint): Req => [LocalValidationService, "leaseLimits", { sessionId: c.sessionId, keyId: c.leaseKeyId, rateLimitPoints, credits }];
const report = (c: Ctx, keys: unknown[], extra: Record<string, unknown> = {}): Req => [LocalValidationService, "reportLocalUsage", { sessionId: c.sessionId, reportSeq: c.seq(), keys, ...extra }];
const valid = (c: Ctx, count: bigint, more: Record<string, unknown> = {}) => ({ keyId: c.reportKeyId, outcomes: [{ outcome: Outcome.VALID, count }], ...more });
const uses = (n: number) => SCOPES.slice(0, n).map((scope) => ({ scope, count: 1n }));

const ROWS: Row[] = [
  { field: "rate_limit_points", limit: LIMITS.leaseRateLimitPointsMax, at: (c) => lease(c, LIMITS.leaseRateLimitPointsMax, 0n), past: (c) => lease(c, LIMITS.leaseRateLimitPointsMax + 1, 0n) },
  { field: "credits", limit: LIMITS.leaseCreditsMax, at: (c) => lease(c, 0, BigInt(LIMITS.leaseCreditsMax)), past: (c) => lease(c, 0, BigInt(LIMITS.leaseCreditsMax) + 1n) },
  {
    field: "keys per report",
    limit: LIMITS.reportKeysMax,
    at: (c) => report(c, Array.from({ length: LIMITS.reportKeysMax }, () => valid(c, 1n))),
    past: (c) => report(c, Array.from({ length: LIMITS.reportKeysMax + 1 }, () => valid(c, 1n))),
  },
  { field: "scope_uses per key", limit: LIMITS.reportScopeUsesMax, at: (c) => report(c, [valid(c, 1n, { scopeUses: uses(100) })]), past: (c) => report(c, [valid(c, 1000n, { scopeUses: uses(101) })]) },
  { field: "outcome count minimum", limit: 1, at: (c) => report(c, [valid(c, 1n)]), past: (c) => report(c, [valid(c, 0n), valid(c, 1000n)]) },
  {
    field: "outcome count maximum",
    limit: LIMITS.reportCountMax,
    at: (c) => report(c, [{ keyId: c.reportKeyId, outcomes: [{ outcome: Outcome.INSUFFICIENT_SCOPE, count: BigInt(LIMITS.reportCountMax) }] }]),
    past: (c) => report(c, [valid(c, BigInt(LIMITS.reportCountMax) + 1n)]) },
  { field: "scope use count minimum", limit: 1, at: (c) => report(c, [{ keyId: c.reportKeyId, scopeUses: [{ scope: "bound:s0", count: 1n }] }]), past: (c) => report(c, [valid(c, 1000n, { scopeUses: [{ scope: "bound:s0", count: 0n }] })]) },
  { field: "malformed maximum", limit: LIMITS.reportCountMax, at: (c) => report(c, [], { malformed: BigInt(LIMITS.reportCountMax) }), past: (c) => report(c, [valid(c, 1000n)], { malformed: BigInt(LIMITS.reportCountMax) + 1n }) },
  { field: "returned_credits", limit: LIMITS.leaseCreditsMax, at: (c) => report(c, [{ keyId: c.reportKeyId, returnedCredits: BigInt(LIMITS.leaseCreditsMax) }]), past: (c) => report(c, [valid(c, 1000n, { returnedCredits: BigInt(LIMITS.leaseCreditsMax) + 1n })]) },
  { field: "report_seq minimum", limit: 1, at: (c) => report(c, []), past: (c) => [LocalValidationService, "reportLocalUsage", { sessionId: c.sessionId, reportSeq: 0n, keys: [valid(c, 1000n)] }] },
];

describe.each(STORE_KINDS)("LeaseLimits and ReportLocalUsage bounds on the %s store", (kind) => {
  let t: TestServer;
  let v: LimitsClient;
  let ctx: Ctx;
  let adminKey: string;
  beforeAll(async () => {
    t = await startTestServer(kind, "local-bounds");
    const c = t.callers[0]!;
    await defineScopes(c, ...SCOPES);
    const orgId = newOrg();
    const leaseKey = await c.call(ApiKeyService, "createApiKey", { orgId, name: "lease", rateLimit: { requests: 1_000_000_000, windowSeconds: 3600 }, credits: { remaining: BigInt(LIMITS.creditsMax) } }, ADMIN_KEY);
    const reportKey = await c.call(ApiKeyService, "createApiKey", { orgId, name: "report", scopes: SCOPES.slice(0, 100) }, ADMIN_KEY);
    adminKey = await validatorAdminKey(c);
    v = await new LimitsClient(c, adminKey, { grpc: t.server.grpcPort, http: t.server.httpPort }).ready();
    let seq = 0n;
    ctx = { sessionId: v.sessionId, leaseKeyId: leaseKey.apiKey!.id, reportKeyId: reportKey.apiKey!.id, seq: () => ++seq };
  });
  afterAll(async () => {
    v?.close();
    await t?.stop();
  });

  it.each(ROWS.map((r) => [r.field, r] as const))("%s: accepted at the limit, INVALID_ARGUMENT one past it", async (_f, row) => {
    // As expectBoundHeld (test/support/bounds.ts), with the session's admin key (the bootstrap key has no local_validation).
    for (const caller of t.callers) {
      const [svc, method, atReq] = row.at(ctx);
      const at = await outcome(caller.call(svc, method as never, atReq as never, adminKey));
      expect(at.code, `${row.field} over ${caller.name} at the limit: ${at.err?.message}`).toBe(0);
      const [svc2, method2, pastReq] = row.past(ctx);
      const past = await outcome(caller.call(svc2, method2 as never, pastReq as never, adminKey));
      expect([past.code, past.err?.reason], `${row.field} over ${caller.name} past the limit`).toEqual([Code.InvalidArgument, "INVALID_ARGUMENT"]);
    }
  });

  it("refuses outcomes a validator does not report about a key: UNSPECIFIED, MALFORMED (its own field) and NOT_FOUND", async () => {
    for (const outcome of [Outcome.UNSPECIFIED, Outcome.MALFORMED, Outcome.NOT_FOUND]) {
      const f = await failure(v.caller.call(LocalValidationService, "reportLocalUsage", { sessionId: ctx.sessionId, reportSeq: ctx.seq(), keys: [{ keyId: ctx.reportKeyId, outcomes: [{ outcome, count: 1000n }] }] }, adminKey));
      expect([f.code, f.reason, Outcome[outcome]]).toEqual([Code.InvalidArgument, "INVALID_ARGUMENT", Outcome[outcome]]);
    }
  });

  it("counted only the reports at their limits, and took points only for the leases at theirs", async () => {
    const u = await t.callers[0]!.call(ApiKeyService, "getApiKeyUsage", { id: ctx.reportKeyId }, ADMIN_KEY);
    // Per caller: 10,000 (keys per report) + 1 (scope uses) + 1 (count minimum); every refused report carried 1000s.
    const counts = Object.fromEntries(u.outcomes.map((o) => [Outcome[o.outcome], Number(o.count)]));
    expect(counts).toEqual({ VALID: 2 * 10_002, INSUFFICIENT_SCOPE: 2 * LIMITS.reportCountMax });
    const a = await v.lease(ctx.leaseKeyId, 1);
    expect(a.rateLimit!.unleased).toBe(1_000_000_000 - 2 * 10_000 - 1); // two grants of 10,000 (the cap) and this one
  });
});
