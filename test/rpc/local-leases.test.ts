// LeaseLimits through the wire (raw validators over grpc-js and Connect): validators and ValidateApiKey share one
// window and one balance, so together they admit at most L per window and R credits, and exactly L / R once the
// validators return what they did not use with ReportLocalUsage; on both stores and on 2 MongoDB replicas.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { LocalValidationService } from "../../gen/ts/flux/apikeys/v1/local_validation_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { ManualClock } from "../../src/domain/clock.js";
import { type Caller, failure, retryUnavailable } from "../support/callers.js";
import { newOrg } from "../support/fixtures.js";
import { LimitsClient, validatorAdminKey } from "../support/local-limits-client.js";
import { startReplicaServers } from "../support/replica-servers.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

interface Node {
  callers: Caller[];
  port: { grpc: number; http: number };
}

async function validateUntilRefused(c: Caller, secret: string, refusal: Outcome): Promise<number> {
  for (let admitted = 0; ; admitted++) {
    const r = await retryUnavailable(() => c.call(ApiKeyService, "validateApiKey", { key: secret }, ADMIN_KEY));
    if (r.outcome === refusal) return admitted;
    expect(Outcome[r.outcome]).toBe("VALID");
  }
}

async function createLimited(c: Caller, opts: { requests?: number; windowSeconds?: number; credits?: number; refillSeconds?: number; orgId?: string }) {
  const res = await c.call(
    ApiKeyService,
    "createApiKey",
    {
      orgId: opts.orgId ?? newOrg(),
      name: "limited",
      rateLimit: opts.requests ? { requests: opts.requests, windowSeconds: opts.windowSeconds ?? 3600 } : undefined,
      credits: opts.credits === undefined ? undefined : { remaining: BigInt(opts.credits), refill: opts.refillSeconds ? { amount: BigInt(opts.credits), schedule: { case: "intervalSeconds", value: opts.refillSeconds } } : undefined },
    },
    ADMIN_KEY,
  );
  return { id: res.apiKey!.id, secret: res.secret };
}

/**
 * A validator on the first node (gRPC) and one on the last (Connect) lease while ValidateApiKey runs on every node;
 * then they return what they did not use and the network takes the rest. [admitted while racing, in total].
 */
async function race(nodes: Node[], adminKey: string, clock: ManualClock, kind: "rate" | "credits", total: number): Promise<[number, number]> {
  const k = await createLimited(nodes[0]!.callers[0]!, kind === "rate" ? { requests: total } : { credits: total });
  const refusal = kind === "rate" ? Outcome.RATE_LIMITED : Outcome.USAGE_EXCEEDED;
  const last = nodes[nodes.length - 1]!;
  const vs = await Promise.all([new LimitsClient(nodes[0]!.callers[0]!, adminKey, nodes[0]!.port).ready(), new LimitsClient(last.callers[1]!, adminKey, last.port).ready()]);
  try {
    const ask = kind === "rate" ? { points: 4 } : { credits: 7 };
    const [, , ...network] = await Promise.all([
      vs[0].leaseAll(k.id, ask, (g) => Math.min(g, 3)),
      vs[1].leaseAll(k.id, ask, (g) => Math.max(0, g - 2)),
      ...nodes.map((n, i) => validateUntilRefused(n.callers[i % 2]!, k.secret, refusal)),
    ]);
    const racing = vs[0].admitted + vs[1].admitted + network.reduce((a, b) => a + b, 0);
    for (const v of vs) await v.returnAll(k.id);
    clock.advance(1001); // a spent window or balance is read again after 1 s on each node (the same window still)
    let after = 0;
    for (const n of nodes) after += await validateUntilRefused(n.callers[0]!, k.secret, refusal);
    console.log(`LeaseLimits (${kind}, ${nodes.length} node(s)): limit ${total}, racing admitted ${racing} (validators ${vs[0].admitted}+${vs[1].admitted}), after returns ${racing + after}`);
    return [racing, racing + after];
  } finally {
    for (const v of vs) v.close();
  }
}

describe.each(STORE_KINDS)("one server on the %s store", (kind) => {
  let t: TestServer;
  const clock = new ManualClock(Date.now());
  let node: Node;
  let adminKey: string;
  beforeAll(async () => {
    t = await startTestServer(kind, "local-leases", { clock });
    node = { callers: t.callers, port: { grpc: t.server.grpcPort, http: t.server.httpPort } };
    adminKey = await validatorAdminKey(t.callers[0]!);
  });
  afterAll(() => t?.stop());

  it.each([50, 4])("2 validators and ValidateApiKey admit at most L = %i per window, exactly L once the validators return their leases", { timeout: 60_000 }, async (l) => {
    const [racing, total] = await race([node], adminKey, clock, "rate", l);
    expect(racing).toBeLessThanOrEqual(l);
    expect(total).toBe(l);
  });

  it.each([60, 5])("2 validators and ValidateApiKey admit at most R = %i credits, exactly R once the validators return their leases", { timeout: 60_000 }, async (r) => {
    const [racing, total] = await race([node], adminKey, clock, "credits", r);
    expect(racing).toBeLessThanOrEqual(r);
    expect(total).toBe(r);
  });

  it.each([0, 1])("grants at most a tenth of the limit and 10,000 points, with unleased, reset_at and expires_in_ms to the window's end (caller %i)", async (ci) => {
    const c = t.callers[ci]!;
    const v = await new LimitsClient(c, adminKey, node.port).ready();
    try {
      const small = await createLimited(c, { requests: 1000, windowSeconds: 60 });
      const a = (await v.lease(small.id, 500)).rateLimit!;
      expect([a.granted, a.limit, a.unleased, a.expiresInMs]).toEqual([100, 1000, 900, 60_000]);
      expect(timestampMs(a.resetAt!)).toBe(clock.nowMs() + 60_000);
      clock.advance(10_000);
      expect((await v.lease(small.id, 1)).rateLimit).toMatchObject({ granted: 1, unleased: 899, expiresInMs: 50_000 });
      const big = await createLimited(c, { requests: 1_000_000_000, windowSeconds: 86_400 * 365 });
      const b = (await v.lease(big.id, 1_000_000)).rateLimit!;
      expect([b.granted, b.unleased, b.expiresInMs]).toEqual([10_000, 1_000_000_000 - 10_000, 0xffff_ffff]);
      const one = await createLimited(c, { requests: 1 });
      expect((await v.lease(one.id, 5)).rateLimit).toMatchObject({ granted: 1, unleased: 0 });
      expect((await v.lease(one.id, 5)).rateLimit).toMatchObject({ granted: 0, unleased: 0 }); // spent: 0, not an error
      expect((await v.lease(one.id, 0)).rateLimit).toBeUndefined(); // nothing asked
      const unlimited = await createLimited(c, {});
      const none = await v.lease(unlimited.id, 5, 5n);
      expect([none.rateLimit, none.credits]).toEqual([undefined, undefined]);
    } finally {
      v.close();
    }
  });

  it("grants credits from the stored balance after a lazy refill, usable at most 60 s and never past the next refill", async () => {
    const c = t.callers[0]!;
    const v = await new LimitsClient(c, adminKey, node.port).ready();
    try {
      const k = await createLimited(c, { credits: 100, refillSeconds: 90 });
      expect((await v.lease(k.id, 0, 30n)).credits).toMatchObject({ granted: 30n, unleased: 70n, expiresInMs: 60_000 });
      clock.advance(45_000);
      const b = (await v.lease(k.id, 0, 500n)).credits!; // fewer than asked: the balance is short
      expect([b.granted, b.unleased, b.expiresInMs]).toEqual([70n, 0n, 45_000]);
      expect(timestampMs(b.nextRefillAt!)).toBe(clock.nowMs() + 45_000);
      expect((await v.lease(k.id, 0, 1n)).credits).toMatchObject({ granted: 0n, unleased: 0n });
      clock.advance(45_000); // refilled to 100: the lease of the old period is worth nothing there
      expect((await v.lease(k.id, 0, 10n)).credits).toMatchObject({ granted: 10n, unleased: 90n });
      await v.report([]); // two reports later, a return can no longer be meant for the last period's lease
      await v.report([]);
      await v.report([{ keyId: k.id, credits: 100 }]); // holds 10 of this period (the 100 of the last are gone)
      clock.advance(1001);
      expect(await validateUntilRefused(c, k.secret, Outcome.USAGE_EXCEEDED)).toBe(100);
    } finally {
      v.close();
    }
  });

  it("drops points returned after their window ended, and returns no more than the session holds", async () => {
    const c = t.callers[1]!;
    const v = await new LimitsClient(c, adminKey, node.port).ready();
    try {
      const k = await createLimited(c, { requests: 20, windowSeconds: 60 });
      expect((await v.lease(k.id, 2)).rateLimit!.granted).toBe(2);
      clock.advance(60_000); // the window ended: a new one starts with the next call
      expect(await validateUntilRefused(c, k.secret, Outcome.RATE_LIMITED)).toBe(20);
      await v.report([{ keyId: k.id, points: 2 }]); // leased from the last window: dropped
      clock.advance(1001);
      expect(await validateUntilRefused(c, k.secret, Outcome.RATE_LIMITED)).toBe(0);
      clock.advance(60_000);
      expect((await v.lease(k.id, 2)).rateLimit!.granted).toBe(2);
      expect(await validateUntilRefused(c, k.secret, Outcome.RATE_LIMITED)).toBe(18);
      await v.report([{ keyId: k.id, points: 500 }]); // holds 2: exactly 2 go back
      clock.advance(1001);
      expect(await validateUntilRefused(c, k.secret, Outcome.RATE_LIMITED)).toBe(2);
    } finally {
      v.close();
    }
  });

  it("matches a return that arrives after a grant from a new window or balance against the old lease first (never over-admits)", async () => {
    const c = t.callers[0]!;
    const v = await new LimitsClient(c, adminKey, node.port).ready();
    try {
      // Rate: 2 points of a window that ended, returned after a lease of the next window: dropped.
      const k = await createLimited(c, { requests: 20, windowSeconds: 60 });
      expect((await v.lease(k.id, 2)).rateLimit!.granted).toBe(2);
      clock.advance(60_000);
      expect((await v.lease(k.id, 2)).rateLimit!.granted).toBe(2); // the new window's lease, still held
      await v.report([{ keyId: k.id, points: 2 }]); // the old lease's points (the validator dropped it)
      clock.advance(1001);
      expect(await validateUntilRefused(c, k.secret, Outcome.RATE_LIMITED)).toBe(18);
      // Credits: 10 of a balance set again since, returned after a lease of the new balance: dropped.
      const m = await createLimited(c, { credits: 50 });
      expect((await v.lease(m.id, 0, 10n)).credits!.granted).toBe(10n);
      clock.advance(1000);
      await c.call(ApiKeyService, "updateApiKey", { apiKey: { id: m.id, credits: { remaining: 20n } }, updateMask: { paths: ["credits"] } }, ADMIN_KEY);
      expect((await v.lease(m.id, 0, 4n)).credits!.granted).toBe(4n);
      await v.report([{ keyId: m.id, credits: 10 }]);
      clock.advance(1001);
      expect(await validateUntilRefused(c, m.secret, Outcome.USAGE_EXCEEDED)).toBe(16);
      await v.report([{ keyId: m.id, credits: 4 }]); // now the new lease's own credits: they go back
      clock.advance(1001);
      expect(await validateUntilRefused(c, m.secret, Outcome.USAGE_EXCEEDED)).toBe(4);
    } finally {
      v.close();
    }
  });

  it("answers a key of another organisation exactly like a missing one (KEY_NOT_FOUND), and takes nothing from it", async () => {
    const c = t.callers[1]!;
    const orgA = newOrg();
    const limitedKey = await validatorAdminKey(c, orgA);
    const v = await new LimitsClient(c, limitedKey, node.port).ready();
    try {
      const other = await createLimited(c, { requests: 3, credits: 3 });
      const own = await createLimited(c, { requests: 3, orgId: orgA });
      const missing = await failure(v.lease("key_00000000000000000000", 1, 1n));
      const foreign = await failure(v.lease(other.id, 1, 1n));
      for (const f of [missing, foreign]) expect([f.code, f.reason]).toEqual([Code.NotFound, "KEY_NOT_FOUND"]);
      expect(foreign.message.replace(other.id, "ID")).toBe(missing.message.replace("key_00000000000000000000", "ID"));
      expect((await v.lease(own.id, 1)).rateLimit!.granted).toBe(1);
      expect(await validateUntilRefused(c, other.secret, Outcome.RATE_LIMITED)).toBe(3);
    } finally {
      v.close();
    }
  });

  it("refuses every call of a session after its closing report (VALIDATOR_SESSION_ENDED), and a stranger's session id alike", async () => {
    const c = t.callers[0]!;
    const v = await new LimitsClient(c, adminKey, node.port).ready();
    const k = await createLimited(c, { requests: 10 });
    expect((await v.lease(k.id, 1)).rateLimit!.granted).toBe(1);
    await v.report([{ keyId: k.id, points: 1 }], { closing: true });
    expect(await v.stream.ended()).toMatchObject({ code: Code.FailedPrecondition, reason: "VALIDATOR_SESSION_ENDED" });
    for (const f of [await failure(v.lease(k.id, 1)), await failure(v.report([]))]) expect([f.code, f.reason]).toEqual([Code.FailedPrecondition, "VALIDATOR_SESSION_ENDED"]);
    const other = await new LimitsClient(c, await validatorAdminKey(c), node.port).ready();
    try {
      const stolen = await failure(c.call(LocalValidationService, "leaseLimits", { sessionId: other.sessionId, keyId: k.id, rateLimitPoints: 1 }, adminKey));
      expect([stolen.code, stolen.reason]).toEqual([Code.FailedPrecondition, "VALIDATOR_SESSION_ENDED"]);
    } finally {
      other.close();
    }
    expect(await validateUntilRefused(c, k.secret, Outcome.RATE_LIMITED)).toBe(10); // the returned point came back
  });
});

describe("two replicas on MongoDB", () => {
  let cluster: Awaited<ReturnType<typeof startReplicaServers>>;
  const clock = new ManualClock(Date.now());
  let nodes: Node[];
  let adminKey: string;
  beforeAll(async () => {
    cluster = await startReplicaServers(2, "local-leases-rpc", undefined, {}, clock);
    nodes = cluster.replicas.map((r) => ({ callers: r.callers, port: { grpc: r.grpcPort, http: r.httpPort } }));
    adminKey = await validatorAdminKey(nodes[0]!.callers[0]!);
  }, 90_000);
  afterAll(() => cluster?.stop());

  it.each([120, 3])("validators on both replicas and ValidateApiKey on both admit at most L = %i, exactly L once the leases come back", { timeout: 90_000 }, async (l) => {
    const [racing, total] = await race(nodes, adminKey, clock, "rate", l);
    expect(racing).toBeLessThanOrEqual(l);
    expect(total).toBe(l);
  });

  it.each([150, 4])("validators on both replicas and ValidateApiKey on both admit at most R = %i credits, exactly R once the leases come back", { timeout: 90_000 }, async (r) => {
    const [racing, total] = await race(nodes, adminKey, clock, "credits", r);
    expect(racing).toBeLessThanOrEqual(r);
    expect(total).toBe(r);
  });
});
