// Opens MongoDB, creates the indexes we rely on (no TTL, no transactions: FerretDB v1 lacks them) and builds the stores.
import { MongoClient, type Db } from "mongodb";
import type { Stores } from "../types.js";
import { MongoKeyStore } from "./mongo-keys.js";
import { MongoScopeStore } from "./mongo-scopes.js";
import { MongoAdminKeyStore } from "./mongo-admin-keys.js";
import { MongoUsageStore } from "./mongo-usage.js";

export interface MongoStores extends Stores {
  client: MongoClient;
  db: Db;
}

export async function openMongoStores(uri: string, dbName?: string): Promise<MongoStores> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, maxPoolSize: 50 });
  await client.connect();
  const db = client.db(dbName);
  await Promise.all([
    db.collection("api_keys").createIndex({ orgId: 1, createdAtMs: -1, _id: -1 }, { name: "org_newest" }),
    db.collection("api_keys").createIndex({ createdAtMs: -1, _id: -1 }, { name: "newest" }),
    db.collection("api_keys").createIndex({ scopes: 1 }, { name: "scopes" }),
    db.collection("admin_keys").createIndex({ digest: 1 }, { unique: true, name: "digest_unique" }),
    db.collection("usage_hourly").createIndex({ keyId: 1, hourStartMs: 1 }, { name: "key_hour" }),
  ]);
  return {
    kind: "mongodb",
    client,
    db,
    keys: new MongoKeyStore(db),
    scopes: new MongoScopeStore(db.collection("scopes")),
    adminKeys: new MongoAdminKeyStore(db.collection("admin_keys")),
    usage: new MongoUsageStore(db.collection("usage_hourly"), db.collection("key_last_used")),
    close: () => client.close(),
  };
}
