// The embedded store's rate windows on a real SQLite file: a reopened store resumes each window's spent count,
// validate never writes (one flush writes the changed windows, one read per key loads them), a failed flush is
// written again later, and ended windows are pruned so the table follows the keys active in their window.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import { WindowCounter } from "../../src/services/window-counter.js";
import { openEmbeddedStores, type EmbeddedStores } from "../../src/store/embedded/embedded-stores.js";
import { SqliteRateWindows } from "../../src/store/embedded/sqlite-rate-windows.js";
import type { RateWindowRows, StoredWindow } from "../../src/store/types.js";

const MONTH = { requests: 2, windowSeconds: 2_592_000 };
const MINUTE = { requests: 5, windowSeconds: 60 };
const HOUR_MS = 3_600_000;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function newDir() {
  const d = mkdtempSync(join(tmpdir(), "flux-rate-rows-"));
  dirs.push(d);
  return d;
}

/** The real rows, counting the calls validate would make, and failing saves on demand. */
class CountingRows implements RateWindowRows {
  gets = 0;
  saves: StoredWindow[][] = [];
  failSaves = 0;
  constructor(readonly inner: RateWindowRows) {}
  get(keyId: string) {
    this.gets++;
    return this.inner.get(keyId);
  }
  save(windows: StoredWindow[]) {
    if (this.failSaves > 0 && this.failSaves--) throw new Error("disk full");
    this.saves.push(windows);
    this.inner.save(windows);
  }
  prune(nowMs: number) {
    return this.inner.prune(nowMs);
  }
}

async function open(dir: string, clock: ManualClock) {
  const stores = (await openEmbeddedStores(dir)) as EmbeddedStores;
  const rows = new CountingRows(stores.rateWindows!);
  const counter = new WindowCounter(clock, { rows, flushIntervalMs: 1000 });
  return { stores, rows, counter, size: () => (stores.rateWindows as SqliteRateWindows).size() };
}

describe("rate windows in the embedded store", () => {
  it("resume a monthly window's spent count and end after the store is closed and reopened", async () => {
    const dir = newDir();
    const clock = new ManualClock();
    const a = await open(dir, clock);
    const first = a.counter.take("k", MONTH);
    a.counter.take("k", MONTH);
    await a.counter.close();
    await a.stores.close();

    clock.advance(29 * 24 * HOUR_MS);
    const b = await open(dir, clock);
    expect(b.counter.take("k", MONTH)).toMatchObject({ allowed: false, remaining: 0, resetAtMs: first.resetAtMs });
    clock.set(first.resetAtMs);
    expect(b.counter.take("k", MONTH)).toMatchObject({ allowed: true, remaining: 1 });
    await b.stores.close();
  });

  it("write nothing per validate: one flush writes each changed window once, in one batch, and nothing when idle", async () => {
    const clock = new ManualClock();
    const s = await open(newDir(), clock);
    for (let i = 0; i < 1000; i++) s.counter.take(`k${i % 10}`, { requests: 1000, windowSeconds: 3600 });
    expect(s.rows.saves).toEqual([]);
    expect(s.size()).toBe(0);
    await s.counter.flush();
    expect(s.rows.saves).toHaveLength(1);
    expect(s.rows.saves[0]!.map((w) => [w.keyId, w.count])).toEqual(Array.from({ length: 10 }, (_, i) => [`k${i}`, 100]));
    await s.counter.flush();
    expect(s.rows.saves).toHaveLength(1);
    await s.stores.close();
  });

  it("write a large flush in transactions of 1,000 windows: 2,500 changed keys are 3 writes, all on disk", async () => {
    const clock = new ManualClock();
    const s = await open(newDir(), clock);
    for (let i = 0; i < 2500; i++) s.counter.take(`k${i}`, MINUTE);
    await s.counter.flush();
    expect(s.rows.saves.map((b) => b.length)).toEqual([1000, 1000, 500]);
    expect(s.size()).toBe(2500);
    await s.stores.close();
  });

  it("read a key's stored window once after a start, also for keys that have none", async () => {
    const clock = new ManualClock();
    const s = await open(newDir(), clock);
    for (let i = 0; i < 100; i++) {
      s.counter.take("stored-never", MINUTE);
      s.counter.take("other", MINUTE);
    }
    expect(s.rows.gets).toBe(2);
    await s.stores.close();
  });

  it("write a failed flush's windows again at the next flush: nothing admitted is lost to a write error", async () => {
    const dir = newDir();
    const clock = new ManualClock();
    const a = await open(dir, clock);
    a.rows.failSaves = 1;
    a.counter.take("k", MONTH);
    await a.counter.flush();
    expect(a.size()).toBe(0);
    a.counter.take("k", MONTH);
    await a.counter.flush();
    await a.stores.close();
    const b = await open(dir, clock);
    expect(b.counter.take("k", MONTH).allowed).toBe(false);
    await b.stores.close();
  });

  it("answer STORE_UNAVAILABLE rather than admit when a key's stored window cannot be read", async () => {
    const clock = new ManualClock();
    const s = await open(newDir(), clock);
    const broken: RateWindowRows = { get: () => { throw new Error("I/O error"); }, save: () => {}, prune: () => 0 };
    const counter = new WindowCounter(clock, { rows: broken, flushIntervalMs: 1000 });
    expect(() => counter.take("k", MONTH)).toThrow(expect.objectContaining({ reason: "STORE_UNAVAILABLE" }));
    await s.stores.close();
  });

  it("prune ended windows hourly and at start, not per flush: 5 rounds of 1,000 one-minute keys leave at most two rounds of rows", async () => {
    const dir = newDir();
    const clock = new ManualClock();
    const a = await open(dir, clock);
    a.counter.start();
    for (let i = 0; i < 1000; i++) a.counter.take(`early-k${i}`, MINUTE);
    await a.counter.flush();
    clock.advance(2 * 60_000);
    await a.counter.flush(); // ended, but the next prune is an hour after the one at start
    expect(a.size()).toBe(1000);
    clock.advance(HOUR_MS);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 1000; i++) a.counter.take(`r${round}-k${i}`, MINUTE);
      await a.counter.flush();
      expect(a.size()).toBeLessThanOrEqual(2000);
      clock.advance(HOUR_MS);
    }
    await a.counter.close();
    await a.stores.close();

    const b = await open(dir, clock);
    b.counter.start(); // every stored window has ended by now
    expect(b.size()).toBe(0);
    await b.counter.close();
    await b.stores.close();
  });

  it("open a fresh window for a key whose stored window has ended, and overwrite its row", async () => {
    const dir = newDir();
    const clock = new ManualClock();
    const a = await open(dir, clock);
    for (let i = 0; i < 5; i++) a.counter.take("k", MINUTE);
    await a.counter.close();
    await a.stores.close();
    clock.advance(60_000);
    const b = await open(dir, clock);
    expect(b.counter.take("k", MINUTE)).toMatchObject({ allowed: true, remaining: 4, resetAtMs: clock.nowMs() + 60_000 });
    await b.counter.flush();
    expect((b.stores.rateWindows as SqliteRateWindows).get("k")).toEqual({ keyId: "k", startMs: clock.nowMs(), endMs: clock.nowMs() + 60_000, count: 1 });
    expect(b.size()).toBe(1);
    await b.stores.close();
  });
});

describe("the embedded store's connections", () => {
  it("write keys (and policies, credits, audit) with an fsync per commit (FULL), and windows and usage without one (NORMAL) on a second connection", async () => {
    const stores = await openEmbeddedStores(newDir());
    try {
      const connectionOf = (store: unknown) => (store as { db: { pragma(s: string, o: { simple: true }): unknown } }).db;
      const sync = (store: unknown) => connectionOf(store).pragma("synchronous", { simple: true });
      expect(sync(stores.keys)).toBe(2); // FULL: an acknowledged change survives a power loss
      expect(sync(stores.rateWindows)).toBe(1); // NORMAL: durable against process crashes; validate never waits for a sync
      expect(sync(stores.usage)).toBe(1);
      expect(connectionOf(stores.usage)).not.toBe(connectionOf(stores.keys));
    } finally {
      await stores.close();
    }
  });
});
