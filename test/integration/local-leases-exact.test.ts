// Leases for local validators are exact at the service level (the RPC suites, test/rpc/local-leases*.test.ts, prove
// the same through the wire): validators leasing and ValidateApiKey racing on one key admit at most L per window and
// at most R credits, and exactly L / R once the validators return what they did not use; returns go back only to the
// window or balance period they came from and never exceed what the session holds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { Outcome } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { ManualClock } from "../../src/domain/clock.js";
import type { Deps } from "../../src/deps.js";
import type { SessionScope } from "../../src/services/validator-leases.js";
import { type Caller, retryUnavailable } from "../support/callers.js";
import { newOrg } from "../support/fixtures.js";
import { startReplicaServers } from "../support/replica-servers.js";
import { ADMIN_KEY, startTestServer, type TestServer } from "../support/server.js";
import { STORE_KINDS } from "../support/stores.js";

/** One server's network answers and its local-validator services, as a test drives them. */
interface Node {
  deps: Deps;
  caller: Caller;
}

/** A "validator": leases from one node, admits only from what it was granted, keeps some points unused. */
class FakeValidator {
  admitted = 0;
  unusedPoints = 0;
  unusedCredits = 0;
  private seq = 0;
  constructor(readonly node: Node, readonly session: SessionScope) {}

  /** Leases until the server grants nothing; uses `use` of every grant and keeps the rest. */
  async leaseAll(keyId: string, ask: { points?: number; credits?: number }, use: (granted: number) => number) {
    for (;;) {
      const a = await this.node.deps.services.local.leases.lease(this.session, { keyId, rateLimitPoints: ask.points ?? 0, credits: ask.credits ?? 0 });
      const granted = a.rateLimit?.granted ?? a.credits?.granted ?? 0;
      if (granted === 0) return;
      const used = use(granted);
      this.admitted += used;
      if (a.rateLimit) this.unusedPoints += granted - used;
      else this.unusedCredits += granted - used;
      await new Promise((r) => setImmediate(r)); // let the network calls interleave
    }
  }

  async returnAll(keyId: string) {
    await this.node.deps.services.local.usage.report(this.session, {
      reportSeq: ++this.seq,
      keys: [{ keyId, outcomes: [], scopeUses: [], returnedRateLimitPoints: this.unusedPoints, returnedCredits: this.unusedCredits }],
      malformed: 0,
      closing: false,
    });
    this.unusedPoints = this.unusedCredits = 0;
  }
}

/** Network validations on one node until the first refusal; the number admitted. */
async function validateUntilRefused(n: Node, secret: string, refusal: Outcome): Promise<number> {
  for (let admitted = 0; ; admitted++) {
    const r = await retryUnavailable(() => n.caller.call(ApiKeyService, "validateApiKey", { key: secret }, ADMIN_KEY));
    if (r.outcome === refusal) return admitted;
    expect(Outcome[r.outcome]).toBe("VALID");
  }
}

async function rateKey(c: Caller, requests: number, windowSeconds = 3600) {
  const res = await c.call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "limited", rateLimit: { requests, windowSeconds } }, ADMIN_KEY);
  return { id: res.apiKey!.id, secret: res.secret };
}

async function creditKey(c: Caller, remaining: number) {
  const res = await c.call(ApiKeyService, "createApiKey", { orgId: newOrg(), name: "metered", credits: { remaining: BigInt(remaining) } }, ADMIN_KEY);
  return { id: res.apiKey!.id, secret: res.secret, orgId: res.apiKey!.orgId };
}

/**
 * Two validators (on nodes[0] and nodes[last]) lease while ValidateApiKey runs on every node; then they return what
 * they did not use and the network takes the rest. Returns [admitted while racing, admitted in total].
 */
async function race(nodes: Node[], clock: ManualClock, kind: "rate" | "credits", total: number): Promise<[number, number]> {
  const k = kind === "rate" ? await rateKey(nodes[0]!.caller, total) : await creditKey(nodes[0]!.caller, total);
  const refusal = kind === "rate" ? Outcome.RATE_LIMITED : Outcome.USAGE_EXCEEDED;
  const vs = [new FakeValidator(nodes[0]!, { id: `a-${k.id}` }), new FakeValidator(nodes[nodes.length - 1]!, { id: `b-${k.id}` })];
  const ask = kind === "rate" ? { points: 4 } : { credits: 7 };
  const [, , ...network] = await Promise.all([
    vs[0]!.leaseAll(k.id, ask, (g) => Math.min(g, 3)),
    vs[1]!.leaseAll(k.id, ask, (g) => Math.max(0, g - 2)),
    ...nodes.map((n) => validateUntilRefused(n, k.secret, refusal)),
  ]);
  const racing = vs[0]!.admitted + vs[1]!.admitted + network.reduce((a, b) => a + b, 0);
  for (const v of vs) await v.returnAll(k.id);
  clock.advance(1001); // a spent window or balance is read again after 1 s on each node (still the same window)
  let after = 0;
  for (const n of nodes) after += await validateUntilRefused(n, k.secret, refusal);
  console.log(`local leases (${kind}, ${nodes.length} node(s)): limit ${total}, racing admitted ${racing} (validators ${vs[0]!.admitted}+${vs[1]!.admitted}), after returns ${racing + after}`);
  return [racing, racing + after];
}

describe.each(STORE_KINDS)("one server on the %s store", (kind) => {
  let t: TestServer;
  const clock = new ManualClock(Date.now());
  let node: Node;
  beforeAll(async () => {
    t = await startTestServer(kind, "local-leases", { clock });
    node = { deps: t.deps, caller: t.callers[0]! };
  });
  afterAll(() => t?.stop());

  it.each([60, 7, 1])("2 validators and ValidateApiKey admit at most L = %i per window, exactly L once leases come back", { timeout: 60_000 }, async (l) => {
    const [racing, total] = await race([node], clock, "rate", l);
    expect(racing).toBeLessThanOrEqual(l);
    expect(total).toBe(l);
  });

  it.each([100, 9])("2 validators and ValidateApiKey admit at most R = %i credits, exactly R once leases come back", { timeout: 60_000 }, async (r) => {
    const [racing, total] = await race([node], clock, "credits", r);
    expect(racing).toBeLessThanOrEqual(r);
    expect(total).toBe(r);
  });

  it("drops points returned after their window ended, and never returns more than the session holds", async () => {
    const k = await rateKey(node.caller, 10, 60);
    const s = { id: "late" };
    const leases = t.deps.services.local.leases;
    expect((await leases.lease(s, { keyId: k.id, rateLimitPoints: 5, credits: 0 })).rateLimit).toMatchObject({ granted: 1, limit: 10, unleased: 9 });
    clock.advance(61_000);
    await leases.giveBack(s, k.id, 1, 0); // the window it came from has ended: dropped
    expect(await validateUntilRefused(node, k.secret, Outcome.RATE_LIMITED)).toBe(10);
    clock.advance(61_000);
    const a = await leases.lease(s, { keyId: k.id, rateLimitPoints: 1, credits: 0 });
    expect(a.rateLimit!.granted).toBe(1);
    expect(await validateUntilRefused(node, k.secret, Outcome.RATE_LIMITED)).toBe(9);
    await leases.giveBack(s, k.id, 1000, 0); // holds 1: exactly 1 goes back
    expect(leases.held(s.id, k.id).points).toBe(0);
    clock.advance(1001);
    expect(await validateUntilRefused(node, k.secret, Outcome.RATE_LIMITED)).toBe(1);
  });

  it("drops credits returned after the balance was set again, and caps returns at what the session holds", async () => {
    const k = await creditKey(node.caller, 50);
    const s = { id: "credits-late" };
    const leases = t.deps.services.local.leases;
    const g = await leases.lease(s, { keyId: k.id, rateLimitPoints: 0, credits: 20 });
    expect(g.credits).toMatchObject({ granted: 20, unleased: 30, expiresInMs: 60_000 });
    await leases.giveBack(s, k.id, 0, 500); // holds 20: 20 go back
    clock.advance(1001);
    expect(await validateUntilRefused(node, k.secret, Outcome.USAGE_EXCEEDED)).toBe(50);
    await leases.lease(s, { keyId: k.id, rateLimitPoints: 0, credits: 5 }); // granted 0: nothing left
    clock.advance(1000);
    await node.caller.call(ApiKeyService, "updateApiKey", { apiKey: { id: k.id, credits: { remaining: 8n } }, updateMask: { paths: ["credits"] } }, ADMIN_KEY);
    const g2 = await leases.lease(s, { keyId: k.id, rateLimitPoints: 0, credits: 3 });
    expect(g2.credits).toMatchObject({ granted: 3, unleased: 5 });
    clock.advance(1000);
    await node.caller.call(ApiKeyService, "updateApiKey", { apiKey: { id: k.id, credits: { remaining: 4n } }, updateMask: { paths: ["credits"] } }, ADMIN_KEY);
    await leases.giveBack(s, k.id, 0, 3); // leased from the balance of 8, which no longer exists: dropped
    clock.advance(1001);
    expect(await validateUntilRefused(node, k.secret, Outcome.USAGE_EXCEEDED)).toBe(4);
  });
});

describe("two replicas on MongoDB", () => {
  let cluster: Awaited<ReturnType<typeof startReplicaServers>>;
  const clock = new ManualClock(Date.now());
  let nodes: Node[];
  beforeAll(async () => {
    cluster = await startReplicaServers(2, "local-leases-replicas", undefined, {}, clock);
    nodes = cluster.replicas.map((r) => ({ deps: r.deps, caller: r.callers[0]! }));
  }, 90_000);
  afterAll(() => cluster?.stop());

  it.each([200, 40, 3])("validators on both replicas and ValidateApiKey on both admit at most L = %i, exactly L once leases come back", { timeout: 90_000 }, async (l) => {
    const [racing, total] = await race(nodes, clock, "rate", l);
    expect(racing).toBeLessThanOrEqual(l);
    expect(total).toBe(l);
  });

  it.each([300, 20])("validators on both replicas and ValidateApiKey on both admit at most R = %i credits, exactly R once leases come back", { timeout: 90_000 }, async (r) => {
    const [racing, total] = await race(nodes, clock, "credits", r);
    expect(racing).toBeLessThanOrEqual(r);
    expect(total).toBe(r);
  });
});
