// Seeds N API keys straight through the store layer (one server-side RPC per key would take minutes at 1e6) and
// returns their secrets, which drive the load. Rows and documents have exactly the shape the stores write.
import Database from "better-sqlite3";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { openStores } from "../src/deps.js";
import { API_KEY_PREFIX, createDigester, displayHint, generateSecret, newId } from "../src/domain/key-material.js";
import type { ApiKeyRecord } from "../src/domain/types.js";

export type StoreKind = "embedded" | "mongodb";

export interface SeedTarget {
  kind: StoreKind;
  /** Embedded: FLUX_DATA_DIR. */
  dataDir?: string;
  /** MongoDB: FLUX_MONGODB_URI and FLUX_MONGODB_DB. */
  uri?: string;
  db?: string;
}

/** A limit no benchmark reaches: the limiter and the usage counters run on every call, and every call is VALID. */
export const BENCH_RATE_LIMIT = { requests: 1_000_000_000, windowSeconds: 60 };
const BATCH = 10_000;

function makeBatch(from: number, count: number, nowMs: number, digest: (s: string) => string) {
  const secrets: string[] = [];
  const records: ApiKeyRecord[] = [];
  for (let i = from; i < from + count; i++) {
    const secret = generateSecret(API_KEY_PREFIX);
    secrets.push(secret);
    records.push({
      id: newId("key"),
      orgId: `org_${i % 100}`,
      name: `bench key ${i}`,
      scopes: [],
      rateLimit: { ...BENCH_RATE_LIMIT },
      metadata: { plan: "bench" },
      enabled: true,
      displayHint: displayHint(secret, API_KEY_PREFIX),
      createdAtMs: nowMs - (from + count - i),
      updatedAtMs: nowMs,
      digest: digest(secret),
    });
  }
  return { secrets, records };
}

/** Inserts n keys; returns their secrets in insertion order. The store must not hold other bench keys. */
export async function seedKeys(target: SeedTarget, n: number, onProgress?: (done: number) => void): Promise<string[]> {
  // Opening the stores once creates the schema / indexes exactly as the server would.
  await (await openStores({
    FLUX_MONGODB_URI: target.kind === "mongodb" ? target.uri : undefined,
    FLUX_MONGODB_DB: target.db ?? "flux_apikeys",
    FLUX_DATA_DIR: target.dataDir ?? "./data",
  })).close();
  const digest = createDigester(undefined); // the bench server runs without FLUX_KEY_PEPPER
  const now = Date.now();
  const all: string[] = [];
  if (target.kind === "embedded") {
    const db = new Database(join(target.dataDir!, "flux.sqlite"));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = OFF");
    const insert = db.prepare(
      "INSERT INTO api_keys (id, org_id, created_at_ms, updated_at_ms, revoked, digest, previous_digest, doc) VALUES (?, ?, ?, ?, 0, ?, NULL, ?)",
    );
    const insertAll = db.transaction((records: ApiKeyRecord[]) => {
      for (const k of records) insert.run(k.id, k.orgId, k.createdAtMs, k.updatedAtMs, k.digest, JSON.stringify(k));
    });
    for (let done = 0; done < n; done += BATCH) {
      const { secrets, records } = makeBatch(done, Math.min(BATCH, n - done), now, digest);
      insertAll(records);
      all.push(...secrets);
      onProgress?.(all.length);
    }
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
  } else {
    const client = new MongoClient(target.uri!);
    await client.connect();
    try {
      const db = client.db(target.db);
      for (let done = 0; done < n; done += BATCH) {
        const { secrets, records } = makeBatch(done, Math.min(BATCH, n - done), now, digest);
        // What MongoKeyStore.insert writes: a digest document (_id = digest → key id), then the key (_id = id).
        await db.collection("api_key_digests").insertMany(records.map((k) => ({ _id: k.digest, keyId: k.id }) as never), { ordered: false });
        await db.collection("api_keys").insertMany(records.map(({ id, ...rest }) => ({ _id: id, ...rest }) as never), { ordered: false });
        all.push(...secrets);
        onProgress?.(all.length);
      }
    } finally {
      await client.close();
    }
  }
  await verify(target, [all[0]!, all[Math.floor(n / 2)]!, all[n - 1]!], digest);
  return all;
}

/** Reads a few seeded keys back through the store itself: seeding must track the stores' layout when it changes. */
async function verify(target: SeedTarget, secrets: string[], digest: (s: string) => string) {
  const stores = await openStores({
    FLUX_MONGODB_URI: target.kind === "mongodb" ? target.uri : undefined,
    FLUX_MONGODB_DB: target.db ?? "flux_apikeys",
    FLUX_DATA_DIR: target.dataDir ?? "./data",
  });
  try {
    for (const s of secrets) {
      if (!(await stores.keys.findByDigest(digest(s)))) {
        throw new Error(`bench/seed.ts is out of date: the ${target.kind} store cannot find a seeded key (see src/store/${target.kind === "mongodb" ? "mongo" : "embedded"})`);
      }
    }
  } finally {
    await stores.close();
  }
}
