// Exact fixed windows in memory, one per key id, expiring lazily: the embedded store's limiter and, on MongoDB,
// each replica's insurance limiter while the database fails.
//
// Not rate-limiter-flexible's RateLimiterMemory: its MemoryStorage (11.4) arms a setTimeout per key per window to
// drop the record, with no option to turn it off. Node clamps delays above 2^31-1 ms (~24.8 days) to 1 ms, so a
// monthly window reset at once; it also reads Date.now() rather than the injected clock. Here a window ends when a
// call finds it over, and an amortised sweep drops ended windows, so memory follows the keys active in their window.
import type { Clock } from "../domain/clock.js";
import type { RateLimit } from "../domain/types.js";
import { allowed, denied, type KeyRateLimiter, type RateDecision, type WindowState, windowEndMs } from "./rate-limiter.js";

const MIN_SWEEP_SIZE = 1024;

export class WindowCounter implements KeyRateLimiter {
  private readonly windows = new Map<string, WindowState>();
  /** Sweep when the map reaches this size; reset to twice the survivors, so sweeping costs O(1) per new window. */
  private sweepAtSize = MIN_SWEEP_SIZE;

  constructor(private readonly clock: Clock) {}

  /** Windows held (tests: memory stays bounded by the keys active in their window). */
  get size(): number {
    return this.windows.size;
  }

  async consume(keyId: string, limit: RateLimit): Promise<RateDecision> {
    return this.take(keyId, limit);
  }

  take(keyId: string, limit: RateLimit): RateDecision {
    const now = this.clock.nowMs();
    let w = this.windows.get(keyId);
    if (!w || now >= windowEndMs(w, limit)) {
      if (!w) this.sweep(now);
      w = { startMs: now, endMs: now + limit.windowSeconds * 1000, count: 0 };
      this.windows.set(keyId, w);
    }
    const resetAtMs = windowEndMs(w, limit);
    // Only admitted calls count, so a changed limit applies to exactly what was spent.
    if (w.count >= limit.requests) return denied(limit, resetAtMs, now);
    w.count++;
    return allowed(limit, limit.requests - w.count, resetAtMs);
  }

  private sweep(now: number): void {
    if (this.windows.size < this.sweepAtSize) return;
    // A window that reached the end it started with is over under any later limit (see windowEndMs).
    for (const [id, w] of this.windows) if (w.endMs <= now) this.windows.delete(id);
    this.sweepAtSize = Math.max(MIN_SWEEP_SIZE, this.windows.size * 2);
  }
}
