// Exact fixed windows in memory, one per key id, expiring lazily: the embedded store's limiter and, on MongoDB,
// each replica's insurance limiter while the database fails.
//
// Not rate-limiter-flexible's RateLimiterMemory: its MemoryStorage (11.4) arms a setTimeout per key per window to
// drop the record, with no option to turn it off. Node clamps delays above 2^31-1 ms (~24.8 days) to 1 ms, so a
// monthly window reset at once; it also reads Date.now() rather than the injected clock. Here a window ends when a
// call finds it over, and an amortised sweep drops ended windows, so memory follows the keys active in their window.
//
// With rows (the embedded store), windows outlive the process without a write per call: a key's stored window is
// read on its first use after a start, and the windows changed since the last flush are written in one transaction
// at least once per flush interval and on close. A crash (SIGKILL) forgets at most the admissions since the last
// successful flush, so over-admission after it is bounded by one interval's traffic (longer only while writes fail).
import type { Clock } from "../domain/clock.js";
import { storeUnavailable } from "../domain/errors.js";
import type { RateLimit } from "../domain/types.js";
import type { RateWindowRows } from "../store/types.js";
import { allowed, denied, type KeyRateLimiter, type RateDecision, type WindowState, windowEndMs } from "./rate-limiter.js";

const MIN_SWEEP_SIZE = 1024;

export interface WindowPersistence {
  rows: RateWindowRows;
  flushIntervalMs: number;
  /** How often ended rows are deleted (also once at start). */
  pruneEveryMs?: number;
  /** A failed flush keeps its windows dirty: the next flush writes them again. */
  onFlushError?: (err: unknown, windows: number) => void;
}

export class WindowCounter implements KeyRateLimiter {
  private readonly windows = new Map<string, WindowState>();
  /** Sweep when the map reaches this size; reset to twice the survivors, so sweeping costs O(1) per new window. */
  private sweepAtSize = MIN_SWEEP_SIZE;
  /** Key ids whose window changed since the last flush. */
  private dirty = new Set<string>();
  private timer?: NodeJS.Timeout;
  private nextPruneMs = 0;

  constructor(private readonly clock: Clock, private readonly persist?: WindowPersistence) {}

  /** Prunes ended rows and starts the periodic flush (a no-op without rows). */
  start(): void {
    if (!this.persist || this.timer) return;
    this.flush();
    this.timer = setInterval(() => this.flush(), this.persist.flushIntervalMs);
    this.timer.unref();
  }

  /** Stops the timer and writes what is left: call after the servers have drained. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }

  /** Writes the windows changed since the last flush in one transaction; deletes ended rows when due. */
  flush(): void {
    if (!this.persist) return;
    const now = this.clock.nowMs();
    const ids = this.dirty;
    this.dirty = new Set();
    const batch = [];
    for (const id of ids) {
      const w = this.windows.get(id);
      if (w && w.endMs > now) batch.push({ keyId: id, startMs: w.startMs, endMs: w.endMs, count: w.count });
    }
    try {
      this.persist.rows.save(batch);
      if (now >= this.nextPruneMs) {
        this.persist.rows.prune(now);
        this.nextPruneMs = now + (this.persist.pruneEveryMs ?? 3_600_000);
      }
    } catch (err) {
      for (const id of ids) this.dirty.add(id); // absolute counts: writing them again is harmless
      this.persist.onFlushError?.(err, batch.length);
    }
  }

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
    if (!w) {
      this.sweep(now);
      w = this.load(keyId);
    }
    if (!w || now >= windowEndMs(w, limit)) {
      w = { startMs: now, endMs: now + limit.windowSeconds * 1000, count: 0 };
      this.windows.set(keyId, w);
    }
    const resetAtMs = windowEndMs(w, limit);
    // Only admitted calls count, so a changed limit applies to exactly what was spent.
    if (w.count >= limit.requests) return denied(limit, resetAtMs, now);
    w.count++;
    if (this.persist) this.dirty.add(keyId);
    return allowed(limit, limit.requests - w.count, resetAtMs);
  }

  /** The key's stored window (first use after a start, or after its window was swept): one read by key id. */
  private load(keyId: string): WindowState | undefined {
    if (!this.persist) return undefined;
    let row;
    try {
      row = this.persist.rows.get(keyId);
    } catch (err) {
      throw storeUnavailable(err); // admitting without the stored count could exceed the limit
    }
    if (!row) return undefined;
    const w = { startMs: row.startMs, endMs: row.endMs, count: row.count };
    this.windows.set(keyId, w);
    return w;
  }

  private sweep(now: number): void {
    if (this.windows.size < this.sweepAtSize) return;
    // A window that reached the end it started with is over under any later limit (see windowEndMs).
    for (const [id, w] of this.windows) if (w.endMs <= now) this.windows.delete(id);
    this.sweepAtSize = Math.max(MIN_SWEEP_SIZE, this.windows.size * 2);
  }
}
