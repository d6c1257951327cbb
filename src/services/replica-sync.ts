// Keeps every replica's caches (keys, admin keys) honest. Each replica polls the change log, drops the digests each change names,
// and records the last change it applied. An RPC that changes a key returns only once every live replica has
// applied its change. A replica that cannot poll stops trusting its cache (isFresh) before the others stop
// waiting for it (aliveMs > staleMs), so no replica serves a stale key after the changing RPC returns.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { FluxError } from "../domain/errors.js";
import type { ChangeLogStore } from "../store/types.js";

/** What a change drops on this replica: cached keys and admin keys, by digest. */
export interface Invalidator {
  invalidate(digests: string[]): void;
  clear(): void;
}

export interface ReplicaSyncOptions {
  pollMs: number;
  /** A replica whose last successful poll is older than this bypasses its cache. */
  staleMs: number;
  /** Replicas with a heartbeat newer than this are waited for. Must exceed staleMs. */
  aliveMs: number;
  /** How long a changing RPC waits for the other replicas. */
  waitTimeoutMs: number;
  /** How long a missing sequence number (allocated, not yet written) may hold up the feed before the cache is flushed. */
  gapTimeoutMs: number;
}

export const DEFAULT_SYNC: ReplicaSyncOptions = { pollMs: 20, staleMs: 2000, aliveMs: 3000, waitTimeoutMs: 5000, gapTimeoutMs: 2000 };

export class ReplicaSync {
  readonly replicaId = `r_${randomBytes(6).toString("hex")}`;
  private appliedSeq = 0;
  private lastPollOkAt = 0;
  private lastHeartbeatAt = 0;
  private gapSince?: number;
  private timer?: NodeJS.Timeout;
  private polling = false;
  private polls = 0;
  /** Observed in metrics: ms since the last successful poll. */
  lagMs = () => performance.now() - this.lastPollOkAt;

  constructor(
    private readonly log: ChangeLogStore,
    private readonly cache: Invalidator,
    private readonly logger: Logger,
    private readonly opts: ReplicaSyncOptions = DEFAULT_SYNC,
  ) {}

  async start(): Promise<void> {
    // A new replica's cache is empty: nothing before the current head concerns it.
    this.appliedSeq = await this.log.latestSeq();
    await this.log.heartbeat(this.replicaId, this.appliedSeq, Date.now());
    this.lastPollOkAt = this.lastHeartbeatAt = performance.now();
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs);
    this.timer.unref();
  }

  isFresh(): boolean {
    return performance.now() - this.lastPollOkAt < this.opts.staleMs;
  }

  /** Publishes a change and waits until every live replica (this one included) has applied it. */
  async publish(digests: string[]): Promise<void> {
    this.cache.invalidate(digests);
    const seq = await this.log.publish(digests, Date.now());
    const deadline = performance.now() + this.opts.waitTimeoutMs;
    for (;;) {
      const lagging = await this.log.lagging(seq, Date.now() - this.opts.aliveMs);
      if (lagging.length === 0) return;
      if (performance.now() > deadline) {
        throw new FluxError(
          "STORE_UNAVAILABLE",
          `the change is saved but ${lagging.length} replica(s) did not confirm it within ${this.opts.waitTimeoutMs} ms; they stop serving cached keys on their own`,
          { replicas: String(lagging.length) },
          1000,
        );
      }
      await new Promise((r) => setTimeout(r, Math.max(5, this.opts.pollMs / 2)));
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.log.leave(this.replicaId).catch(() => {});
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const before = this.appliedSeq;
      for (const c of await this.log.after(this.appliedSeq, 1000)) {
        if (c.seq !== this.appliedSeq + 1 && !this.gapExpired()) break; // wait for the missing one
        if (c.seq !== this.appliedSeq + 1) {
          // A writer died between allocating and writing: we cannot know what it changed.
          this.logger.warn({ from: this.appliedSeq, to: c.seq }, "change log gap: flushing the key cache");
          this.cache.clear();
        }
        this.gapSince = undefined;
        this.cache.invalidate(c.digests);
        this.appliedSeq = c.seq;
      }
      const now = performance.now();
      if (this.appliedSeq !== before || now - this.lastHeartbeatAt > 1000) {
        await this.log.heartbeat(this.replicaId, this.appliedSeq, Date.now());
        this.lastHeartbeatAt = now;
      }
      this.lastPollOkAt = now;
      if (++this.polls % 3000 === 0) await this.log.prune(Date.now() - 600_000, Date.now() - 3_600_000);
    } catch (err) {
      if (this.isFresh()) this.logger.error({ cause: (err as Error)?.message }, "change feed poll failed; cache bypassed until it recovers");
    } finally {
      this.polling = false;
    }
  }

  private gapExpired(): boolean {
    const now = performance.now();
    this.gapSince ??= now;
    return now - this.gapSince > this.opts.gapTimeoutMs;
  }
}
