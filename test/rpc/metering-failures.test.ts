// A metered ValidateApiKey that fails halfway (the organisation's balance cannot be read after the key's own credits
// and rate-limit point were taken) answers UNAVAILABLE and spends nothing at any level, on both stores and transports.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { ManualClock } from "../../src/domain/clock.js";
import type { CreditBalanceStore } from "../../src/store/types.js";
import { failure } from "../support/callers.js";
import { newOrg } from "../support/fixtures.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

describe.each(STORE_KINDS)("a metered call failing halfway on the %s store", (kind) => {
  let t: TestServer;
  let failOrgReads = false;
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 9, 0, 0));
  beforeAll(async () => {
    t = await startTestServer(kind, "metering-failures", { clock });
    // The real balance store, failing reads of organisations' balances on demand (the ledger calls it at call time).
    const balances = t.deps.stores.balances as CreditBalanceStore;
    const get = balances.get.bind(balances);
    balances.get = async (subject) => {
      if (failOrgReads && subject.startsWith("org:")) throw new Error("disk I/O error");
      return get(subject);
    };
  });
  afterAll(() => t?.stop());

  describe.each(["grpc", "connect"] as const)("over %s", (name) => {
    const c = () => t.callers.find((x) => x.name === name)!;

    it("answers UNAVAILABLE and gives back the key's credits and the key's and organisation's rate-limit points", async () => {
      const orgId = newOrg();
      await c().call(OrganizationService, "updateOrganizationPolicy", { policy: { orgId, credits: { remaining: 100n }, rateLimit: { requests: 50, windowSeconds: 60 } }, updateMask: { paths: ["credits", "rate_limit"] } }, ADMIN_KEY);
      const key = (await c().call(ApiKeyService, "createApiKey", { orgId, name: "metered", credits: { remaining: 10_000n }, rateLimit: { requests: 5, windowSeconds: 60 } }, ADMIN_KEY)).secret;
      const validate = (cost: number) => c().call(ApiKeyService, "validateApiKey", { key, cost }, ADMIN_KEY);
      // Leases 500 of the key's credits and 5 of the organisation's; the next call needs more of the organisation's.
      expect(await validate(1)).toMatchObject({ outcome: Outcome.VALID, credits: { remaining: 9_999n }, rateLimit: { remaining: 4 }, organization: { credits: { remaining: 99n }, rateLimit: { remaining: 49 } } });
      failOrgReads = true;
      try {
        const e = await failure(validate(10));
        expect(e.code).toBe(Code.Unavailable);
        expect(e.reason).toBe("STORE_UNAVAILABLE");
      } finally {
        failOrgReads = false;
      }
      // Nothing of the failed call was spent: cost 0 reads the balances (and takes the call's own rate-limit point).
      expect(await validate(0)).toMatchObject({ outcome: Outcome.VALID, credits: { remaining: 9_999n }, rateLimit: { remaining: 3 }, organization: { credits: { remaining: 99n }, rateLimit: { remaining: 48 } } });
    });
  });
});
