// Organisation policies across 3 replicas on MongoDB: the shared window admits at most L per window over many keys
// validated on every replica, the shared balance is never spent past R (admitted + held in leases + stored = R),
// and a policy change is seen by every replica before UpdateOrganizationPolicy returns.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { OrganizationService } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { Outcome, PolicyLevel } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import type { MongoStores } from "../../src/store/mongo/mongo-stores.js";
import { newOrg } from "../support/fixtures.js";
import { startReplicaServers } from "../support/replica-servers.js";
import { ADMIN_KEY } from "../support/server.js";

let cluster: Awaited<ReturnType<typeof startReplicaServers>>;
beforeAll(async () => {
  cluster = await startReplicaServers(3, "org-replicas");
}, 90_000);
afterAll(async () => {
  await cluster?.stop();
});

const c0 = () => cluster.replicas[0]!.callers[0]!;
const keysOf = async (orgId: string, n: number) =>
  Promise.all(Array.from({ length: n }, async () => (await c0().call(ApiKeyService, "createApiKey", { orgId, name: "member" }, ADMIN_KEY)).secret));

/** Each secret validated `perKey` times on every replica and transport, all at once; UNAVAILABLE retried like a client. */
async function flood(secrets: string[], perKey: number) {
  const calls = cluster.replicas.flatMap((r, ri) =>
    secrets.flatMap((secret) =>
      Array.from({ length: perKey }, async (_, i) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await r.callers[(i + ri) % 2]!.call(ApiKeyService, "validateApiKey", { key: secret }, ADMIN_KEY);
          } catch (err) {
            if (attempt >= 5 || !String(err).startsWith("Error: Unavailable:")) throw err;
          }
        }
      }),
    ),
  );
  return Promise.all(calls);
}

describe("an organisation's shared limits on three replicas", () => {
  it.each([20, 60])("admit at most L = %i per window over 6 keys validated on every replica", { timeout: 90_000 }, async (L) => {
    const orgId = newOrg();
    const secrets = await keysOf(orgId, 6);
    await c0().call(OrganizationService, "updateOrganizationPolicy", { policy: { orgId, rateLimit: { requests: L, windowSeconds: 600 } }, updateMask: { paths: ["rate_limit"] } }, ADMIN_KEY);
    const answers = await flood(secrets, Math.ceil((2 * L) / 6));
    const admitted = answers.filter((a) => a.outcome === Outcome.VALID).length;
    console.log(`org shared window: admitted ${admitted} of ${answers.length} over 6 keys on 3 replicas with L=${L}`);
    expect(admitted).toBeLessThanOrEqual(L);
    expect(admitted).toBeGreaterThan(0);
    for (const a of answers) if (a.outcome !== Outcome.VALID) expect(a).toMatchObject({ outcome: Outcome.RATE_LIMITED, refusedBy: PolicyLevel.ORGANIZATION });
  });

  it.each([30, 400])("never spend the shared balance R = %i twice: admitted + held in leases + stored = R", { timeout: 90_000 }, async (R) => {
    const orgId = newOrg();
    const secrets = await keysOf(orgId, 5);
    await c0().call(OrganizationService, "updateOrganizationPolicy", { policy: { orgId, credits: { remaining: BigInt(R) } }, updateMask: { paths: ["credits"] } }, ADMIN_KEY);
    const answers = await flood(secrets, Math.ceil((2 * R) / 15));
    const admitted = answers.filter((a) => a.outcome === Outcome.VALID).length;
    const subject = `org:${orgId}`;
    const held = cluster.replicas.map((r) => r.deps.services.ledger.held(subject));
    const doc = await (cluster.replicas[0]!.deps.stores as MongoStores).db.collection<{ _id: string; remaining: number }>("credit_balances").findOne({ _id: subject });
    console.log(`org shared credits: admitted ${admitted} of ${answers.length} on 3 replicas with R=${R}; under-spent: held ${held.join("+")}, stored ${doc?.remaining ?? 0}`);
    expect(admitted + held.reduce((a, b) => a + b, 0) + (doc?.remaining ?? 0)).toBe(R);
    for (const a of answers) if (a.outcome !== Outcome.VALID) expect(a).toMatchObject({ outcome: Outcome.USAGE_EXCEEDED, refusedBy: PolicyLevel.ORGANIZATION });
  });

  it("see a policy change on every replica as soon as UpdateOrganizationPolicy returns", { timeout: 90_000 }, async () => {
    const orgId = newOrg();
    const [secret] = await keysOf(orgId, 1);
    // Warm every replica's cache with "no policy".
    for (const r of cluster.replicas) expect((await r.callers[0]!.call(ApiKeyService, "validateApiKey", { key: secret! }, ADMIN_KEY)).organization).toBeUndefined();
    for (let round = 1; round <= 5; round++) {
      const limit = 1000 + round;
      await cluster.replicas[round % 3]!.callers[round % 2]!.call(
        OrganizationService,
        "updateOrganizationPolicy",
        { policy: { orgId, rateLimit: { requests: limit, windowSeconds: 3600 } }, updateMask: { paths: ["rate_limit"] } },
        ADMIN_KEY,
      );
      for (const r of cluster.replicas) {
        for (const c of r.callers) {
          const a = await c.call(ApiKeyService, "validateApiKey", { key: secret!, cost: 0 }, ADMIN_KEY);
          expect(a.organization?.rateLimit?.limit, `round ${round}`).toBe(limit);
        }
      }
    }
    await c0().call(OrganizationService, "updateOrganizationPolicy", { policy: { orgId }, updateMask: { paths: ["rate_limit"] } }, ADMIN_KEY);
    for (const r of cluster.replicas) expect((await r.callers[1]!.call(ApiKeyService, "validateApiKey", { key: secret! }, ADMIN_KEY)).organization).toBeUndefined();
  });
});
