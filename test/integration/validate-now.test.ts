// ValidationService.validateNow (the hot path without a promise) against validate, differentially: twin services
// over twin stores holding the same keys and policies take the same generated calls, one trying validateNow first
// (validate when it answers undefined), the other validate alone. Every answer, every error and every count in the
// usage store must match, so the fast path decides exactly as validate and never spends or counts a call it then
// hands to validate. Both stores: the embedded one (in-memory windows) and MongoDB (leased windows).
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import type { Principal } from "../../src/domain/types.js";
import { createDeps, type Deps } from "../../src/deps.js";
import { validationToWire } from "../../src/transport/mappers.js";
import { ADMIN_KEY } from "../support/server.js";
import { openTestStores, STORE_KINDS } from "../support/stores.js";

const T0 = Date.UTC(2026, 5, 1, 10, 0, 0);
const ROOT: Principal = { adminKeyId: "adm_root", validateOnly: false };
const ORG_A: Principal = { adminKeyId: "adm_a", orgId: "org_a", validateOnly: true };
// MongoDB's change feed goes stale on real time (no poll answered for staleMs), and then the cache is bypassed: on a
// loaded machine one twin's poll could lag 2 s and the other's not, changing one twin's hit/miss counts (seen with a
// 25 ms staleMs). The differential compares the two paths over the same state, so here the feed stays fresh; the
// stale feed has its own case below.
const SYNC = { staleMs: 3_600_000, aliveMs: 3_700_000 };
const config = { FLUX_ADMIN_KEY: ADMIN_KEY, FLUX_KEY_PEPPER: undefined, FLUX_USAGE_FLUSH_MS: 3_600_000, FLUX_KEY_CACHE_SIZE: 10_000, FLUX_MONGODB_DB: "unused" };

/** A small deterministic generator (mulberry32): the same calls on both twins, and on every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.each(STORE_KINDS)("validateNow on the %s store", (kind) => {
  const twins: { deps: Deps; clock: ManualClock; dispose: () => Promise<void> }[] = [];
  const secrets: string[] = [];
  const keyIds: string[] = [];

  beforeAll(async () => {
    for (const label of ["now", "async"]) {
      const t = await openTestStores(kind, `validate-now-${label}`);
      const clock = new ManualClock(T0);
      twins.push({ deps: await createDeps(config, t.stores, pino({ level: "silent" }), clock, SYNC), clock, dispose: t.dispose });
    }
    const [a, b] = twins.map((t) => t.deps);
    const { keys, scopes, orgPolicies } = a!.services;
    await scopes.define(ROOT, "read", "reads");
    await scopes.define(ROOT, "write", "writes");
    const base = { name: "k", scopes: ["read"], metadata: {} };
    const made = [
      await keys.create(ROOT, { ...base, orgId: "org_a" }), // no limits
      await keys.create(ROOT, { ...base, orgId: "org_a", rateLimit: { requests: 5, windowSeconds: 2 } }),
      await keys.create(ROOT, { ...base, orgId: "org_a", rateLimit: { requests: 1_000, windowSeconds: 60 }, scopes: ["read", "write"] }),
      await keys.create(ROOT, { ...base, orgId: "org_b", rateLimit: { requests: 3, windowSeconds: 1 } }), // another org: NOT_FOUND for ORG_A
      await keys.create(ROOT, { ...base, orgId: "org_a", credits: { remaining: 40 } }),
      await keys.create(ROOT, { ...base, orgId: "org_c", rateLimit: { requests: 4, windowSeconds: 1 } }), // org_c: shared limit
      await keys.create(ROOT, { ...base, orgId: "org_a", allowedCidrs: ["10.0.0.0/8"] }),
      await keys.create(ROOT, { ...base, orgId: "org_a", expiresAtMs: T0 + 1_500 }),
      await keys.create(ROOT, { ...base, orgId: "org_a" }), // disabled below
      await keys.create(ROOT, { ...base, orgId: "org_a" }), // revoked below
      await keys.create(ROOT, { ...base, orgId: "org_a", rateLimit: { requests: 6, windowSeconds: 1 } }), // rotated below
    ];
    for (const m of made) {
      await b!.stores.keys.insert(m.key); // as created; the changes below reach b as store writes, like a's
      secrets.push(m.secret);
      keyIds.push(m.key.id);
    }
    /** A change made through a's services, written to b's store as it was to a's. */
    const mirror = async (id: string, change: () => Promise<unknown>) => {
      const before = (await a!.stores.keys.get(id))!;
      await change();
      expect(await b!.stores.keys.replace(before, (await a!.stores.keys.get(id))!)).toBe(true);
    };
    await mirror(made[8]!.key.id, () => keys.update(ROOT, made[8]!.key.id, ["enabled"], { enabled: false }));
    await mirror(made[9]!.key.id, () => keys.revoke(ROOT, made[9]!.key.id));
    let rotated!: { secret: string };
    await mirror(made[10]!.key.id, async () => (rotated = await keys.rotate(ROOT, made[10]!.key.id, 2))); // the old secret works 2 s more
    await orgPolicies.update(ROOT, "org_c", ["rate_limit"], { rateLimit: { requests: 5, windowSeconds: 1 } });
    await b!.services.orgPolicies.update(ROOT, "org_c", ["rate_limit"], { rateLimit: { requests: 5, windowSeconds: 1 } });
    secrets.push(rotated.secret);
    secrets.push("flux_" + "0".repeat(36), "not-a-key", "flux_" + "x".repeat(600)); // unknown, malformed, too long
    // Credits: both ledgers start from the same balance (each store's own row).
    for (const t of twins) await t.deps.services.ledger.balance(made[4]!.key.id, made[4]!.key.credits!);
  });

  afterAll(async () => {
    for (const t of twins) {
      await t.deps.close();
      await t.dispose();
    }
  });

  it("answers every call as validate does, spends and counts the same, and answers most calls itself", async () => {
    const [fast, slow] = twins;
    const next = random(kind === "mongodb" ? 7 : 11);
    let answeredNow = 0;
    const calls = kind === "mongodb" ? 1_500 : 4_000;
    for (let i = 0; i < calls; i++) {
      const secret = secrets[Math.floor(next() * secrets.length)]!;
      const p = next() < 0.8 ? ROOT : ORG_A;
      const r = next();
      const scopes = r < 0.6 ? [] : r < 0.8 ? ["read"] : r < 0.95 ? ["write"] : ["not a scope!"];
      const cost = next() < 0.9 ? 1 : 3;
      const ip = next() < 0.5 ? "" : next() < 0.5 ? "10.1.2.3" : "192.168.0.1";
      const step = Math.floor(next() * 4);
      for (const t of twins) t.clock.advance(step);

      const got = await settle(async () => {
        const now = fast!.deps.services.validation.validateNow(p, secret, scopes, cost, ip);
        if (now) answeredNow++;
        return now ?? (await fast!.deps.services.validation.validate(p, secret, scopes, cost, ip));
      });
      const want = await settle(() => slow!.deps.services.validation.validate(p, secret, scopes, cost, ip));
      expect(got, `call ${i}`).toEqual(want);
    }
    expect(answeredNow).toBeGreaterThan(calls / 2);
    // The cache's hit and miss counts (/metrics) count calls alike on both paths.
    const { hits, misses } = fast!.deps.services.cache.stats;
    expect({ hits, misses }).toEqual({ hits: slow!.deps.services.cache.stats.hits, misses: slow!.deps.services.cache.stats.misses });

    for (const t of twins) await t.deps.services.recorder.flush();
    const hours = (t: (typeof twins)[number], id: string) => t.deps.stores.usage.hours(id, T0 - 3_600_000, T0 + 3_600_000);
    for (const id of [...keyIds, "_unknown"]) expect(await hours(fast!, id), id).toEqual(await hours(slow!, id));
  }, 120_000);
});

describe("validateNow with a stale change feed (MongoDB)", () => {
  it("answers nothing itself, counting nothing, and validate answers from the store", async () => {
    const t = await openTestStores("mongodb", "validate-now-stale");
    const deps = await createDeps({ ...config, FLUX_VALIDATOR_STALE_AFTER_MS: 50 }, t.stores, pino({ level: "silent" }), new ManualClock(T0), { pollMs: 20, staleMs: 300, aliveMs: 1_500 });
    try {
      const { keys, validation, cache, sync } = deps.services;
      const made = await keys.create(ROOT, { name: "k", orgId: "org_a", scopes: [], metadata: {} });
      // Into the cache. The feed's poll of the key's own creation may land after this and drop the entry, and fresh
      // means a poll answered within staleMs of real time: on a loaded machine, read it again until both settle.
      for (let i = 0; i < 200; i++) {
        await validation.validate(ROOT, made.secret, [], 1, "");
        if (sync!.isFresh() && validation.validateNow(ROOT, made.secret, [], 1, "")) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(validation.validateNow(ROOT, made.secret, [], 1, "")?.outcome).toBe("VALID"); // fresh: answered from memory
      await sync!.stop(); // no more polls: the feed goes stale after staleMs
      await new Promise((r) => setTimeout(r, 400));
      expect(sync!.isFresh()).toBe(false);
      const before = { ...cache.stats };
      expect(validation.validateNow(ROOT, made.secret, [], 1, "")).toBeUndefined();
      expect({ hits: cache.stats.hits, misses: cache.stats.misses }).toEqual({ hits: before.hits, misses: before.misses });
      // A change another replica made meanwhile is what a stale feed could miss: validate reads the store.
      const stored = (await t.stores.keys.get(made.key.id))!;
      expect(await t.stores.keys.replace(stored, { ...stored, revokedAtMs: T0 })).toBe(true);
      expect((await validation.validate(ROOT, made.secret, [], 1, "")).outcome).toBe("REVOKED");
      expect(cache.stats.misses).toBe(before.misses + 1);
    } finally {
      await deps.close();
      await t.dispose();
    }
  }, 60_000);
});

/** An answer in wire form, or the error's reason and message. */
async function settle(run: () => Promise<import("../../src/domain/types.js").ValidationResult>) {
  try {
    return { answer: validationToWire(await run()) };
  } catch (err) {
    const e = err as { reason?: string; message: string };
    return { error: `${e.reason}: ${e.message}` };
  }
}
