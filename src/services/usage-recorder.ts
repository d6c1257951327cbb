// Counts validations in memory and flushes them in one batch at least once a second and on shutdown.
// Never over-counts: a batch whose write fails is dropped, so a crash or a store outage under-counts by at most
// the batches it lost.
import type { Clock } from "../domain/clock.js";
import type { ApiKeyRecord, Outcome } from "../domain/types.js";
import type { ScopeUse, UsageIncrement, UsageStore } from "../store/types.js";

export const UNKNOWN_KEY_ID = "_unknown";
const HOUR_MS = 3_600_000;

export interface UsageRecorderOptions {
  flushIntervalMs: number;
  onFlushError?: (err: unknown, lost: number) => void;
  onFlushed?: (rows: number, ms: number) => void;
}

export class UsageRecorder {
  /** Per key id: its counts by hour and outcome (a row or two: no string is built per call), and when it last
   * answered VALID (0: not since the last flush). */
  private pending = new Map<string, { rows: UsageIncrement[]; lastUsedMs: number }>();
  /** Per key, the latest time each of its scopes was required: one entry per key and scope, not per call. */
  private scopeUses = new Map<string, Map<string, number>>();
  private timer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private lastFlushAt = performance.now();

  constructor(private readonly store: UsageStore, private readonly clock: Clock, private readonly opts: UsageRecorderOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.opts.flushIntervalMs);
    this.timer.unref();
  }

  /** `orgId`: the key's organisation (rows carry it so usage rolls up per organisation). */
  /** `count` and `lastUsedAtMs`: a local validator's report counts many answers at once, last used when it says. */
  record(keyId: string, outcome: Outcome, orgId?: string, count = 1, lastUsedAtMs?: number): void {
    const now = this.clock.nowMs();
    const hourStartMs = now - (now % HOUR_MS);
    let counts = this.pending.get(keyId);
    if (!counts) this.pending.set(keyId, (counts = { rows: [], lastUsedMs: 0 }));
    let row: UsageIncrement | undefined;
    for (const r of counts.rows) if (r.hourStartMs === hourStartMs && r.outcome === outcome) row = r;
    if (row) row.count += count;
    else counts.rows.push(orgId === undefined ? { keyId, hourStartMs, outcome, count } : { keyId, orgId, hourStartMs, outcome, count });
    const usedAt = lastUsedAtMs ?? now;
    if (outcome === "VALID" && counts.lastUsedMs < usedAt) counts.lastUsedMs = usedAt;
  }

  /** Notes that a validation required these scopes of the key (those the key does not carry are ignored). */
  recordScopes(key: ApiKeyRecord, required: readonly string[]): void {
    const now = this.clock.nowMs();
    let uses = this.scopeUses.get(key.id);
    if (!uses) this.scopeUses.set(key.id, (uses = new Map()));
    for (const s of required) {
      if ((uses.get(s) ?? -1) < now && key.scopes.includes(s)) uses.set(s, now);
    }
  }

  /** Flushes are serialised: one batch in flight at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushOnce());
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  /** Time since everything recorded up to then was last written (or there was nothing to write). */
  flushLagMs(): number {
    return performance.now() - this.lastFlushAt;
  }

  private async flushOnce(): Promise<void> {
    if (this.pending.size === 0 && this.scopeUses.size === 0) {
      this.lastFlushAt = performance.now();
      return;
    }
    const increments: UsageIncrement[] = [];
    const lastUsed = new Map<string, number>();
    for (const [keyId, counts] of this.pending) {
      increments.push(...counts.rows);
      if (counts.lastUsedMs) lastUsed.set(keyId, counts.lastUsedMs);
    }
    const scopeUses: ScopeUse[] = [];
    for (const [keyId, uses] of this.scopeUses) for (const [scope, atMs] of uses) scopeUses.push({ keyId, scope, atMs });
    this.pending = new Map();
    this.scopeUses = new Map();
    const started = performance.now();
    if (scopeUses.length) {
      // Apart from the counts: a failed write of these hints (last-required times, idempotent) loses no count.
      await this.store.applyScopeUses(scopeUses).catch((err) => this.opts.onFlushError?.(err, 0));
    }
    try {
      await this.store.apply(increments, lastUsed);
      this.lastFlushAt = performance.now();
      this.opts.onFlushed?.(increments.length, this.lastFlushAt - started);
    } catch (err) {
      this.opts.onFlushError?.(err, increments.reduce((n, i) => n + i.count, 0));
    }
  }
}
