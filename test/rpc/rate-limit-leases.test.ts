// The MongoDB rate-limit windows behind several replicas (LeasedRateLimiter over MongoRateWindowStore, against the
// test MongoDB-wire server): at most L per window across replicas, exact for small limits; a changed limit meets
// the exact spent count even with chunked leases; stale windows reset on use; each key's window is its own.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import type { RateLimit } from "../../src/domain/types.js";
import { LeasedRateLimiter } from "../../src/services/leased-rate-limiter.js";
import { WindowCounter } from "../../src/services/window-counter.js";
import { MongoRateWindowStore } from "../../src/store/mongo/mongo-rate-windows.js";
import type { MongoStores } from "../../src/store/mongo/mongo-stores.js";
import { openTestStores } from "../support/stores.js";

const DAY_MS = 86_400_000;
let stores: MongoStores;
let dispose: () => Promise<void>;
const clock = new ManualClock();
let n = 0;
const newKeyId = () => `key_${++n}_${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  const t = await openTestStores("mongodb", "rate-limit-leases");
  stores = t.stores as MongoStores;
  dispose = t.dispose;
});
afterAll(() => dispose?.());

/** A replica: its own limiter and store object over the shared database. */
const replica = () => new LeasedRateLimiter(new MongoRateWindowStore(stores.db), clock, new WindowCounter(clock));

async function admitted(limiters: LeasedRateLimiter[], keyId: string, limit: RateLimit, perReplica: number): Promise<number> {
  const all = limiters.flatMap((l) => Array.from({ length: perReplica }, () => l.consume(keyId, limit)));
  return (await Promise.all(all)).filter((d) => d.allowed).length;
}

describe("MongoDB windows shared by replicas", () => {
  it("admits exactly L across 3 replicas × 10·L concurrent validations for a small limit", async () => {
    const limit = { requests: 20, windowSeconds: 60 };
    expect(await admitted([replica(), replica(), replica()], newKeyId(), limit, 200)).toBe(20);
  });

  it("admits at most L (and loses at most chunk − 1 per other replica) for a chunked limit", async () => {
    const limit = { requests: 200, windowSeconds: 60 }; // leases of 10
    const got = await admitted([replica(), replica(), replica()], newKeyId(), limit, 700);
    expect(got).toBeLessThanOrEqual(200);
    expect(got).toBeGreaterThanOrEqual(200 - 2 * 9);
  });

  it("enforces a monthly window across replicas and opens the next month lazily", async () => {
    const [a, b] = [replica(), replica()];
    const id = newKeyId();
    const monthly = { requests: 2, windowSeconds: 2_592_000 };
    const start = clock.nowMs();
    expect((await a.consume(id, monthly)).allowed).toBe(true);
    expect((await b.consume(id, monthly)).allowed).toBe(true);
    clock.advance(25 * DAY_MS);
    expect(await a.consume(id, monthly)).toMatchObject({ allowed: false, resetAtMs: start + 30 * DAY_MS });
    expect((await b.consume(id, monthly)).allowed).toBe(false);
    clock.advance(5 * DAY_MS);
    expect((await b.consume(id, monthly)).allowed).toBe(true);
    expect((await a.consume(id, monthly)).allowed).toBe(true);
    expect((await a.consume(id, monthly)).allowed).toBe(false);
  });

  it("applies a changed limit to the exact spent count, with unused leased points given back", async () => {
    const [a, b] = [replica(), replica()];
    const id = newKeyId();
    const hour = (requests: number) => ({ requests, windowSeconds: 3600 });
    for (let i = 0; i < 60; i++) await a.consume(id, hour(1000)); // a holds a lease of 50 with 40 unused
    for (let i = 0; i < 50; i++) await b.consume(id, hour(1000)); // b spent its whole lease: 110 spent in all
    expect(await a.consume(id, hour(100))).toMatchObject({ allowed: false, limit: 100, remaining: 0 });
    expect(await b.consume(id, hour(100))).toMatchObject({ allowed: false, limit: 100, remaining: 0 });
    const raised = await b.consume(id, hour(2000));
    expect(raised).toMatchObject({ allowed: true, limit: 2000, remaining: 2000 - 111 });
  });

  it("keeps a key's window its own: another key cycling through 300 limit values leaves it spent", async () => {
    const r = replica();
    const victim = newKeyId();
    const attacker = newKeyId();
    const hour = { requests: 2, windowSeconds: 3600 };
    await r.consume(victim, hour);
    await r.consume(victim, hour);
    for (let i = 0; i < 300; i++) await r.consume(attacker, { requests: 1 + (i % 50), windowSeconds: 60 + i });
    expect(await replica().consume(victim, hour)).toMatchObject({ allowed: false, remaining: 0 });
    expect(await r.consume(victim, hour)).toMatchObject({ allowed: false, remaining: 0 });
  });

  it("keeps a window's start when its length changes: a shorter length ends it early, a longer one applies from the next window", async () => {
    const r = replica();
    const id = newKeyId();
    const start = clock.nowMs();
    await r.consume(id, { requests: 1, windowSeconds: 3600 });
    expect(await r.consume(id, { requests: 1, windowSeconds: 7200 })).toMatchObject({ allowed: false, resetAtMs: start + 3_600_000 });
    clock.advance(120_000);
    expect(await r.consume(id, { requests: 1, windowSeconds: 60 })).toMatchObject({ allowed: true, resetAtMs: start + 180_000 });
  });

  it("resets a stale window document on its next use and prunes ended ones", async () => {
    const windows = stores.db.collection("rate_windows");
    const store = new MongoRateWindowStore(stores.db);
    const id = newKeyId();
    const limit = { requests: 5, windowSeconds: 60 };
    await store.take(id, limit, 5, clock.nowMs());
    clock.advance(60_000);
    expect(await store.take(id, limit, 1, clock.nowMs())).toMatchObject({ granted: 1, count: 1, startMs: clock.nowMs() });
    clock.advance(60_000);
    await store.prune(clock.nowMs());
    expect(await windows.countDocuments({ _id: id as never })).toBe(0);
  });
});
