// Credits under concurrency: N concurrent validations against a balance of R admit exactly min(N, R) on one
// server (both stores), and on MongoDB across 3 replicas never more than R: every credit is either admitted,
// still held in a replica's lease (the measured under-spend, returned when the replica stops) or in the store.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import type { MongoStores } from "../../src/store/mongo/mongo-stores.js";
import type { Caller } from "../support/callers.js";
import { newOrg } from "../support/fixtures.js";
import { startReplicaServers } from "../support/replica-servers.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

const createMetered = async (c: Caller, remaining: number) => {
  const res = await c.call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "metered", credits: { remaining: BigInt(remaining) } }, ADMIN_KEY);
  return { id: res.apiKey!.id, secret: res.secret };
};

/** Validations until every caller answered; UNAVAILABLE (a busy machine) is retried like a client would. */
async function validateAll(calls: { c: Caller; secret: string }[]): Promise<Outcome[]> {
  return Promise.all(
    calls.map(async ({ c, secret }) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return (await c.call(ApiKeyService, "validateApiKey", { key: secret }, ADMIN_KEY)).outcome;
        } catch (err) {
          if (attempt >= 5 || !String(err).startsWith("Error: Unavailable:")) throw err;
        }
      }
    }),
  );
}

describe.each(STORE_KINDS)("one server on the %s store", (kind) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(kind, "credits-conc");
  });
  afterAll(async () => {
    await t?.stop();
  });

  it.each([
    [200, 50],
    [30, 50],
    [100, 100],
  ])("admits exactly min(N, R) of N = %i concurrent validations against R = %i", { timeout: 60_000 }, async (n, r) => {
    const k = await createMetered(t.callers[0]!, r);
    const outcomes = await validateAll(Array.from({ length: n }, (_, i) => ({ c: t.callers[i % 2]!, secret: k.secret })));
    const admitted = outcomes.filter((o) => o === Outcome.VALID).length;
    console.log(`credits (${kind}, one server): admitted ${admitted} of ${n} against R=${r} (expected ${Math.min(n, r)})`);
    expect(admitted).toBe(Math.min(n, r));
    expect(outcomes.filter((o) => o !== Outcome.VALID && o !== Outcome.USAGE_EXCEEDED)).toEqual([]);
  });
});

describe("three replicas on MongoDB", () => {
  let cluster: Awaited<ReturnType<typeof startReplicaServers>>;
  beforeAll(async () => {
    cluster = await startReplicaServers(3, "credits-replicas");
  }, 90_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  const stored = async (subject: string) =>
    ((await (cluster.replicas[0]!.deps.stores as MongoStores).db.collection<{ _id: string; remaining: number }>("credit_balances").findOne({ _id: subject }))?.remaining ?? 0);

  // R = 20 leases one credit at a time; 60 leases 3; 400 leases 20.
  it.each([
    [20, 3 * 40],
    [60, 3 * 120],
    [400, 3 * 300],
    [400, 3 * 55],
  ])("never admits more than R = %i of %i concurrent validations: admitted + held in leases + stored = R", { timeout: 90_000 }, async (r, n) => {
    const k = await createMetered(cluster.replicas[0]!.callers[0]!, r);
    const calls = Array.from({ length: n }, (_, i) => ({ c: cluster.replicas[i % 3]!.callers[Math.floor(i / 3) % 2]!, secret: k.secret }));
    const outcomes = await validateAll(calls);
    const admitted = outcomes.filter((o) => o === Outcome.VALID).length;
    const held = cluster.replicas.map((x) => x.deps.services.ledger.held(k.id));
    const left = await stored(k.id);
    console.log(
      `credits (3 replicas): admitted ${admitted} of ${n} against R=${r} (min(N,R)=${Math.min(n, r)}); under-spent: held in leases ${held.join("+")}, stored ${left}`,
    );
    expect(outcomes.filter((o) => o !== Outcome.VALID && o !== Outcome.USAGE_EXCEEDED)).toEqual([]);
    expect(admitted).toBeLessThanOrEqual(r);
    expect(admitted + held.reduce((a, b) => a + b, 0) + left).toBe(r); // no credit spent twice, none lost
    if (n <= r) expect(admitted).toBe(n);
  });

  it("under-spends at most one chunk − 1 per replica whose traffic moved away (R = 400, chunks of 20)", { timeout: 90_000 }, async () => {
    const r = 400;
    const k = await createMetered(cluster.replicas[0]!.callers[0]!, r);
    await validateAll([{ c: cluster.replicas[0]!.callers[0]!, secret: k.secret }]); // replica 0 leases 20, spends 1
    const calls = Array.from({ length: 2 * r }, (_, i) => ({ c: cluster.replicas[1 + (i % 2)]!.callers[i % 2]!, secret: k.secret }));
    const admitted = 1 + (await validateAll(calls)).filter((o) => o === Outcome.VALID).length;
    const held = cluster.replicas.map((x) => x.deps.services.ledger.held(k.id));
    console.log(`credits (3 replicas, traffic moved): admitted ${admitted} of R=${r}; under-spent: held in leases ${held.join("+")}`);
    expect(held[0]).toBe(19);
    expect(admitted + held.reduce((a, b) => a + b, 0) + (await stored(k.id))).toBe(r);
    expect(admitted).toBeGreaterThanOrEqual(r - 19);
  });

  it("returns unused leases to the shared balance when a replica stops", { timeout: 60_000 }, async () => {
    const k = await createMetered(cluster.replicas[0]!.callers[0]!, 1000);
    await validateAll([{ c: cluster.replicas[2]!.callers[0]!, secret: k.secret }]);
    const held = cluster.replicas[2]!.deps.services.ledger.held(k.id);
    expect(held).toBe(49); // a chunk of 50 (5%), one spent
    expect(await stored(k.id)).toBe(950);
    await cluster.replicas[2]!.deps.services.ledger.close();
    expect(await stored(k.id)).toBe(999);
  });
});
