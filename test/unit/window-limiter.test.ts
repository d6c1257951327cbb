// The in-memory fixed windows (embedded store; MongoDB's insurance limiter): every window the API accepts is exact,
// no timer per key, memory follows the keys active in their window, a key's count is its own and a changed limit
// applies to what the window has already spent.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import { MAX_WINDOW_SECONDS } from "../../src/services/key-input.js";
import { WindowCounter } from "../../src/services/window-counter.js";

const allowedOf = (c: WindowCounter, keyId: string, requests: number, windowSeconds: number, n: number) =>
  Array.from({ length: n }, () => c.take(keyId, { requests, windowSeconds }).allowed);

const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("in-memory rate-limit windows", () => {
  it.each([1, 59, 3600, 86_400, 2_147_484, 2_592_000, MAX_WINDOW_SECONDS])("enforce a %i-second window exactly, from its first call to its last millisecond", (windowSeconds) => {
    const clock = new ManualClock();
    const c = new WindowCounter(clock);
    const start = clock.nowMs();
    expect(allowedOf(c, "k", 2, windowSeconds, 3)).toEqual([true, true, false]);
    clock.set(start + windowSeconds * 1000 - 1);
    expect(c.take("k", { requests: 2, windowSeconds })).toMatchObject({ allowed: false, resetAtMs: start + windowSeconds * 1000, retryAfterMs: 1 });
    clock.set(start + windowSeconds * 1000);
    expect(allowedOf(c, "k", 2, windowSeconds, 3)).toEqual([true, true, false]);
  });

  it("arm no timer per key, whatever the window", () => {
    const c = new WindowCounter(new ManualClock());
    const before = activeTimers();
    for (let i = 0; i < 2000; i++) c.take(`k${i}`, { requests: 1, windowSeconds: i % 2 ? 2_592_000 : 1 });
    expect(activeTimers()).toBe(before);
  });

  it("hold memory for the keys active in their window only: ended windows are swept as new ones open", () => {
    const clock = new ManualClock();
    const c = new WindowCounter(clock);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10_000; i++) c.take(`r${round}-k${i}`, { requests: 5, windowSeconds: 60 });
      clock.advance(60_000);
    }
    expect(c.size).toBeLessThanOrEqual(2 * 10_000);
  });

  it("keep a key's count whatever another key's limits do: 10,050 limit values on key A leave key B spent", () => {
    const clock = new ManualClock();
    const c = new WindowCounter(clock);
    expect(allowedOf(c, "b", 2, 3600, 3)).toEqual([true, true, false]);
    for (let i = 0; i < 10_050; i++) c.take("a", { requests: 1 + (i % 100), windowSeconds: 60 + Math.floor(i / 100) });
    expect(c.take("b", { requests: 2, windowSeconds: 3600 })).toMatchObject({ allowed: false, remaining: 0 });
  });

  it("apply a lowered limit to the count already spent: 5 of 10 spent, lowered to 3 → limited at once", () => {
    const c = new WindowCounter(new ManualClock());
    allowedOf(c, "k", 10, 3600, 5);
    expect(c.take("k", { requests: 3, windowSeconds: 3600 })).toMatchObject({ allowed: false, limit: 3, remaining: 0 });
  });

  it("apply a raised limit to the count already spent: 5 of 10 spent, raised to 20 → 15 left", () => {
    const c = new WindowCounter(new ManualClock());
    allowedOf(c, "k", 10, 3600, 5);
    expect(c.take("k", { requests: 20, windowSeconds: 3600 })).toMatchObject({ allowed: true, limit: 20, remaining: 14 });
    expect(allowedOf(c, "k", 20, 3600, 15)).toEqual([...Array(14).fill(true), false]);
  });

  it("keep a window's start when its length changes: shorter ends it early, longer applies from the next window", () => {
    const clock = new ManualClock();
    const c = new WindowCounter(clock);
    const start = clock.nowMs();
    c.take("k", { requests: 1, windowSeconds: 3600 });
    expect(c.take("k", { requests: 1, windowSeconds: 7200 })).toMatchObject({ allowed: false, resetAtMs: start + 3_600_000 });
    expect(c.take("k", { requests: 1, windowSeconds: 600 })).toMatchObject({ allowed: false, resetAtMs: start + 600_000 });
    clock.advance(120_000);
    expect(c.take("k", { requests: 1, windowSeconds: 60 })).toMatchObject({ allowed: true, resetAtMs: start + 180_000 });
  });
});
