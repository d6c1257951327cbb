// A failing rate-limit store is never a reason to deny: each replica's in-memory insurance limiter (same limit,
// same exact windows, monthly ones included) answers instead, and without one the failure is STORE_UNAVAILABLE.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import { FluxError } from "../../src/domain/errors.js";
import type { RateLimit } from "../../src/domain/types.js";
import { LeasedRateLimiter, type RateWindowStore, type WindowTake } from "../../src/services/leased-rate-limiter.js";
import { type WindowState, windowEndMs } from "../../src/services/rate-limiter.js";
import { WindowCounter } from "../../src/services/window-counter.js";

const DAY_MS = 86_400_000;

/** The shared store's contract in memory: grants never pass the limit; a new window when the last ended. */
class MemoryWindowStore implements RateWindowStore {
  readonly windows = new Map<string, WindowState>();
  async take(keyId: string, limit: RateLimit, points: number, nowMs: number): Promise<WindowTake> {
    let w = this.windows.get(keyId);
    if (!w || nowMs >= windowEndMs(w, limit)) this.windows.set(keyId, (w = { startMs: nowMs, endMs: nowMs + limit.windowSeconds * 1000, count: 0 }));
    const granted = Math.max(0, Math.min(points, limit.requests - w.count));
    w.count += granted;
    return { granted, count: w.count, startMs: w.startMs, endMs: windowEndMs(w, limit) };
  }
  async giveBack(keyId: string, startMs: number, points: number) {
    const w = this.windows.get(keyId);
    if (w?.startMs === startMs) w.count -= points;
  }
  async prune() {}
}

/** Wraps a store and fails every call while `failing` is set, as a lost MongoDB connection does. */
class FailingStore implements RateWindowStore {
  failing = true;
  constructor(private readonly inner: RateWindowStore) {}
  private check() {
    if (this.failing) throw new Error("connection refused");
  }
  async take(...a: Parameters<RateWindowStore["take"]>) {
    this.check();
    return this.inner.take(...a);
  }
  async giveBack(...a: Parameters<RateWindowStore["giveBack"]>) {
    this.check();
    return this.inner.giveBack(...a);
  }
  async prune(nowMs: number) {
    this.check();
    return this.inner.prune(nowMs);
  }
}

async function allowedOf(limiter: LeasedRateLimiter, n: number, limit: RateLimit, keyId = "k") {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) out.push((await limiter.consume(keyId, limit)).allowed);
  return out;
}

describe("a rate-limit store that fails", () => {
  const limit = { requests: 10, windowSeconds: 60 };

  it("is answered by the insurance limiter: the first L calls are admitted, never RATE_LIMITED for the failure", async () => {
    const clock = new ManualClock();
    const leased = new LeasedRateLimiter(new FailingStore(new MemoryWindowStore()), clock, new WindowCounter(clock));
    const decisions = await allowedOf(leased, 11, limit);
    expect(decisions.slice(0, 10)).toEqual(Array(10).fill(true));
    expect(decisions[10]).toBe(false); // the insurance limiter's own limit, not the failure
  });

  it("is answered by an insurance limiter that enforces a monthly window exactly", async () => {
    const clock = new ManualClock();
    const monthly = { requests: 2, windowSeconds: 2_592_000 };
    const leased = new LeasedRateLimiter(new FailingStore(new MemoryWindowStore()), clock, new WindowCounter(clock));
    expect(await allowedOf(leased, 3, monthly)).toEqual([true, true, false]);
    clock.advance(25 * DAY_MS); // past 2^31-1 ms, where a per-key timer fires at once
    const limited = await leased.consume("k", monthly);
    expect(limited).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 5 * DAY_MS });
    clock.advance(5 * DAY_MS - 1);
    expect((await leased.consume("k", monthly)).allowed).toBe(false);
    clock.advance(1);
    expect(await allowedOf(leased, 3, monthly)).toEqual([true, true, false]);
  });

  it("keeps spending a lease taken before the failure, then falls back to the insurance limiter", async () => {
    const clock = new ManualClock();
    const store = new FailingStore(new MemoryWindowStore());
    store.failing = false;
    const big = { requests: 100, windowSeconds: 60 }; // leases of 5 points
    const leased = new LeasedRateLimiter(store, clock, new WindowCounter(clock));
    expect((await leased.consume("k", big)).allowed).toBe(true);
    store.failing = true;
    expect(await allowedOf(leased, 4, big)).toEqual([true, true, true, true]);
    expect((await leased.consume("k", big)).allowed).toBe(true); // from the insurance limiter
  });

  it("surfaces as STORE_UNAVAILABLE when no insurance limiter is configured", async () => {
    const leased = new LeasedRateLimiter(new FailingStore(new MemoryWindowStore()), new ManualClock());
    await expect(leased.consume("k", limit)).rejects.toSatisfy((e: unknown) => e instanceof FluxError && e.reason === "STORE_UNAVAILABLE");
  });

  it("leaves a healthy leased limiter admitting exactly L", async () => {
    const clock = new ManualClock();
    const leased = new LeasedRateLimiter(new MemoryWindowStore(), clock, new WindowCounter(clock));
    const decisions = await allowedOf(leased, 11, limit);
    expect(decisions.filter(Boolean)).toHaveLength(10);
    expect(decisions[10]).toBe(false);
  });
});
