// Refill schedules (src/domain/credits.ts), pure: interval periods counted from when the credits were set, days of
// the month at 00:00 UTC clamped to the month's last day (28/29 February, 30-day months), and the balance a stored
// row holds under a newer, older or same epoch.
import { describe, expect, it } from "vitest";
import { type Credits, currentBalance, nextRefillAtMs, periodStartMs } from "../../src/domain/credits.js";

const utc = (y: number, m: number, d: number, h = 0) => Date.UTC(y, m - 1, d, h);

describe("refill schedules", () => {
  it("counts interval periods from when the balance was set", () => {
    const c: Credits = { remaining: 5, refill: { amount: 10, intervalSeconds: 3600 }, setAtMs: utc(2026, 1, 1, 12) };
    expect(periodStartMs(c, utc(2026, 1, 1, 12))).toBe(c.setAtMs);
    expect(periodStartMs(c, utc(2026, 1, 1, 13) - 1)).toBe(c.setAtMs);
    expect(periodStartMs(c, utc(2026, 1, 1, 13))).toBe(utc(2026, 1, 1, 13));
    expect(nextRefillAtMs(c, utc(2026, 1, 1, 15) + 5)).toBe(utc(2026, 1, 1, 16));
    expect(nextRefillAtMs(c, c.setAtMs - 1000)).toBe(utc(2026, 1, 1, 13)); // a clock behind the writer's
  });

  it.each([
    [31, utc(2026, 2, 10), utc(2026, 2, 28)],
    [31, utc(2028, 2, 10), utc(2028, 2, 29)], // leap year
    [30, utc(2026, 2, 10), utc(2026, 2, 28)],
    [31, utc(2026, 4, 1), utc(2026, 4, 30)],
    [31, utc(2026, 12, 31, 1), utc(2027, 1, 31)],
    [1, utc(2026, 12, 15), utc(2027, 1, 1)],
    [15, utc(2026, 3, 15), utc(2026, 4, 15)], // at the refill moment itself: the next one
  ])("day %i after %s refills next at %s (00:00 UTC, the month's last day when shorter)", (day, now, next) => {
    const c: Credits = { remaining: 1, refill: { amount: 9, dayOfMonth: day }, setAtMs: utc(2026, 1, 5) };
    expect(nextRefillAtMs(c, now)).toBe(next);
    expect(periodStartMs(c, next)).toBe(next);
    expect(periodStartMs(c, next - 1)).toBeLessThan(next);
  });

  it("does not refill before the first scheduled day after the balance was set", () => {
    const c: Credits = { remaining: 3, refill: { amount: 9, dayOfMonth: 1 }, setAtMs: utc(2026, 3, 20) };
    expect(periodStartMs(c, utc(2026, 3, 31))).toBe(c.setAtMs);
    expect(currentBalance("k", c, undefined, utc(2026, 3, 31)).remaining).toBe(3);
    expect(currentBalance("k", c, undefined, utc(2026, 4, 1)).remaining).toBe(9);
  });

  it("takes a stored balance of the same or a newer epoch, and replaces an older one", () => {
    const c: Credits = { remaining: 50, setAtMs: 2000 };
    expect(currentBalance("k", c, { subject: "k", epoch: 2000, remaining: 7, periodStartMs: 2000 }, 5000).remaining).toBe(7);
    expect(currentBalance("k", c, { subject: "k", epoch: 1000, remaining: 7, periodStartMs: 1000 }, 5000).remaining).toBe(50);
    expect(currentBalance("k", c, { subject: "k", epoch: 3000, remaining: 7, periodStartMs: 3000 }, 5000)).toMatchObject({ epoch: 3000, remaining: 7 });
  });
});
