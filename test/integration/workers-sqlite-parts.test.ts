// The replica rules' SQLite parts (FLUX_WORKERS ≥ 2) on one real file opened twice, as two worker processes open it:
// leased rate windows never grant past the limit from either handle, restart after the window ends, and points go
// back only to the window they came from; the change log numbers changes without gaps and keeps rising after a
// prune; heartbeats and the outbox are shared by both handles; the one-process path keeps its own tables unused.
import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import { LeasedRateLimiter } from "../../src/services/leased-rate-limiter.js";
import { openEmbeddedStores, type EmbeddedStores } from "../../src/store/embedded/embedded-stores.js";
import { lockDataDir } from "../../src/store/embedded/owner-lock.js";
import { newDataDir } from "../support/worker-processes.js";

const opened: EmbeddedStores[] = [];
afterAll(async () => {
  for (const s of opened) await s.close();
  for (const s of opened) rmSync(s.dir, { recursive: true, force: true });
});

/** The directory prepared as the primary does, and two workers' handles on it. */
async function twoWorkers() {
  const dir = newDataDir("flux-worker-parts-");
  const lock = lockDataDir(dir);
  await (await openEmbeddedStores(dir, undefined, { shared: "primary" })).close();
  const a = await openEmbeddedStores(dir, undefined, { shared: "worker" });
  const b = await openEmbeddedStores(dir, undefined, { shared: "worker" });
  opened.push(a, b);
  lock.release();
  return [a.replicaParts!, b.replicaParts!] as const;
}

describe("shared rate windows over two handles", () => {
  it("never grant past the limit, whichever handle asks and in whatever chunks", async () => {
    const [a, b] = await twoWorkers();
    const limit = { requests: 25, windowSeconds: 60 };
    let granted = 0;
    for (let i = 0; i < 20; i++) granted += (await (i % 2 ? a : b).windows.take("key_1", limit, 3, 1_000)).granted;
    expect(granted).toBe(25);
    const last = await a.windows.take("key_1", limit, 3, 2_000);
    expect(last).toMatchObject({ granted: 0, count: 25, startMs: 1_000, endMs: 61_000 });
    // The window ended: a new one starts at the asking time with the whole limit.
    expect(await b.windows.take("key_1", limit, 3, 61_000)).toMatchObject({ granted: 3, count: 3, startMs: 61_000 });
  });

  it("take points back only into the window they were leased from", async () => {
    const [a, b] = await twoWorkers();
    const limit = { requests: 10, windowSeconds: 60 };
    await a.windows.take("key_2", limit, 10, 0);
    await b.windows.giveBack("key_2", 0, 4);
    expect((await a.windows.take("key_2", limit, 10, 1)).granted).toBe(4);
    await b.windows.take("key_2", limit, 5, 60_000); // a new window
    await a.windows.giveBack("key_2", 0, 4); // from the old one: ignored
    expect((await b.windows.take("key_2", limit, 10, 60_001)).granted).toBe(5);
  });

  it("admit exactly L through two LeasedRateLimiters on the two handles", async () => {
    const [a, b] = await twoWorkers();
    const clock = new ManualClock(0);
    const limiters = [new LeasedRateLimiter(a.windows, clock), new LeasedRateLimiter(b.windows, clock)];
    const limit = { requests: 400, windowSeconds: 60 }; // chunks of 20
    const decisions = await Promise.all(Array.from({ length: 1000 }, (_, i) => limiters[i % 2]!.consume("key_3", limit)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(400);
  });
});

describe("the shared change log, heartbeats and outbox", () => {
  it("numbers changes from both handles without gaps and keeps rising after a prune", async () => {
    const [a, b] = await twoWorkers();
    const seqs = [];
    for (let i = 0; i < 6; i++) seqs.push(await (i % 2 ? a : b).changeLog.publish([`d${i}`], i));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await b.changeLog.after(3, 10)).map((c) => c.digests)).toEqual([["d3"], ["d4"], ["d5"]]);
    await a.changeLog.prune(6);
    expect(await b.changeLog.latestSeq()).toBe(6);
    expect(await b.changeLog.publish(["d6"], 6)).toBe(7);
  });

  it("share heartbeats (beat moves on every heartbeat) and outbox entries", async () => {
    const [a, b] = await twoWorkers();
    await a.changeLog.heartbeat("r_a", 3);
    const first = (await b.changeLog.replicas()).find((r) => r.replicaId === "r_a")!;
    await a.changeLog.heartbeat("r_a", 4);
    const second = (await b.changeLog.replicas()).find((r) => r.replicaId === "r_a")!;
    expect(second.appliedSeq).toBe(4);
    expect(second.beat).not.toBe(first.beat);
    await b.changeLog.forget("r_a", first.beat); // it beat since: kept
    expect(await a.changeLog.replicas()).toHaveLength(1);
    await b.changeLog.forget("r_a", second.beat);
    expect(await a.changeLog.replicas()).toHaveLength(0);
    const id = await a.outbox.add(["x", "y"]);
    expect(await b.outbox.list(10)).toEqual([{ id, digests: ["x", "y"] }]);
    await b.outbox.remove(id);
    expect(await a.outbox.list(10)).toEqual([]);
  });

  it("are not part of the one-process store", async () => {
    const dir = newDataDir("flux-worker-parts-");
    const one = await openEmbeddedStores(dir);
    opened.push(one);
    expect(one.replicaParts).toBeUndefined();
    expect(one.rateWindows).toBeDefined();
  });
});
