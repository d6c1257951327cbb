// Exact fixed windows in memory, one per key id, expiring lazily: the embedded store's limiter and, on MongoDB,
// each replica's insurance limiter while the database fails.
//
// Not rate-limiter-flexible's RateLimiterMemory: its MemoryStorage (11.4) arms a setTimeout per key per window to
// drop the record, with no option to turn it off. Node clamps delays above 2^31-1 ms (~24.8 days) to 1 ms, so a
// monthly window reset at once; it also reads Date.now() rather than the injected clock. Here a window ends when a
// call finds it over, and an amortised sweep drops ended windows, so memory follows the keys active in their window.
//
// With rows (the embedded store), windows outlive the process without a write per call: a key's stored window is
// read on its first use after a start, and the windows changed since the last flush are written (transactions of
// FLUSH_CHUNK) once per flush interval and on close. A crash (SIGKILL) forgets at most the admissions since the last
// flush began, so over-admission after it is bounded by about one interval's traffic (longer only while writes fail).
import type { Clock } from "../domain/clock.js";
import { storeUnavailable } from "../domain/errors.js";
import type { RateLimit } from "../domain/types.js";
import type { RateWindowRows } from "../store/types.js";
import type { WindowTake } from "./leased-rate-limiter.js";
import { allowed, denied, type KeyRateLimiter, type RateDecision, type WindowState, windowEndMs } from "./rate-limiter.js";

const MIN_SWEEP_SIZE = 1024;
/** Windows per flush transaction (~5 ms of writes on a busy 2-core machine). */
const FLUSH_CHUNK = 1000;

export interface WindowPersistence {
  rows: RateWindowRows;
  flushIntervalMs: number;
  /** How often ended rows are deleted (also once at start). */
  pruneEveryMs?: number;
  /** Windows per transaction (default FLUSH_CHUNK); the server uses fewer, so that no flush stalls validate for long. */
  flushChunk?: number;
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
  /** Flushes run one after another; the timer skips its turn while one is pending. */
  private flushes: Promise<void> = Promise.resolve();
  private pendingFlushes = 0;

  constructor(private readonly clock: Clock, private readonly persist?: WindowPersistence) {}

  /** Prunes ended rows and starts the periodic flush (a no-op without rows). */
  start(): void {
    if (!this.persist || this.timer) return;
    void this.flush();
    this.timer = setInterval(() => {
      if (this.pendingFlushes === 0) void this.flush();
    }, this.persist.flushIntervalMs);
    this.timer.unref();
  }

  /** Stops the timer and writes what is left: call after the servers have drained. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Resolves once every window changed before the call is written (or its write failed); deletes ended rows when due. */
  flush(): Promise<void> {
    this.pendingFlushes++;
    this.flushes = this.flushes
      .then(() => this.flushOnce())
      .catch((err) => this.persist?.onFlushError?.(err, 0)) // the chain stays usable whatever one flush threw
      .finally(() => void this.pendingFlushes--);
    return this.flushes;
  }

  /**
   * FLUSH_CHUNK windows per transaction, yielding between chunks, so a flush of many keys never stalls validate for
   * long. Each chunk writes the windows' current values: a window changed meanwhile is dirty again and written next.
   */
  private async flushOnce(): Promise<void> {
    if (!this.persist) return;
    const now = this.clock.nowMs();
    const ids = [...this.dirty];
    this.dirty = new Set();
    let failed = 0;
    let error: unknown;
    const size = this.persist.flushChunk ?? FLUSH_CHUNK;
    for (let i = 0; i < ids.length; i += size) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      const chunk = ids.slice(i, i + size);
      const batch = [];
      for (const id of chunk) {
        const w = this.windows.get(id);
        if (w && w.endMs > now) batch.push({ keyId: id, startMs: w.startMs, endMs: w.endMs, count: w.count });
      }
      try {
        this.persist.rows.save(batch);
      } catch (err) {
        for (const id of chunk) this.dirty.add(id); // absolute counts: writing them again is harmless
        failed += batch.length;
        error = err;
      }
    }
    if (now >= this.nextPruneMs) {
      try {
        this.persist.rows.prune(now);
        this.nextPruneMs = now + (this.persist.pruneEveryMs ?? 3_600_000);
      } catch (err) {
        error ??= err; // housekeeping only: tried again at the next flush
      }
    }
    if (error !== undefined) this.persist.onFlushError?.(error, failed);
  }

  /** Windows held (tests: memory stays bounded by the keys active in their window). */
  get size(): number {
    return this.windows.size;
  }

  async consume(keyId: string, limit: RateLimit): Promise<RateDecision> {
    return this.take(keyId, limit);
  }

  /** Never waits: a window not held is read from its row synchronously. */
  consumeNow(keyId: string, limit: RateLimit): RateDecision {
    return this.take(keyId, limit);
  }

  take(keyId: string, limit: RateLimit): RateDecision {
    const now = this.clock.nowMs();
    const w = this.current(keyId, limit, now);
    const resetAtMs = windowEndMs(w, limit);
    // Only admitted calls count, so a changed limit applies to exactly what was spent.
    if (w.count >= limit.requests) return denied(limit, resetAtMs, now);
    w.count++;
    if (this.persist) this.dirty.add(keyId);
    return allowed(limit, limit.requests - w.count, resetAtMs);
  }

  /**
   * Grants up to `points` of the key's current window to a local validator's lease (services/validator-leases.ts),
   * never past the limit: leased points count like admitted calls (and are written like them), so validators and
   * this process together admit at most the limit per window.
   */
  lease(keyId: string, limit: RateLimit, points: number): WindowTake {
    const w = this.current(keyId, limit, this.clock.nowMs());
    const granted = Math.max(0, Math.min(points, limit.requests - w.count));
    if (granted > 0) {
      w.count += granted;
      if (this.persist) this.dirty.add(keyId);
    }
    return { granted, count: w.count, startMs: w.startMs, endMs: windowEndMs(w, limit) };
  }

  /** Returns unused leased points to the window that started at startMs; nothing once that window has ended. */
  giveBack(keyId: string, startMs: number, points: number): void {
    const w = this.windows.get(keyId) ?? this.load(keyId);
    if (!w || w.startMs !== startMs || w.endMs <= this.clock.nowMs()) return;
    w.count -= Math.min(points, w.count);
    if (this.persist) this.dirty.add(keyId);
  }

  refund(keyId: string, limit: RateLimit, d: RateDecision): void {
    const w = this.windows.get(keyId);
    if (!w || w.count === 0 || windowEndMs(w, limit) !== d.resetAtMs) return; // another window: nothing to give back
    w.count--;
    if (this.persist) this.dirty.add(keyId);
  }

  /** The key's window now under `limit`: held, else stored, else a new one (the last one ended). */
  private current(keyId: string, limit: RateLimit, now: number): WindowState {
    let w = this.windows.get(keyId);
    if (!w) {
      this.sweep(now);
      w = this.load(keyId);
    }
    if (!w || now >= windowEndMs(w, limit)) {
      w = { startMs: now, endMs: now + limit.windowSeconds * 1000, count: 0 };
      this.windows.set(keyId, w);
    }
    return w;
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
