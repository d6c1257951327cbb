// The validate cache against a fake store and a manual clock: what it may keep, for how long, and what it must drop.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import type { ApiKeyRecord } from "../../src/domain/types.js";
import { KeyCache, type KeyCacheOptions } from "../../src/services/key-cache.js";

/** An in-memory key lookup that counts reads per digest and can hold a read until the test releases it. */
class FakeKeys {
  readonly byDigest = new Map<string, ApiKeyRecord>();
  readonly reads = new Map<string, number>();
  private gate?: { opened: Promise<void>; open(): void };

  hold(): () => void {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    this.gate = { opened, open };
    return () => {
      this.gate = undefined;
      open();
    };
  }

  async findByDigest(digest: string) {
    this.reads.set(digest, (this.reads.get(digest) ?? 0) + 1);
    const before = this.byDigest.get(digest);
    if (this.gate) await this.gate.opened;
    return before && structuredClone(before);
  }
}

const key = (digest: string, patch: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id: `key_${digest}`,
  orgId: "acme",
  name: "k",
  scopes: [],
  metadata: {},
  enabled: true,
  displayHint: "flux_…abcd",
  createdAtMs: 0,
  updatedAtMs: 0,
  digest,
  ...patch,
});

function setup(opts: Partial<KeyCacheOptions> = {}) {
  const store = new FakeKeys();
  const clock = new ManualClock();
  const cache = new KeyCache(store, clock, { maxEntries: 100, negativeTtlMs: 2000, maxAgeMs: 30_000, negativeMaxEntries: 50, ...opts });
  return { store, clock, cache };
}

describe("KeyCache", () => {
  it("keeps every cached key through a flood of unknown digests (negative entries are bounded apart)", async () => {
    const { store, cache } = setup();
    store.byDigest.set("real", key("real"));
    await cache.findByDigest("real");
    for (let i = 0; i < 1000; i++) await cache.findByDigest(`made-up-${i}`);
    expect((await cache.findByDigest("real"))?.id).toBe("key_real");
    expect(store.reads.get("real")).toBe(1);
    expect(cache.stats.negativeSize).toBeLessThanOrEqual(50);
    expect(cache.stats.size).toBeLessThanOrEqual(100 + 50);
  });

  it("reads a cached key again once it reaches the maximum age, so a lost invalidation heals by itself", async () => {
    const { store, clock, cache } = setup({ maxAgeMs: 30_000 });
    store.byDigest.set("d", key("d"));
    await cache.findByDigest("d");
    // Revoked in the store, but the invalidation never arrives.
    store.byDigest.set("d", key("d", { revokedAtMs: clock.nowMs() }));
    clock.advance(29_999);
    expect((await cache.findByDigest("d"))?.revokedAtMs).toBeUndefined();
    clock.advance(1);
    expect((await cache.findByDigest("d"))?.revokedAtMs).toBe(clock.nowMs() - 30_000);
    expect(store.reads.get("d")).toBe(2);
  });

  it("reads an unknown digest again once its negative entry expires", async () => {
    const { store, clock, cache } = setup({ negativeTtlMs: 2000 });
    expect(await cache.findByDigest("new")).toBeUndefined();
    store.byDigest.set("new", key("new"));
    clock.advance(1999);
    expect(await cache.findByDigest("new")).toBeUndefined();
    clock.advance(1);
    expect((await cache.findByDigest("new"))?.id).toBe("key_new");
  });

  it("does not keep a fill that raced with an invalidation", async () => {
    const { store, cache } = setup();
    store.byDigest.set("d", key("d"));
    const release = store.hold();
    const inFlight = cache.findByDigest("d"); // reads the key as it was before the revocation
    store.byDigest.set("d", key("d", { revokedAtMs: 1 }));
    cache.invalidate(["d"]);
    release();
    expect((await inFlight)?.revokedAtMs).toBeUndefined();
    expect((await cache.findByDigest("d"))?.revokedAtMs).toBe(1);
  });

  it("does not keep a fill that raced with a full clear (a gap in the change feed)", async () => {
    const { store, cache } = setup();
    store.byDigest.set("d", key("d"));
    const release = store.hold();
    const inFlight = cache.findByDigest("d");
    store.byDigest.set("d", key("d", { enabled: false }));
    cache.clear();
    release();
    await inFlight;
    expect((await cache.findByDigest("d"))?.enabled).toBe(false);
  });

  it("bypasses its entries, positive and negative, while the change feed is stale", async () => {
    let fresh = true;
    const { store, cache } = setup({ isFresh: () => fresh });
    store.byDigest.set("d", key("d"));
    await cache.findByDigest("d");
    await cache.findByDigest("unknown");
    fresh = false;
    store.byDigest.set("d", key("d", { revokedAtMs: 5 }));
    store.byDigest.set("unknown", key("unknown"));
    expect((await cache.findByDigest("d"))?.revokedAtMs).toBe(5);
    expect((await cache.findByDigest("unknown"))?.id).toBe("key_unknown");
    // Nothing read while stale is kept: back to fresh, the (now invalidated) digest is read again.
    fresh = true;
    cache.invalidate(["d"]);
    await cache.findByDigest("d");
    expect(store.reads.get("d")).toBe(3);
  });

  it("stays within maxEntries for keys, evicting the oldest fill", async () => {
    const { store, cache } = setup({ maxEntries: 3 });
    for (const d of ["a", "b", "c", "d"]) {
      store.byDigest.set(d, key(d));
      await cache.findByDigest(d);
    }
    expect(cache.stats.size).toBe(3);
    await cache.findByDigest("a");
    await cache.findByDigest("d");
    expect(store.reads.get("a")).toBe(2);
    expect(store.reads.get("d")).toBe(1);
  });

  it("caches nothing when maxEntries is 0", async () => {
    const { store, cache } = setup({ maxEntries: 0 });
    store.byDigest.set("d", key("d"));
    await cache.findByDigest("d");
    await cache.findByDigest("d");
    await cache.findByDigest("x");
    await cache.findByDigest("x");
    expect(store.reads.get("d")).toBe(2);
    expect(store.reads.get("x")).toBe(2);
  });
});

describe("KeyCache under concurrent misses", () => {
  it("shares one store read among concurrent misses of one digest", async () => {
    const { store, cache } = setup();
    store.byDigest.set("hot", key("hot"));
    const release = store.hold();
    const reads = [cache.findByDigest("hot"), cache.findByDigest("hot"), cache.findByDigest("hot")];
    release();
    expect((await Promise.all(reads)).map((k) => k?.id)).toEqual(["key_hot", "key_hot", "key_hot"]);
    expect(store.reads.get("hot")).toBe(1);
  });

  it("never hands a lookup that started after an invalidation the answer of a read that started before it", async () => {
    const { store, cache } = setup();
    store.byDigest.set("d", key("d"));
    const release = store.hold();
    const before = cache.findByDigest("d");
    store.byDigest.set("d", key("d", { revokedAtMs: 9 }));
    cache.invalidate(["d"]);
    release();
    const after = cache.findByDigest("d");
    expect((await before)?.revokedAtMs).toBeUndefined();
    expect((await after)?.revokedAtMs).toBe(9);
  });
});
