// ReplicaSync and the change outbox against an in-memory change log, fake caches and a hand-moved monotonic clock:
// failed publish, stale feed, gap, timeout, racing fill. No timers run; each test polls by hand.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import type { ApiKeyRecord } from "../../src/domain/types.js";
import { OutboxChangeFeed } from "../../src/services/change-outbox.js";
import { KeyCache } from "../../src/services/key-cache.js";
import { type Invalidator, ReplicaSync, type ReplicaSyncOptions, type SyncTime } from "../../src/services/replica-sync.js";
import type { ChangeLogStore, ChangeOutboxStore, KeyChange } from "../../src/store/types.js";

class MemoryLog implements ChangeLogStore {
  head = 0;
  readonly changes = new Map<number, KeyChange>();
  readonly docs = new Map<string, { appliedSeq: number; beat: number }>();
  failPublishes = 0;
  failReads = false;
  /** Runs inside every read, e.g. to make a read slow. */
  duringRead?: () => void;

  async publish(digests: string[], atMs: number) {
    if (this.failPublishes > 0 && this.failPublishes--) throw new Error("injected publish failure");
    const seq = ++this.head;
    this.changes.set(seq, { seq, digests, atMs });
    return seq;
  }
  /** A writer that allocated a number and died before writing it. */
  allocate() {
    return ++this.head;
  }
  write(seq: number, digests: string[]) {
    this.changes.set(seq, { seq, digests, atMs: 0 });
  }
  private read() {
    if (this.failReads) throw new Error("injected read failure");
    this.duringRead?.();
  }
  async latestSeq() {
    this.read();
    return this.head;
  }
  async after(seq: number, limit: number) {
    this.read();
    return [...this.changes.values()].filter((c) => c.seq > seq).sort((x, y) => x.seq - y.seq).slice(0, limit);
  }
  /** Awaited inside every heartbeat before it is written, e.g. to make the write slow. */
  duringHeartbeat?: () => Promise<void>;
  async heartbeat(replicaId: string, appliedSeq: number) {
    this.read();
    await this.duringHeartbeat?.();
    this.docs.set(replicaId, { appliedSeq, beat: (this.docs.get(replicaId)?.beat ?? 0) + 1 });
  }
  async replicas() {
    this.read();
    return [...this.docs].map(([replicaId, d]) => ({ replicaId, appliedSeq: d.appliedSeq, beat: String(d.beat) }));
  }
  async leave(replicaId: string) {
    this.docs.delete(replicaId);
  }
  async forget(replicaId: string, beat: string) {
    if (String(this.docs.get(replicaId)?.beat) === beat) this.docs.delete(replicaId);
  }
  async prune(seq: number) {
    for (const s of this.changes.keys()) if (s <= seq) this.changes.delete(s);
  }
}

class MemoryOutbox implements ChangeOutboxStore {
  readonly entries = new Map<string, string[]>();
  private n = 0;
  async add(digests: string[]) {
    const id = `o${++this.n}`;
    this.entries.set(id, digests);
    return id;
  }
  async list(limit: number) {
    return [...this.entries].slice(0, limit).map(([id, digests]) => ({ id, digests }));
  }
  async remove(id: string) {
    this.entries.delete(id);
  }
}

/** Records what a replica's caches were told. */
class Caches implements Invalidator {
  readonly dropped: string[] = [];
  clears = 0;
  invalidate(d: string[]) {
    this.dropped.push(...d);
  }
  clear() {
    this.clears++;
  }
}

/** One monotonic clock for every replica (their rates agree; their wall clocks never matter). Sleeping moves it. */
class ManualTime implements SyncTime {
  t = 1_000_000;
  whileSleeping?: () => Promise<void>;
  now() {
    return this.t;
  }
  async sleep(ms: number) {
    this.t += ms;
    await this.whileSleeping?.();
  }
}

const silent = pino({ level: "silent" });

async function cluster(n: number, opts: Partial<ReplicaSyncOptions> = {}) {
  const log = new MemoryLog();
  const time = new ManualTime();
  const replicas = Array.from({ length: n }, () => {
    const caches = new Caches();
    return { caches, sync: new ReplicaSync(log, caches, silent, opts, time) };
  });
  for (const r of replicas) await r.sync.start(false);
  return { log, time, replicas };
}

describe("waiting for replicas", () => {
  it("returns once every live replica has applied the change, each having dropped its digests", async () => {
    const { time, replicas } = await cluster(3);
    time.whileSleeping = async () => void (await Promise.all(replicas.map((r) => r.sync.poll())));
    const seq = await replicas[0]!.sync.publish(["d1", "d2"]);
    expect(await replicas[0]!.sync.waitFor(seq)).toEqual([]);
    for (const r of replicas.slice(1)) expect(r.caches.dropped).toEqual(["d1", "d2"]);
    expect(new Set(replicas[0]!.caches.dropped)).toEqual(new Set(["d1", "d2"])); // at publish, and again from the feed
  });

  it("stops waiting for a replica that stopped polling only once that replica no longer trusts its cache", async () => {
    const { time, replicas } = await cluster(2);
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    time.whileSleeping = () => a.sync.poll(); // b is frozen (a long GC pause, a broken connection)
    const seq = await a.sync.publish(["d"]);
    expect(await a.sync.waitFor(seq)).toEqual([]);
    expect(b.caches.dropped).toEqual([]);
    expect(b.sync.isFresh()).toBe(false);
  });

  it("reports a replica that keeps beating without applying as unconfirmed at the timeout", async () => {
    const { log, time, replicas } = await cluster(1, { waitTimeoutMs: 5000 });
    const a = replicas[0]!;
    time.whileSleeping = async () => {
      await a.sync.poll();
      await log.heartbeat("r_behind", 0);
    };
    const seq = await a.sync.publish(["d"]);
    const start = time.now();
    expect(await a.sync.waitFor(seq)).toEqual(["r_behind"]);
    expect(time.now() - start).toBeGreaterThanOrEqual(5000);
  });

  it("does not take a failed read of the replicas for their confirmation", async () => {
    const { log, time, replicas } = await cluster(2, { waitTimeoutMs: 5000 });
    time.t += 1000;
    await replicas[0]!.sync.poll(); // heartbeat due: it reads the replicas and knows both
    const seq = await replicas[0]!.sync.publish(["d"]);
    log.failReads = true;
    time.whileSleeping = async () => {};
    expect((await replicas[0]!.sync.waitFor(seq)).sort()).toEqual([replicas[0]!.sync.replicaId, replicas[1]!.sync.replicaId].sort());
  });
});

describe("a replica's local validators", () => {
  it("reports a change confirmed while a heartbeat was being written at the next poll, not a heartbeat later", async () => {
    // Seen on FerretDB: Revoke took ~1.1 s with validators connected when their acknowledgements landed during the
    // heartbeat written right after the change was applied (that write carried the older seq and then cleared the
    // pending report, so the confirmation waited for the next periodic heartbeat).
    const { log, time, replicas } = await cluster(2);
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    let acknowledge: (() => void) | undefined;
    b.sync.setValidators({
      deliver: () => new Promise<void>((r) => (acknowledge = r)),
      resetAll: async () => {},
    });
    const seq = await a.sync.publish(["d"]);
    log.duringHeartbeat = async () => {
      if (!acknowledge) return; // the poll's first heartbeat, before it applies the change
      log.duringHeartbeat = undefined;
      acknowledge(); // the validators acknowledge while B writes the heartbeat that follows applying the change
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    };
    await b.sync.poll();
    expect(log.docs.get(b.sync.replicaId)?.appliedSeq).toBeLessThan(seq); // that heartbeat carried the older seq
    time.t += 20; // one poll interval, far less than heartbeatMs
    await b.sync.poll();
    expect(log.docs.get(b.sync.replicaId)?.appliedSeq).toBe(seq);
  });
});

describe("a stale feed", () => {
  it("counts a replica fresh from the START of the poll that proved it, however long the poll took", async () => {
    const { log, time, replicas } = await cluster(1, { staleMs: 2000 });
    const a = replicas[0]!.sync;
    time.t += 5000;
    const pollStart = time.now();
    log.duringRead = () => void (time.t += 600); // three slow reads: heartbeat, replicas, head
    await a.poll();
    log.duringRead = undefined;
    expect(time.now() - pollStart).toBe(1800);
    time.t = pollStart + 1999;
    expect(a.isFresh()).toBe(true);
    time.t = pollStart + 2000;
    expect(a.isFresh()).toBe(false);
  });

  it("bypasses the cache staleMs after the last successful poll began, while polls fail", async () => {
    const { log, time, replicas } = await cluster(1, { staleMs: 2000 });
    const a = replicas[0]!.sync;
    const pollStart = time.now();
    await a.poll();
    log.failReads = true;
    time.t += 1500;
    await a.poll();
    expect(a.isFresh()).toBe(true);
    time.t = pollStart + 2000;
    expect(a.isFresh()).toBe(false);
    log.failReads = false;
    await a.poll();
    expect(a.isFresh()).toBe(true);
  });
});

describe("a gap in the feed", () => {
  it("holds later changes while the missing one may still be written, then applies them in order", async () => {
    const { log, time, replicas } = await cluster(1);
    const { sync, caches } = replicas[0]!;
    const missing = log.allocate();
    await log.publish(["later"], 0);
    await sync.poll();
    expect(caches.dropped).toEqual([]);
    time.t += 1000;
    log.write(missing, ["first"]);
    await sync.poll();
    expect(caches.dropped).toEqual(["first", "later"]);
    expect(caches.clears).toBe(0);
  });

  it("flushes the whole cache and moves on when the missing change never comes", async () => {
    const { log, time, replicas } = await cluster(1, { gapTimeoutMs: 2000 });
    const { sync, caches } = replicas[0]!;
    log.allocate();
    await log.publish(["later"], 0);
    await sync.poll();
    time.t += 2001;
    await sync.poll();
    expect(caches.clears).toBe(1);
    expect(caches.dropped).toEqual(["later"]);
  });
});

describe("a failed publish", () => {
  it("is republished from the outbox by a sweep on any replica, and removed after its second republish", async () => {
    const { log, time, replicas } = await cluster(2);
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    const outbox = new MemoryOutbox();
    const opts = { sweepMs: 1000, republishAfterMs: 2000, removeAfterMs: 10_000 };
    const feedA = new OutboxChangeFeed(outbox, a.sync, a.caches, silent, opts, time);
    const sweeperB = new OutboxChangeFeed(outbox, b.sync, b.caches, silent, opts, time);
    log.failPublishes = 1;
    const pending = await feedA.prepare(["revoked"]); // before the write
    expect(await pending.publish()).toMatchObject({ published: false }); // after it; the change log refused
    await b.sync.poll();
    expect(b.caches.dropped).toEqual([]);
    const sweeps: number[] = [];
    for (let s = 0; s <= 3 && !b.caches.dropped.includes("revoked"); s++) {
      await sweeperB.sweep();
      sweeps.push(s);
      await b.sync.poll();
      time.t += opts.sweepMs;
    }
    expect(b.caches.dropped).toContain("revoked");
    expect(sweeps).toEqual([0, 1, 2]); // first seen, then republished republishAfterMs later
    expect(outbox.entries.size).toBe(1);
    time.t += opts.removeAfterMs;
    await sweeperB.sweep();
    expect(outbox.entries.size).toBe(0);
  });

  it("leaves nothing in the outbox when the publish succeeds, or when the write lost a race", async () => {
    const { time, replicas } = await cluster(1);
    const a = replicas[0]!;
    time.whileSleeping = () => a.sync.poll();
    const outbox = new MemoryOutbox();
    const feed = new OutboxChangeFeed(outbox, a.sync, a.caches, silent, undefined, time);
    expect(await (await feed.prepare(["x"])).publish()).toEqual({ published: true, unconfirmedReplicas: 0 });
    await (await feed.prepare(["y"])).cancel();
    expect(outbox.entries.size).toBe(0);
  });
});

describe("a racing fill", () => {
  it("does not keep a key read before a change another replica published while the read was in flight", async () => {
    const log = new MemoryLog();
    const time = new ManualTime();
    let release!: () => void;
    let reads = 0;
    const store = {
      async findByDigest() {
        if (++reads === 1) await new Promise<void>((r) => (release = r));
        return { id: "key_1", digest: "d", enabled: true } as ApiKeyRecord;
      },
    };
    let b!: ReplicaSync;
    const cache = new KeyCache(store, new ManualClock(), { maxEntries: 10, negativeTtlMs: 2000, maxAgeMs: 30_000, isFresh: () => b.isFresh() });
    const a = new ReplicaSync(log, new Caches(), silent, {}, time);
    b = new ReplicaSync(log, cache, silent, {}, time);
    await a.start(false);
    await b.start(false);
    const fill = cache.findByDigest("d"); // reads the record as it was before the change...
    await Promise.resolve();
    time.whileSleeping = async () => {
      await a.poll();
      await b.poll(); // ...while b applies the change
    };
    expect(await a.waitFor(await a.publish(["d"]))).toEqual([]);
    release();
    await fill;
    await cache.findByDigest("d");
    expect(reads).toBe(2);
  });
});
