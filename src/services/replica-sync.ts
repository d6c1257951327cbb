// Keeps every replica's caches (keys, admin keys) honest. Each replica polls the change log, drops the digests each change names,
// and records the last change it applied in a heartbeat. A changing RPC waits until every live replica has applied
// its change. A replica that cannot poll stops trusting its cache (isFresh) before the others stop waiting for it.
//
// No decision compares two machines' clocks. Freshness runs from the START of the poll that proved it, on this
// replica's monotonic clock. Liveness is judged by the waiter on ITS monotonic clock: a replica is dead once a read
// that started more than aliveMs after the waiter first saw the replica's current beat still shows that beat.
// Why that is safe: a poll heartbeats before it reads whenever heartbeatMs have passed since its last heartbeat, so
// every read that proves freshness starts less than heartbeatMs after a heartbeat the others can see; the reader is
// then fresh for less than heartbeatMs + staleMs after that beat, which is at most aliveMs (checked below).
// Local validators (validator-hub.ts) extend this replica: (1) the applied seq a heartbeat reports counts a change only
// once this replica's validator sessions acknowledged it or were cut off and are certainly stale, so a waiter that
// sees it knows they hold it too; (2) the hub answers a validator's acknowledgement only while isFresh(staleAfterMs),
// i.e. less than staleMs − staleAfterMs after the start of a successful poll, and the validator is fresh for at most
// staleAfterMs after its acknowledgement started: so it is fresh for less than staleMs after that poll started, like
// a cache, and the bound above (heartbeatMs + staleMs ≤ aliveMs) covers validators of a replica declared dead.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { ChangeLogStore, KeyChange, ReplicaBeat } from "../store/types.js";
import type { ChangeListener } from "./change-outbox.js";

/** What a change drops on this replica: cached keys and admin keys, by digest. */
export interface Invalidator {
  invalidate(digests: string[]): void;
  clear(): void;
}

/** A monotonic clock and a sleep: injected so tests move time by hand. */
export interface SyncTime {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const REAL_TIME: SyncTime = { now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export interface ReplicaSyncOptions {
  pollMs: number;
  /** A replica whose last successful poll STARTED longer ago than this bypasses its cache. */
  staleMs: number;
  /** Longest time between two heartbeats of a polling replica. */
  heartbeatMs: number;
  /** A replica whose beat stays unchanged this long (on the waiter's clock) is not waited for. At least staleMs + heartbeatMs. */
  aliveMs: number;
  /** How long a changing RPC waits for the other replicas. */
  waitTimeoutMs: number;
  /** How long a missing sequence number (allocated, not yet written) may hold up the feed before the cache is flushed. */
  gapTimeoutMs: number;
  /** Changes kept behind this replica's position, for replicas that fell behind (one further behind flushes its cache). */
  keepChanges: number;
  /** A replica record whose beat has not changed for this long is deleted (a replica killed without leaving). */
  forgetAfterMs: number;
}

export const DEFAULT_SYNC: ReplicaSyncOptions = {
  pollMs: 20,
  staleMs: 2000,
  heartbeatMs: 1000,
  aliveMs: 3000,
  waitTimeoutMs: 5000,
  gapTimeoutMs: 2000,
  keepChanges: 1000,
  forgetAfterMs: 600_000,
};

const BATCH = 1000;
const MAINTAIN_EVERY_POLLS = 500;

interface Peer {
  beat: string;
  appliedSeq: number;
  /** End of the read that first showed this beat. */
  changedAt: number;
  /** Start of the latest read that still showed it. */
  sameAt: number;
}

export class ReplicaSync {
  readonly replicaId = `r_${randomBytes(6).toString("hex")}`;
  readonly opts: ReplicaSyncOptions;
  private appliedSeq = 0;
  /** The seq heartbeats report: applied here AND confirmed by this replica's validator sessions (≤ appliedSeq). */
  private confirmedSeq = 0;
  private confirming: Promise<unknown> = Promise.resolve();
  private pendingConfirms = 0;
  private validators?: ChangeListener;
  private lastPollOkAt = -Infinity;
  private lastBeatAt = -Infinity;
  private reportPending = false;
  private gapSince?: number;
  private timer?: NodeJS.Timeout;
  private polling = false;
  private polls = 0;
  private readonly peers = new Map<string, Peer>();
  /** Observed in metrics: ms since the start of the last successful poll. */
  lagMs = () => this.time.now() - this.lastPollOkAt;

  constructor(
    private readonly log: ChangeLogStore,
    private readonly cache: Invalidator,
    private readonly logger: Logger,
    opts: Partial<ReplicaSyncOptions> = {},
    private readonly time: SyncTime = REAL_TIME,
  ) {
    this.opts = { ...DEFAULT_SYNC, ...opts };
    if (this.opts.aliveMs < this.opts.staleMs + this.opts.heartbeatMs) {
      throw new Error(`replica sync: aliveMs (${this.opts.aliveMs}) must be at least staleMs + heartbeatMs (${this.opts.staleMs + this.opts.heartbeatMs})`);
    }
  }

  /** Joins the feed at its head (a new replica's cache is empty) and, unless told otherwise, polls every pollMs. */
  async start(timer = true): Promise<void> {
    const readAt = this.time.now();
    await this.beat();
    await this.observePeers();
    this.appliedSeq = this.confirmedSeq = await this.log.latestSeq();
    this.reportPending = true;
    this.lastPollOkAt = readAt;
    if (!timer) return;
    this.timer = setInterval(() => void this.poll(), this.opts.pollMs);
    this.timer.unref();
  }

  /** With marginMs: fresh for at least that much longer (what a validator's acknowledgement needs, see above). */
  isFresh(marginMs = 0): boolean {
    return this.time.now() - this.lastPollOkAt < this.opts.staleMs - marginMs;
  }

  /** This replica's local validators: each applied change is told to them, and reported only once they hold it. */
  setValidators(v: ChangeListener): void {
    this.validators = v;
  }

  /** Appends a change to the log and drops its digests here. Call it after the write it describes. */
  async publish(digests: string[]): Promise<number> {
    this.cache.invalidate(digests);
    return this.log.publish(digests, Date.now());
  }

  /** Waits until every live replica (this one included) has applied `seq`; returns those that had not by the timeout. */
  async waitFor(seq: number): Promise<string[]> {
    const deadline = this.time.now() + this.opts.waitTimeoutMs;
    let lagging: string[] | undefined;
    for (;;) {
      try {
        // Only reads made during this wait (so after the change was written) may declare a replica dead.
        lagging = (await this.observePeers()).filter((r) => r.appliedSeq < seq && !this.dead(r.replicaId)).map((r) => r.replicaId);
      } catch {
        // judged by the last read that succeeded
      }
      if (lagging?.length === 0) return [];
      if (this.time.now() >= deadline) return lagging ?? [...this.peers].filter(([, p]) => p.appliedSeq < seq).map(([id]) => id);
      await this.time.sleep(Math.max(5, this.opts.pollMs / 2));
    }
  }

  /** Replicas with a heartbeat record, this one included, as last read. */
  knownReplicas(): number {
    return this.peers.size;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.log.leave(this.replicaId).catch(() => {});
  }

  /** One poll; the timer calls it every pollMs (tests call it directly). */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    const pollStart = this.time.now();
    try {
      if (this.reportPending || pollStart - this.lastBeatAt >= this.opts.heartbeatMs) {
        await this.beat();
        await this.observePeers(); // keeps liveness current between waits: one read per heartbeat
      }
      const readAt = this.time.now();
      const head = await this.log.latestSeq(); // the only read of an idle poll
      if (head > this.appliedSeq) {
        const before = this.appliedSeq;
        this.apply(await this.log.after(this.appliedSeq, BATCH), readAt);
        if (this.appliedSeq !== before) await this.beat(); // report at once: a changing RPC is waiting
      }
      this.lastPollOkAt = pollStart; // what this poll proves holds from its start, not its end
      if (++this.polls % MAINTAIN_EVERY_POLLS === 0) await this.maintain();
    } catch (err) {
      if (this.isFresh()) this.logger.error({ cause: (err as Error)?.message }, "change feed poll failed; cache bypassed until it recovers");
    } finally {
      this.polling = false;
    }
  }

  private apply(changes: KeyChange[], readAt: number) {
    if (changes[0]?.seq !== this.appliedSeq + 1) this.gapSince ??= readAt;
    for (const c of changes) {
      if (c.seq !== this.appliedSeq + 1) {
        if (readAt - (this.gapSince ?? readAt) <= this.opts.gapTimeoutMs) return; // wait for the missing one
        // A writer died between allocating and writing, or the change was pruned: we cannot know what it changed.
        this.logger.warn({ from: this.appliedSeq, to: c.seq }, "change log gap: flushing the key cache");
        this.cache.clear();
        this.confirm(c.seq - 1, this.validators?.resetAll("a gap in the change log"));
      }
      this.gapSince = undefined;
      this.cache.invalidate(c.digests);
      this.appliedSeq = c.seq;
      this.confirm(c.seq, this.validators?.deliver(c.digests));
    }
  }

  /** Reports `seq` once `wait` (this replica's validators) and every earlier confirmation are done. */
  private confirm(seq: number, wait: Promise<void> | undefined) {
    if (!wait && this.pendingConfirms === 0) {
      this.confirmedSeq = seq;
      return;
    }
    this.pendingConfirms++;
    this.confirming = Promise.all([this.confirming, wait]).then(() => {
      this.confirmedSeq = Math.max(this.confirmedSeq, seq);
      this.pendingConfirms--;
      this.reportPending = true; // the next poll beats: a changing RPC is waiting
    });
  }

  private async beat() {
    const sentAt = this.time.now();
    const seq = this.confirmedSeq;
    await this.log.heartbeat(this.replicaId, seq);
    this.lastBeatAt = sentAt;
    // A confirmation that landed during the write is not in it: leave it pending for the next poll (else it waited
    // for the next periodic heartbeat, ~1 s, holding every changing RPC that waits for this replica).
    if (this.confirmedSeq === seq) this.reportPending = false;
  }

  private async observePeers(): Promise<ReplicaBeat[]> {
    const start = this.time.now();
    const list = await this.log.replicas();
    const end = this.time.now();
    const seen = new Set<string>();
    for (const r of list) {
      seen.add(r.replicaId);
      const p = this.peers.get(r.replicaId);
      if (p && p.beat === r.beat) {
        p.sameAt = start;
        p.appliedSeq = r.appliedSeq;
      } else {
        this.peers.set(r.replicaId, { beat: r.beat, appliedSeq: r.appliedSeq, changedAt: end, sameAt: start });
      }
    }
    for (const id of this.peers.keys()) if (!seen.has(id)) this.peers.delete(id);
    return list;
  }

  private dead(id: string, afterMs = this.opts.aliveMs): boolean {
    const p = this.peers.get(id);
    return p !== undefined && p.sameAt - p.changedAt > afterMs;
  }

  private async maintain() {
    if (this.appliedSeq > this.opts.keepChanges) await this.log.prune(this.appliedSeq - this.opts.keepChanges);
    for (const [id, p] of this.peers) if (this.dead(id, this.opts.forgetAfterMs)) await this.log.forget(id, p.beat);
  }
}
