// Shared limits without a database write per call. Each process leases a slice of a key's window budget from the
// shared limiter (one atomic $inc of `chunk` points) and spends it locally. Leases only ever grant points within
// the limit, so all processes together admit at most L per window; the slack is under-admission: points leased
// by one process and unused when the window ends (at most chunk − 1 per other process). Small limits lease one
// point at a time and are exact.
import { RateLimiterRes } from "rate-limiter-flexible";
import { storeUnavailable } from "../domain/errors.js";
import type { RateLimit } from "../domain/types.js";
import type { KeyRateLimiter, RateDecision, RateLimiterPool } from "./rate-limiter.js";

interface Lease {
  requests: number;
  windowSeconds: number;
  /** Points this process may still admit in the window. */
  tokens: number;
  /** Points nobody had leased when this lease was taken. */
  unleased: number;
  resetAtMs: number;
}

export interface LeaseOptions {
  /** Fraction of the limit leased at once. */
  fraction: number;
  maxChunk: number;
  maxLeases: number;
}

export const DEFAULT_LEASES: LeaseOptions = { fraction: 0.05, maxChunk: 1000, maxLeases: 100_000 };

export class LeasedRateLimiter implements KeyRateLimiter {
  private readonly leases = new Map<string, Lease>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly pool: RateLimiterPool, private readonly opts: LeaseOptions = DEFAULT_LEASES) {}

  async consume(keyId: string, limit: RateLimit): Promise<RateDecision> {
    // Ends: each pass spends a token, finds the window spent, or waits for a lease that takes points from the
    // shared budget (or learns it is spent), so the budget runs out after finitely many passes.
    for (;;) {
      const now = Date.now();
      const l = this.leases.get(keyId);
      if (l && l.resetAtMs > now && l.requests === limit.requests && l.windowSeconds === limit.windowSeconds) {
        if (l.tokens > 0) {
          l.tokens--;
          return { allowed: true, limit: limit.requests, remaining: l.tokens + l.unleased, resetAtMs: l.resetAtMs, retryAfterMs: 0 };
        }
        if (l.unleased === 0) return denied(limit, l.resetAtMs, now); // the window is spent everywhere
      }
      // One lease request per key at a time; concurrent callers wait for it and then spend from it.
      let p = this.pending.get(keyId);
      if (!p) {
        p = this.lease(keyId, limit).finally(() => this.pending.delete(keyId));
        this.pending.set(keyId, p);
      }
      await p;
    }
  }

  private async lease(keyId: string, limit: RateLimit): Promise<void> {
    const chunk = Math.max(1, Math.min(this.opts.maxChunk, Math.floor(limit.requests * this.opts.fraction)));
    let res: RateLimiterRes;
    let granted = chunk;
    let blocked = false;
    try {
      res = await this.pool.limiterFor(limit).consume(keyId, chunk);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw storeUnavailable(err);
      res = err;
      // consumedPoints 0 means blocked in memory without asking the store: nothing granted.
      blocked = res.consumedPoints === 0;
      granted = blocked ? 0 : Math.max(0, chunk - (res.consumedPoints - limit.requests));
    }
    if (this.leases.size >= this.opts.maxLeases && !this.leases.has(keyId)) {
      this.leases.delete(this.leases.keys().next().value!); // dropping a lease only under-admits
    }
    this.leases.set(keyId, {
      requests: limit.requests,
      windowSeconds: limit.windowSeconds,
      tokens: granted,
      unleased: blocked ? 0 : Math.max(0, limit.requests - res.consumedPoints),
      resetAtMs: Date.now() + Math.max(1, res.msBeforeNext),
    });
  }
}

function denied(limit: RateLimit, resetAtMs: number, now: number): RateDecision {
  return { allowed: false, limit: limit.requests, remaining: 0, resetAtMs, retryAfterMs: Math.max(1, resetAtMs - now) };
}
