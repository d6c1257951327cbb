// Two replicas (two sets of services over one MongoDB database, in this process) and the failures between a key
// change and its invalidation: a change-log publish that fails, a replica that beats but does not apply, a replica
// whose wall clock is wrong, and a connection string that asks for weak writes.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "mongodb";
import { systemClock } from "../../src/domain/clock.js";
import type { Principal } from "../../src/domain/types.js";
import { createDeps, type Deps } from "../../src/deps.js";
import { DEFAULT_SYNC } from "../../src/services/replica-sync.js";
import { MongoChangeLogStore } from "../../src/store/mongo/mongo-change-log.js";
import { type MongoStores, openMongoStores } from "../../src/store/mongo/mongo-stores.js";
import { mongoUri, uniqueDbName } from "../support/stores.js";

const ADMIN = "change-feed-failures-admin-key-0123456789";
const dbName = uniqueDbName("feed_failures");
const config = { FLUX_ADMIN_KEY: ADMIN, FLUX_KEY_PEPPER: undefined, FLUX_USAGE_FLUSH_MS: 1000, FLUX_KEY_CACHE_SIZE: 10_000, FLUX_MONGODB_DB: dbName };
let a: Deps;
let b: Deps;
let db: Db;
let p: Principal;

async function replica(): Promise<Deps> {
  const stores = await openMongoStores(mongoUri(), dbName);
  return createDeps(config, stores, pino({ level: "silent" }), systemClock, { ...DEFAULT_SYNC, waitTimeoutMs: 1500 });
}

beforeAll(async () => {
  [a, b] = [await replica(), await replica()];
  db = (a.stores as MongoStores).db;
  p = await a.services.auth.authenticate(`Bearer ${ADMIN}`);
});
afterAll(async () => {
  await b?.close();
  await db?.dropDatabase().catch(() => {});
  await a?.close();
});

const outcomeOn = async (d: Deps, secret: string) => (await d.services.validation.validate(p, secret, [])).outcome;

async function warmKey(name: string) {
  const { key, secret } = await a.services.keys.create(p, { orgId: "acme", name, scopes: [], metadata: {} });
  expect([await outcomeOn(a, secret), await outcomeOn(b, secret)]).toEqual(["VALID", "VALID"]); // cached on both
  return { id: key.id, secret };
}

/** The next change-log append fails: its sequence number is already taken (a harmless empty change). */
async function failNextPublish() {
  const head = (await db.collection<{ _id: string; seq: number }>("counters").findOne({ _id: "key_changes" }))?.seq ?? 0;
  await db.collection<{ _id: number; digests: string[]; atMs: number }>("key_changes").insertOne({ _id: head + 1, digests: [], atMs: Date.now() });
}

/** A replica record that keeps beating (every 100 ms) without applying anything, its wall clock `skewMs` off. */
function stuckReplica(id: string, skewMs = 0) {
  const replicas = db.collection<{ _id: string }>("replicas");
  const beat = () => replicas.updateOne({ _id: id }, { $set: { appliedSeq: 0, heartbeatAtMs: Date.now() + skewMs }, $inc: { beat: 1 } }, { upsert: true });
  const timer = setInterval(() => void beat().catch(() => {}), 100);
  return {
    ready: beat(),
    async stop() {
      clearInterval(timer);
      await replicas.deleteOne({ _id: id });
    },
  };
}

describe("a failed change-log publish", () => {
  it("is published again by a retried RevokeApiKey, which returns only once every replica refuses the key", async () => {
    const { id, secret } = await warmKey("retried revoke");
    await failNextPublish();
    await expect(a.services.keys.revoke(p, id)).rejects.toThrow();
    await a.services.keys.revoke(p, id);
    expect([await outcomeOn(a, secret), await outcomeOn(b, secret)]).toEqual(["REVOKED", "REVOKED"]);
  });

  it("reaches every replica without any retry, within the outbox bound", async () => {
    const { id, secret } = await warmKey("never retried");
    await failNextPublish();
    const start = performance.now();
    await expect(a.services.keys.revoke(p, id)).rejects.toThrow();
    while ((await outcomeOn(b, secret)) === "VALID" && performance.now() - start < 8000) await new Promise((r) => setTimeout(r, 20));
    const exposedMs = performance.now() - start;
    console.log(`lost publish: the other replica accepted the revoked key for ${Math.round(exposedMs)} ms`);
    expect(await outcomeOn(b, secret)).toBe("REVOKED");
  });
});

describe("waiting for replicas", () => {
  it("answers RotateApiKey with the new secret when a replica does not confirm in time, saying how many did not", async () => {
    const { id, secret } = await warmKey("slow replica");
    const stuck = stuckReplica("r_stuck");
    await stuck.ready;
    try {
      const rotated = await a.services.keys.rotate(p, id, 0);
      expect(rotated).toMatchObject({ unconfirmedReplicas: 1 });
      expect([await outcomeOn(a, rotated.secret), await outcomeOn(b, rotated.secret)]).toEqual(["VALID", "VALID"]);
      expect(await outcomeOn(b, secret)).toBe("NOT_FOUND");
    } finally {
      await stuck.stop();
    }
  });

  it("waits for a live replica whose wall clock runs 10 s behind (liveness never compares clocks)", async () => {
    const { id } = await warmKey("skewed replica");
    const skewed = stuckReplica("r_skewed", -10_000);
    await skewed.ready;
    try {
      expect(await a.services.keys.rotate(p, id, 0)).toMatchObject({ unconfirmedReplicas: 1 });
    } finally {
      await skewed.stop();
    }
  });

  it("does not wait at all for CreateApiKey, yet the creating replica never hides the new key behind a cached miss", async () => {
    const stuck = stuckReplica("r_stuck_create");
    await stuck.ready;
    try {
      const start = performance.now();
      const { secret } = await a.services.keys.create(p, { orgId: "acme", name: "created", scopes: [], metadata: {} });
      expect(performance.now() - start).toBeLessThan(1000); // the wait timeout here is 1500 ms
      expect(await outcomeOn(a, secret)).toBe("VALID");
    } finally {
      await stuck.stop();
    }
  });
});

describe("write concern", () => {
  it("writes keys, admin keys and the change feed with majority and reads them from the primary whatever the URI says", async () => {
    const name = uniqueDbName("write_concern");
    const stores = await openMongoStores(`${mongoUri()}?w=1&readPreference=secondaryPreferred`, name);
    try {
      const log = new MongoChangeLogStore(stores.db);
      const collections = [
        (stores.keys as unknown as Record<string, unknown>)["col"],
        (stores.keys as unknown as Record<string, unknown>)["digests"],
        (stores.adminKeys as unknown as Record<string, unknown>)["col"],
        (log as unknown as Record<string, unknown>)["changes"],
        (log as unknown as Record<string, unknown>)["replicaDocs"] ?? (log as unknown as Record<string, unknown>)["replicas"],
        (log as unknown as Record<string, unknown>)["counters"],
      ] as { writeConcern?: { w?: unknown }; readPreference: { mode: string } }[];
      for (const c of collections) {
        expect(c.writeConcern?.w).toBe("majority");
        expect(c.readPreference.mode).toBe("primary");
      }
      // The server accepts such writes (FerretDB included).
      const deps = await createDeps({ ...config, FLUX_MONGODB_DB: name }, stores, pino({ level: "silent" }));
      const q = await deps.services.auth.authenticate(`Bearer ${ADMIN}`);
      const { key, secret } = await deps.services.keys.create(q, { orgId: "acme", name: "majority", scopes: [], metadata: {} });
      await deps.services.keys.revoke(q, key.id);
      expect((await deps.services.validation.validate(q, secret, [])).outcome).toBe("REVOKED");
      await deps.close();
    } finally {
      await stores.db.dropDatabase().catch(() => {});
      await stores.close().catch(() => {});
    }
  });
});
