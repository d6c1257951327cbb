// Organisation-wide limits on both stores and both transports: one window and one balance shared by all of an
// organisation's keys (its many keys cannot multiply its budget), enforced after the key's own, refused_by naming
// the policy that refused, the organisation's state in every answer, changes audited, bounds at and past each limit.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { AuditAction, AuditService, AuditTargetType } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { Outcome, PolicyLevel } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { ManualClock } from "../../src/domain/clock.js";
import { LIMITS } from "../../src/domain/limits.js";
import { type Caller, RpcFailure } from "../support/callers.js";
import { newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

const setPolicy = (c: Caller, orgId: string, policy: Record<string, unknown>, paths: string[]) =>
  c.call(OrganizationService, "updateOrganizationPolicy", { policy: { orgId, ...policy }, updateMask: { paths } }, ADMIN_KEY);
const newKey = async (c: Caller, orgId: string, credits?: number) =>
  (await c.call(ApiKeyService, "createApiKey", { orgId, name: "member", credits: credits === undefined ? undefined : { remaining: BigInt(credits) } }, ADMIN_KEY)).secret;
const validate = (c: Caller, key: string, cost?: number) => c.call(ApiKeyService, "validateApiKey", { key, cost }, ADMIN_KEY);

async function failure(p: Promise<unknown>): Promise<RpcFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RpcFailure) return err;
    throw err;
  }
  throw new Error("expected the call to fail");
}

describe.each(STORE_KINDS)("organisation policies on the %s store", (kind) => {
  let t: TestServer;
  const clock = new ManualClock(Date.UTC(2026, 3, 1, 9, 0, 0));
  beforeAll(async () => {
    t = await startTestServer(kind, "org-policies", { clock });
  });
  afterAll(async () => {
    await t?.stop();
  });

  describe.each(["grpc", "connect"] as const)("over %s", (name) => {
    const c = () => t.callers.find((x) => x.name === name)!;

    it("answers an empty policy for an organisation that never had one, and no organisation state on validate", async () => {
      const orgId = newOrg();
      const got = await c().call(OrganizationService, "getOrganizationPolicy", { orgId }, ADMIN_KEY);
      expect(got.policy).toMatchObject({ orgId });
      expect(got.policy?.rateLimit).toBeUndefined();
      expect(got.policy?.credits).toBeUndefined();
      expect(got.policy?.updatedAt).toBeUndefined();
      const r = await validate(c(), await newKey(c(), orgId));
      expect(r.outcome).toBe(Outcome.VALID);
      expect(r.organization).toBeUndefined();
    });

    it("shares one window among all the organisation's keys: L per window in total, then RATE_LIMITED by the organisation", async () => {
      const orgId = newOrg();
      const keys = [await newKey(c(), orgId), await newKey(c(), orgId), await newKey(c(), orgId)];
      const up = await setPolicy(c(), orgId, { rateLimit: { requests: 4, windowSeconds: 60 } }, ["rate_limit"]);
      expect(up.policy).toMatchObject({ orgId, rateLimit: { requests: 4, windowSeconds: 60 } });
      const outcomes = [];
      for (let i = 0; i < 9; i++) outcomes.push(await validate(c(), keys[i % 3]!));
      expect(outcomes.map((o) => o.outcome)).toEqual([...Array(4).fill(Outcome.VALID), ...Array(5).fill(Outcome.RATE_LIMITED)]);
      expect(outcomes[0]!.organization?.rateLimit).toMatchObject({ limit: 4, remaining: 3 });
      expect(outcomes[8]).toMatchObject({ refusedBy: PolicyLevel.ORGANIZATION, organization: { rateLimit: { limit: 4, remaining: 0 } } });
      expect(outcomes[8]!.organization!.rateLimit!.retryAfterMs).toBe(60_000);
      clock.advance(60_000);
      expect((await validate(c(), keys[0]!)).outcome).toBe(Outcome.VALID);
    });

    it("shares one balance among the organisation's keys, refuses with USAGE_EXCEEDED by the organisation and spends nothing of the key's", async () => {
      const orgId = newOrg();
      const metered = await newKey(c(), orgId, 100);
      const free = await newKey(c(), orgId);
      await setPolicy(c(), orgId, { credits: { remaining: 5n } }, ["credits"]);
      expect(await validate(c(), metered, 2)).toMatchObject({ outcome: Outcome.VALID, credits: { remaining: 98n }, organization: { credits: { remaining: 3n } } });
      expect(await validate(c(), free, 3)).toMatchObject({ outcome: Outcome.VALID, organization: { credits: { remaining: 0n } } });
      const refused = await validate(c(), metered);
      expect(refused).toMatchObject({ valid: false, outcome: Outcome.USAGE_EXCEEDED, refusedBy: PolicyLevel.ORGANIZATION, organization: { credits: { remaining: 0n } } });
      expect(refused.credits?.remaining).toBe(98n); // the key's credits were given back
      expect((await validate(c(), metered, 0)).credits?.remaining).toBe(98n);
      const got = await c().call(OrganizationService, "getOrganizationPolicy", { orgId }, ADMIN_KEY);
      expect(got.policy?.credits?.remaining).toBe(0n);
    });

    it("checks the key's own policies first: a key refusal spends nothing of the organisation's", async () => {
      const orgId = newOrg();
      const key = await newKey(c(), orgId, 1);
      await setPolicy(c(), orgId, { credits: { remaining: 10n }, rateLimit: { requests: 100, windowSeconds: 60 } }, ["credits", "rate_limit"]);
      expect(await validate(c(), key)).toMatchObject({ outcome: Outcome.VALID, organization: { credits: { remaining: 9n }, rateLimit: { remaining: 99 } } });
      const refused = await validate(c(), key);
      expect(refused).toMatchObject({ outcome: Outcome.USAGE_EXCEEDED, refusedBy: PolicyLevel.KEY });
      const other = await newKey(c(), orgId);
      // The refused call took no point of the shared window and no credit of the shared balance.
      expect(await validate(c(), other)).toMatchObject({ organization: { credits: { remaining: 8n }, rateLimit: { remaining: 98 } } });
    });

    it("clears a field named in the mask and left unset, and records every change in the audit log", async () => {
      const orgId = newOrg();
      const key = await newKey(c(), orgId);
      await setPolicy(c(), orgId, { credits: { remaining: 3n, refill: { amount: 3n, schedule: { case: "dayOfMonth", value: 1 } } } }, ["credits"]);
      expect((await validate(c(), key)).organization?.credits?.remaining).toBe(2n);
      const cleared = await setPolicy(c(), orgId, {}, ["credits"]);
      expect(cleared.policy?.credits).toBeUndefined();
      const r = await validate(c(), key);
      expect(r.outcome).toBe(Outcome.VALID);
      expect(r.organization).toBeUndefined();
      const events = await c().call(AuditService, "listAuditEvents", { orgId, targetType: AuditTargetType.ORGANIZATION }, ADMIN_KEY);
      expect(events.events.map((e) => e.action)).toEqual([AuditAction.ORGANIZATION_POLICY_UPDATED, AuditAction.ORGANIZATION_POLICY_UPDATED]);
      expect(events.events[0]).toMatchObject({ targetId: orgId, updateMask: ["credits"] });
      expect(JSON.stringify(events.events[1]!.after)).toContain("refill");
    });

    it.each([
      ["policy.credits.remaining", { credits: { remaining: BigInt(LIMITS.creditsMax) } }, { credits: { remaining: BigInt(LIMITS.creditsMax) + 1n } }, ["credits"]],
      ["policy.credits.refill.interval_seconds", { credits: { remaining: 1n, refill: { amount: 1n, schedule: { case: "intervalSeconds", value: 60 } } } }, { credits: { remaining: 1n, refill: { amount: 1n, schedule: { case: "intervalSeconds", value: 59 } } } }, ["credits"]],
      ["policy.rate_limit.requests", { rateLimit: { requests: LIMITS.rateLimitRequestsMax, windowSeconds: 60 } }, { rateLimit: { requests: LIMITS.rateLimitRequestsMax + 1, windowSeconds: 60 } }, ["rate_limit"]],
      ["policy.rate_limit.window_seconds", { rateLimit: { requests: 1, windowSeconds: LIMITS.windowSecondsMax } }, { rateLimit: { requests: 1, windowSeconds: LIMITS.windowSecondsMax + 1 } }, ["rate_limit"]],
      ["update_mask", { rateLimit: { requests: 1, windowSeconds: 1 } }, { rateLimit: { requests: 1, windowSeconds: 1 } }, ["rate_limits"]],
    ] as const)("bounds %s: accepted at the limit, INVALID_ARGUMENT past it with nothing written", async (field, at, past, paths) => {
      const orgId = newOrg();
      await setPolicy(c(), orgId, at, field === "update_mask" ? ["rate_limit"] : [...paths]);
      const before = await c().call(OrganizationService, "getOrganizationPolicy", { orgId }, ADMIN_KEY);
      const err = await failure(setPolicy(c(), orgId, past, [...paths]));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.metadata.field).toBe(field);
      const after = await c().call(OrganizationService, "getOrganizationPolicy", { orgId }, ADMIN_KEY);
      expect(after).toEqual(before);
    });
  });
});
