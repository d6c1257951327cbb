// Shared limits without a database write per call. Each replica leases a slice of a key's window budget from the
// shared store (one conditional findAndModify) and spends it locally. The store never grants past the limit, so
// all replicas together admit at most L per window; the slack is under-admission: points leased by one replica
// and unused when the window ends (at most chunk − 1 per other replica). Small limits lease one point at a time
// and are exact. When the store fails, the insurance limiter (in memory, the same limit, per replica) answers.
import type { Clock } from "../domain/clock.js";
import { storeUnavailable } from "../domain/errors.js";
import type { RateLimit } from "../domain/types.js";
import { denied, type KeyRateLimiter, type RateDecision } from "./rate-limiter.js";

/** What a lease got: points granted, the window's count after the grant, and the window's bounds under `limit`. */
export interface WindowTake {
  granted: number;
  count: number;
  startMs: number;
  endMs: number;
}

/** The shared per-key windows (MongoDB: store/mongo/mongo-rate-windows.ts). */
export interface RateWindowStore {
  /** Grants up to `points` from the key's current window, never more than the limit leaves; opens a new window when the last ended. */
  take(keyId: string, limit: RateLimit, points: number, nowMs: number): Promise<WindowTake>;
  /** Returns unused points to the window that started at startMs (no-op once that window is gone). */
  giveBack(keyId: string, startMs: number, points: number): Promise<void>;
  /** Drops windows that have ended. */
  prune(nowMs: number): Promise<void>;
}

interface Lease extends RateLimit {
  startMs: number;
  endMs: number;
  /** Points this replica may still admit in the window. */
  tokens: number;
  /** Points nobody had leased when this lease was taken. */
  unleased: number;
  /** When the store said so: a spent window is asked again after spentRecheckMs, since local validators (and a
   * replica that stops) give unused points back to it. */
  readAtMs: number;
}

export interface LeaseOptions {
  /** Fraction of the limit leased at once. */
  fraction: number;
  maxChunk: number;
  /** How often ended windows are deleted from the store. */
  pruneEveryMs: number;
  /** A window found spent is trusted this long before the store is asked again (at most one read per key and
   * interval while a key is refused, never one per call). */
  spentRecheckMs?: number;
}

export const DEFAULT_LEASES: LeaseOptions = { fraction: 0.05, maxChunk: 1000, pruneEveryMs: 3_600_000, spentRecheckMs: 1000 };
const MIN_SWEEP_SIZE = 1024;

export class LeasedRateLimiter implements KeyRateLimiter {
  private readonly leases = new Map<string, Lease>();
  private readonly pending = new Map<string, Promise<void>>();
  private sweepAtSize = MIN_SWEEP_SIZE;
  private nextPruneMs?: number;

  constructor(
    private readonly store: RateWindowStore,
    private readonly clock: Clock,
    /** Answers while the store fails; without one, a failure is STORE_UNAVAILABLE. Never a reason to deny. */
    private readonly insurance?: KeyRateLimiter,
    private readonly opts: LeaseOptions = DEFAULT_LEASES,
  ) {}

  async consume(keyId: string, limit: RateLimit): Promise<RateDecision> {
    // Ends: each pass spends a token, finds the window spent, or waits for a lease that takes points from the
    // shared budget (or learns it is spent), so the budget runs out after finitely many passes.
    for (let pass = 0; ; pass++) {
      const d = this.spend(keyId, limit, pass > 0);
      if (d) return d;
      // One lease request per key at a time; concurrent callers wait for it and then spend from it.
      let p = this.pending.get(keyId);
      if (!p) {
        p = this.lease(keyId, limit).finally(() => this.pending.delete(keyId));
        this.pending.set(keyId, p);
      }
      try {
        await p;
      } catch (err) {
        if (!this.insurance) throw storeUnavailable(err);
        return this.insurance.consume(keyId, limit);
      }
    }
  }

  /** A token of a live lease, or a window known to be spent; undefined when a lease must be asked for. */
  consumeNow(keyId: string, limit: RateLimit): RateDecision | undefined {
    return this.spend(keyId, limit, false);
  }

  /** `afterLease`: the lease was just read, so a spent window is trusted whatever its age. */
  private spend(keyId: string, limit: RateLimit, afterLease: boolean): RateDecision | undefined {
    const now = this.clock.nowMs();
    const l = this.leases.get(keyId);
    if (!l || l.endMs <= now || !sameLimit(l, limit)) return undefined;
    if (l.tokens > 0) {
      l.tokens--;
      return { allowed: true, limit: limit.requests, remaining: l.tokens + l.unleased, resetAtMs: l.endMs, retryAfterMs: 0 };
    }
    // Spent everywhere: denied without the store, until the reading is old enough for returns to matter.
    if (l.unleased === 0 && (afterLease || now - l.readAtMs < (this.opts.spentRecheckMs ?? 1000))) return denied(limit, l.endMs, now);
    return undefined;
  }

  refund(keyId: string, limit: RateLimit, d: RateDecision): void {
    const l = this.leases.get(keyId);
    if (l && sameLimit(l, limit) && l.endMs === d.resetAtMs) l.tokens++; // back into this replica's lease
    else this.insurance?.refund?.(keyId, limit, d);
  }

  private async lease(keyId: string, limit: RateLimit): Promise<void> {
    const now = this.clock.nowMs();
    const old = this.leases.get(keyId);
    if (old && old.tokens > 0 && old.endMs > now) {
      // The limit changed under a live lease: return its unused points so the new limit meets the exact spent count.
      this.leases.delete(keyId);
      await this.store.giveBack(keyId, old.startMs, old.tokens).catch(() => {}); // lost points only under-admit
    }
    const chunk = Math.max(1, Math.min(this.opts.maxChunk, Math.floor(limit.requests * this.opts.fraction)));
    const t = await this.store.take(keyId, limit, chunk, now);
    if (!this.leases.has(keyId)) this.sweep(now);
    this.leases.set(keyId, { ...limit, startMs: t.startMs, endMs: t.endMs, tokens: t.granted, unleased: Math.max(0, limit.requests - t.count), readAtMs: now });
    this.maybePrune(now);
  }

  /** Drops ended leases once the map has doubled since the last sweep: memory follows the keys active in their window. */
  private sweep(now: number): void {
    if (this.leases.size < this.sweepAtSize) return;
    for (const [id, l] of this.leases) if (l.endMs <= now) this.leases.delete(id);
    this.sweepAtSize = Math.max(MIN_SWEEP_SIZE, this.leases.size * 2);
  }

  private maybePrune(now: number): void {
    this.nextPruneMs ??= now + this.opts.pruneEveryMs;
    if (now < this.nextPruneMs) return;
    this.nextPruneMs = now + this.opts.pruneEveryMs;
    void this.store.prune(now).catch(() => {}); // housekeeping only: stale windows are also reset on their next use
  }
}

function sameLimit(a: RateLimit, b: RateLimit): boolean {
  return a.requests === b.requests && a.windowSeconds === b.windowSeconds;
}
