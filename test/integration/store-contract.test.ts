// One contract for every store implementation: MongoDB (on the test server) and the embedded SQLite store must
// behave the same, so they cannot drift.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyRecord } from "../../src/domain/types.js";
import type { Stores } from "../../src/store/types.js";
import { openTestStores, STORE_KINDS } from "../support/stores.js";

let seq = 0;
function key(over: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  seq++;
  return {
    id: `key_${String(seq).padStart(20, "0")}`,
    orgId: "org_a",
    name: `k${seq}`,
    scopes: ["data:read"],
    metadata: { n: String(seq) },
    enabled: true,
    displayHint: "flux_…abcd",
    createdAtMs: 1_000 + seq,
    updatedAtMs: 1_000 + seq,
    digest: `digest-${seq}-${Math.random()}`,
    ...over,
  };
}

describe.each(STORE_KINDS)("%s store", (kind) => {
  let s: Stores;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ stores: s, dispose } = await openTestStores(kind, "contract"));
  });
  afterAll(() => dispose?.());

  it("round-trips a key, optional fields included, and finds it by digest", async () => {
    const k = key({ rateLimit: { requests: 5, windowSeconds: 60 }, expiresAtMs: 99_999 });
    await s.keys.insert(k);
    expect(await s.keys.get(k.id)).toEqual(k);
    expect(await s.keys.findByDigest(k.digest)).toEqual(k);
    expect(await s.keys.get("key_nope")).toBeUndefined();
    expect(await s.keys.findByDigest("nope")).toBeUndefined();
  });

  it("refuses a second key with the same digest", async () => {
    const k = key();
    await s.keys.insert(k);
    await expect(s.keys.insert(key({ digest: k.digest }))).rejects.toThrow();
  });

  it("replaces only when updatedAtMs still matches, and finds a grace-period previous digest", async () => {
    const k = key();
    await s.keys.insert(k);
    const rotated = { ...k, digest: "new-" + k.digest, previousDigest: k.digest, previousDigestExpiresAtMs: 5, updatedAtMs: k.updatedAtMs + 1 };
    expect(await s.keys.replace(k, rotated)).toBe(true);
    expect(await s.keys.replace(k, { ...rotated, name: "lost", digest: "lost-" + k.digest })).toBe(false);
    expect(await s.keys.findByDigest("lost-" + k.digest)).toBeUndefined();
    expect((await s.keys.findByDigest(k.digest))?.id).toBe(k.id);
    expect((await s.keys.findByDigest(rotated.digest))?.name).toBe(k.name);
    const { previousDigest: _p, previousDigestExpiresAtMs: _e, ...cleared } = rotated;
    expect(await s.keys.replace(rotated, { ...cleared, updatedAtMs: rotated.updatedAtMs + 1 })).toBe(true);
    expect(await s.keys.findByDigest(k.digest)).toBeUndefined();
  });

  it("lists newest first with (createdAtMs, id) paging, by org, with or without revoked keys", async () => {
    const org = `org_list_${kind}`;
    const ks = [key({ orgId: org, createdAtMs: 50 }), key({ orgId: org, createdAtMs: 50 }), key({ orgId: org, createdAtMs: 60, revokedAtMs: 70 }), key({ orgId: org, createdAtMs: 40 })];
    for (const k of ks) await s.keys.insert(k);
    const live = await s.keys.list({ orgId: org, includeRevoked: false, limit: 10 });
    expect(live.map((k) => k.id)).toEqual([ks[1]!.id, ks[0]!.id, ks[3]!.id]);
    const page2 = await s.keys.list({ orgId: org, includeRevoked: true, limit: 2, after: { createdAtMs: 50, id: ks[1]!.id } });
    expect(page2.map((k) => k.id)).toEqual([ks[0]!.id, ks[3]!.id]);
  });

  it("lists only the live keys whose expiry lies in (from, to] when asked for expiring keys", async () => {
    const org = `org_expiring_${kind}`;
    const ks = [
      key({ orgId: org, expiresAtMs: 5_000 }), // at `from`: already expired, left out
      key({ orgId: org, expiresAtMs: 5_001 }),
      key({ orgId: org, expiresAtMs: 9_000 }), // at `to`: in
      key({ orgId: org, expiresAtMs: 9_001 }),
      key({ orgId: org }),
      key({ orgId: org, expiresAtMs: 6_000, revokedAtMs: 2_000 }),
    ];
    for (const k of ks) await s.keys.insert(k);
    const found = await s.keys.list({ orgId: org, includeRevoked: false, limit: 10, expiringBetween: { fromMs: 5_000, toMs: 9_000 } });
    expect(found.map((k) => k.id).sort()).toEqual([ks[1]!.id, ks[2]!.id].sort());
  });

  it("counts live keys per scope", async () => {
    await s.keys.insert(key({ scopes: ["only:here"] }));
    await s.keys.insert(key({ scopes: ["only:here"], revokedAtMs: 1 }));
    expect(await s.keys.countWithScope("only:here")).toBe(1);
    expect(await s.keys.countWithScope("nowhere")).toBe(0);
  });

  it("upserts scopes keeping their creation time, reports missing ones, deletes", async () => {
    await s.scopes.upsert({ name: "a:b", description: "one", createdAtMs: 1 });
    const again = await s.scopes.upsert({ name: "a:b", description: "two", createdAtMs: 2 });
    expect(again).toEqual({ name: "a:b", description: "two", createdAtMs: 1 });
    expect(await s.scopes.missing(["a:b", "c:d"])).toEqual(["c:d"]);
    expect(await s.scopes.delete("a:b")).toBe(true);
    expect(await s.scopes.delete("a:b")).toBe(false);
  });

  it("stores admin keys, finds them by digest and revokes once", async () => {
    const before = await s.adminKeys.count();
    await s.adminKeys.insert({ id: "adm_1", name: "n", validateOnly: true, orgId: "o", displayHint: "h", digest: "d1", createdAtMs: 1 });
    expect(await s.adminKeys.count()).toBe(before + 1);
    expect(await s.adminKeys.findByDigest("d1")).toMatchObject({ id: "adm_1", orgId: "o", validateOnly: true });
    expect((await s.adminKeys.revoke("adm_1", 10))?.revokedAtMs).toBe(10);
    expect((await s.adminKeys.revoke("adm_1", 20))?.revokedAtMs).toBe(10);
    expect(await s.adminKeys.revoke("adm_missing", 20)).toBeUndefined();
  });

  it("applies one flush touching 250 keys (FerretDB hangs on single update commands of ~100+)", async () => {
    const ids = Array.from({ length: 250 }, (_, i) => `many_${i}`);
    await s.usage.apply(
      ids.map((keyId) => ({ keyId, hourStartMs: 0, outcome: "VALID" as const, count: 1 })),
      new Map(ids.map((id) => [id, 7])),
    );
    await s.usage.apply(ids.map((keyId) => ({ keyId, hourStartMs: 0, outcome: "VALID" as const, count: 2 })), new Map());
    expect(await s.usage.hours("many_249", 0, 1)).toEqual([{ hourStartMs: 0, counts: { VALID: 3 } }]);
    expect(await s.usage.lastUsedAt("many_0")).toBe(7);
  });

  it("adds usage increments across batches and only moves last-used forward", async () => {
    await s.usage.apply([{ keyId: "k1", hourStartMs: 0, outcome: "VALID", count: 2 }], new Map([["k1", 500]]));
    await s.usage.apply(
      [
        { keyId: "k1", hourStartMs: 0, outcome: "VALID", count: 3 },
        { keyId: "k1", hourStartMs: 0, outcome: "EXPIRED", count: 1 },
        { keyId: "k1", hourStartMs: 3_600_000, outcome: "VALID", count: 1 },
      ],
      new Map([["k1", 400]]),
    );
    expect(await s.usage.hours("k1", 0, 7_200_000)).toEqual([
      { hourStartMs: 0, counts: { VALID: 5, EXPIRED: 1 } },
      { hourStartMs: 3_600_000, counts: { VALID: 1 } },
    ]);
    expect(await s.usage.hours("k1", 3_600_000, 7_200_000)).toHaveLength(1);
    expect(await s.usage.lastUsedAt("k1")).toBe(500);
    expect(await s.usage.lastUsedAt("k2")).toBeUndefined();
  });
});
