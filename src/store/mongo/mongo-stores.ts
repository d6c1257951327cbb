// Opens MongoDB, creates the indexes we rely on (no TTL, no transactions: FerretDB v1 lacks them) and builds the stores.
import { MongoClient, type Db } from "mongodb";
import type { Stores } from "../types.js";
import { MongoAuditLog } from "./mongo-audit.js";
import { MongoCreditBalanceStore } from "./mongo-credit-balances.js";
import { MongoOrgPolicyStore } from "./mongo-org-policies.js";
import { durableCollection, MongoKeyStore } from "./mongo-keys.js";
import { MongoScopeStore } from "./mongo-scopes.js";
import { MongoAdminKeyStore } from "./mongo-admin-keys.js";
import { backfillUsageOrgIds, FERRETDB_USAGE_CHUNK, MongoUsageStore, usageIndexes } from "./mongo-usage.js";
import { MongoWebhookStore } from "./mongo-webhooks.js";

export interface MongoStores extends Stores {
  client: MongoClient;
  db: Db;
  /** One round trip to the server; rejects while it is unreachable. */
  ping(): Promise<void>;
  /** Calls back whenever the driver finds the server unreachable (a network error or a failed heartbeat). */
  onUnreachable(listener: (cause: unknown) => void): void;
}

/** Errors that mean the server could not be reached (as opposed to a command it refused). */
export function isMongoOutage(err: unknown): boolean {
  const name = (err as { name?: string })?.name ?? "";
  return /^Mongo(Network|ServerSelection|NotConnected|Topology|PoolClosed|PoolCleared|NetworkTimeout)/.test(name);
}

export async function openMongoStores(uri: string, dbName?: string): Promise<MongoStores> {
  // While anything waits for the server (the health probe during an outage), re-check it every 100 ms, not 500:
  // calls go through again within ~0.1 s of the database's return.
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000, minHeartbeatFrequencyMS: 100, maxPoolSize: 50 });
  await client.connect();
  const db = client.db(dbName);
  // FerretDB cannot take a whole usage flush as one command: it gets chunks (see mongo-usage.ts).
  const build = await db.admin().command({ buildInfo: 1 }).catch(() => ({}));
  const usageChunk = "ferretdbVersion" in build ? FERRETDB_USAGE_CHUNK : Infinity;
  await Promise.all([
    db.collection("api_keys").createIndex({ orgId: 1, createdAtMs: -1, _id: -1 }, { name: "org_newest" }),
    db.collection("api_keys").createIndex({ createdAtMs: -1, _id: -1 }, { name: "newest" }),
    db.collection("api_keys").createIndex({ scopes: 1 }, { name: "scopes" }),
    db.collection("api_keys").createIndex({ expiresAtMs: 1 }, { name: "expiry", sparse: true }),
    db.collection("admin_keys").createIndex({ digest: 1 }, { unique: true, name: "digest_unique" }),
    ...usageIndexes(db),
    ...MongoAuditLog.indexes(db),
    ...MongoWebhookStore.indexes(db),
  ]);
  // Not fatal: without it, usage written before the upgrade is missing from organisation roll-ups; the next start retries.
  await backfillUsageOrgIds(db).catch(() => 0);
  const audit = new MongoAuditLog(db);
  return {
    kind: "mongodb",
    client,
    db,
    audit,
    keys: new MongoKeyStore(db, audit),
    scopes: new MongoScopeStore(durableCollection(db, "scopes"), audit),
    adminKeys: new MongoAdminKeyStore(durableCollection(db, "admin_keys"), audit),
    webhooks: new MongoWebhookStore(db, audit),
    usage: new MongoUsageStore(db.collection("usage_hourly"), db.collection("key_last_used"), usageChunk, db.collection("key_scope_uses")),
    balances: new MongoCreditBalanceStore(db),
    orgPolicies: new MongoOrgPolicyStore(db, audit),
    ping: async () => void (await db.command({ ping: 1 })),
    onUnreachable: (listener) =>
      client.on("serverDescriptionChanged", (e) => {
        if (e.newDescription.type === "Unknown" && e.newDescription.error) listener(e.newDescription.error);
      }),
    close: () => client.close(),
  };
}
