// A failing rate-limit store is UNAVAILABLE, never RATE_LIMITED.
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { describe, expect, it } from "vitest";
import { FluxError } from "../../src/domain/errors.js";
import { LeasedRateLimiter } from "../../src/services/leased-rate-limiter.js";
import { RateLimiterPool } from "../../src/services/rate-limiter.js";

class BrokenLimiter extends RateLimiterMemory {
  override consume(): Promise<RateLimiterRes> {
    return Promise.reject(new Error("connection refused"));
  }
}

describe("a rate-limit store that fails", () => {
  const limit = { requests: 10, windowSeconds: 60 };

  it("surfaces as STORE_UNAVAILABLE from the direct limiter", async () => {
    const pool = new RateLimiterPool(() => new BrokenLimiter({ points: 1, duration: 1 }));
    await expect(pool.consume("k", limit)).rejects.toSatisfy((e: unknown) => e instanceof FluxError && e.reason === "STORE_UNAVAILABLE");
  });

  it("surfaces as STORE_UNAVAILABLE from the leased limiter", async () => {
    const leased = new LeasedRateLimiter(new RateLimiterPool(() => new BrokenLimiter({ points: 1, duration: 1 })));
    await expect(leased.consume("k", limit)).rejects.toSatisfy((e: unknown) => e instanceof FluxError && e.reason === "STORE_UNAVAILABLE");
  });

  it("leaves a healthy leased limiter admitting exactly L", async () => {
    const leased = new LeasedRateLimiter(new RateLimiterPool((l, prefix) => new RateLimiterMemory({ points: l.requests, duration: l.windowSeconds, keyPrefix: prefix })));
    const decisions = [];
    for (let i = 0; i < 11; i++) decisions.push((await leased.consume("k", limit)).allowed);
    expect(decisions.filter(Boolean)).toHaveLength(10);
    expect(decisions[10]).toBe(false);
  });
});
