// The default store: SQLite (better-sqlite3) under FLUX_DATA_DIR, WAL mode with synchronous=FULL so every
// acknowledged write survives a crash. One process owns the directory (owner-lock.ts): a second one refuses to open it.
// With FLUX_WORKERS ≥ 2 that process (the primary) holds the lock and its workers open the file in shared mode, with
// the replica rules' tables (sqlite-change-log.ts, sqlite-shared-windows.ts) instead of one process's memory.
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Stores } from "../types.js";
import { lockDataDir } from "./owner-lock.js";
import { migrateAdminKeys, SqliteAdminKeyStore } from "./sqlite-admin-keys.js";
import { CREDIT_BALANCES_SCHEMA, SqliteCreditBalances } from "./sqlite-credit-balances.js";
import { ORG_POLICIES_SCHEMA, SqliteOrgPolicyStore } from "./sqlite-org-policies.js";
import { AUDIT_SCHEMA, SqliteAuditLog } from "./sqlite-audit.js";
import { SqliteKeyStore } from "./sqlite-keys.js";
import { RATE_WINDOWS_SCHEMA, SqliteRateWindows } from "./sqlite-rate-windows.js";
import { SqliteScopeStore } from "./sqlite-scopes.js";
import { CHANGE_LOG_SCHEMA, SqliteChangeLogStore, SqliteChangeOutboxStore } from "./sqlite-change-log.js";
import { SqliteSharedWindows } from "./sqlite-shared-windows.js";
import { SqliteUsageStore } from "./sqlite-usage.js";
import { SqliteWebhookStore, WEBHOOKS_SCHEMA } from "./sqlite-webhooks.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  digest TEXT NOT NULL UNIQUE,
  previous_digest TEXT,
  doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_prev ON api_keys(previous_digest) WHERE previous_digest IS NOT NULL;
CREATE INDEX IF NOT EXISTS api_keys_org_newest ON api_keys(org_id, created_at_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS api_keys_newest ON api_keys(created_at_ms DESC, id DESC);
CREATE TABLE IF NOT EXISTS api_key_scopes (key_id TEXT NOT NULL, scope TEXT NOT NULL, PRIMARY KEY (scope, key_id));
CREATE TABLE IF NOT EXISTS scopes (name TEXT PRIMARY KEY, description TEXT NOT NULL, created_at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS admin_keys (
  id TEXT PRIMARY KEY, digest TEXT NOT NULL UNIQUE, created_at_ms INTEGER NOT NULL, revoked_at_ms INTEGER, doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS usage_hourly (
  key_id TEXT NOT NULL, hour_start_ms INTEGER NOT NULL, outcome TEXT NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (key_id, hour_start_ms, outcome)
);
CREATE TABLE IF NOT EXISTS key_last_used (key_id TEXT PRIMARY KEY, last_used_at_ms INTEGER NOT NULL);
`;

export interface EmbeddedStores extends Stores {
  /** The data directory, for operators' messages and tests that inspect the files. */
  dir: string;
}

export interface EmbeddedOptions {
  /** FLUX_WORKERS ≥ 2, where the primary holds the owner lock (owner-lock.ts) and no one here takes it.
   * "primary": prepares the file before any worker starts (schema, and what dead processes left: webhook leases,
   * replica records). "worker": one of the processes serving it, with shared windows, change log and outbox. */
  shared?: "primary" | "worker";
}

export async function openEmbeddedStores(dataDir: string, fileName = "flux.sqlite", opts: EmbeddedOptions = {}): Promise<EmbeddedStores> {
  mkdirSync(dataDir, { recursive: true });
  const lock = opts.shared ? { release: () => {} } : lockDataDir(dataDir);
  let db: Database.Database;
  let light: Database.Database;
  try {
    db = new Database(join(dataDir, fileName));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    db.exec(SCHEMA);
    migrateAdminKeys(db);
    db.exec(RATE_WINDOWS_SCHEMA);
    db.exec(AUDIT_SCHEMA);
    db.exec(CREDIT_BALANCES_SCHEMA);
    db.exec(ORG_POLICIES_SCHEMA);
    db.exec(WEBHOOKS_SCHEMA);
    db.exec(CHANGE_LOG_SCHEMA);
    if (opts.shared) immediateTransactions(db);
    if (opts.shared === "primary") db.exec("DELETE FROM replicas");
    light = openLightConnection(join(dataDir, fileName)); // see below
  } catch (err) {
    lock.release();
    throw err;
  }
  // Counters written in the background (usage and rate windows every FLUX_USAGE_FLUSH_MS) and the replica rules'
  // rows (heartbeats, change log, outbox, leased windows) on a connection of their own with synchronous = NORMAL: a
  // commit is durable against any process crash (WAL) without waiting ~4 ms for fsync on this disk, which stalled
  // validate's event loop once per flush chunk (issue 13: p99 within 1 ms of the no-op's). Only an OS crash or power
  // loss can lose the last of them (counts written since the last sync: under-counting, and a window admitting at
  // most that much again), and it also ends every process, cache and lease they describe; the next FULL commit of the
  // main connection (keys, policies, credits) or checkpoint syncs them anyway, since the WAL is one file.
  const rules = opts.shared ? light : undefined;
  const audit = new SqliteAuditLog(db);
  return {
    kind: "embedded",
    dir: dataDir,
    audit,
    keys: new SqliteKeyStore(db, audit),
    scopes: new SqliteScopeStore(db, audit),
    adminKeys: new SqliteAdminKeyStore(db, audit),
    usage: new SqliteUsageStore(light),
    webhooks: new SqliteWebhookStore(db, audit, { keepLeases: opts.shared === "worker" }),
    rateWindows: opts.shared ? undefined : new SqliteRateWindows(light),
    replicaParts: rules ? { changeLog: new SqliteChangeLogStore(rules), outbox: new SqliteChangeOutboxStore(rules), windows: new SqliteSharedWindows(rules) } : undefined,
    balances: new SqliteCreditBalances(db),
    orgPolicies: new SqliteOrgPolicyStore(db, audit),
    close: async () => {
      light.close();
      db.close();
      lock.release();
    },
  };
}

/** Several processes write the file: every transaction takes the write lock at BEGIN (IMMEDIATE), so busy_timeout
 * applies and a read-then-write (a lease, a bound check, an audited change) never fails on a snapshot another
 * process changed meanwhile (SQLITE_BUSY_SNAPSHOT, which no wait can cure). */
function immediateTransactions(db: Database.Database): void {
  const make = db.transaction.bind(db);
  db.transaction = ((fn: (...a: unknown[]) => unknown) => {
    const t = make(fn);
    return Object.assign((...a: unknown[]) => t.immediate(...a), { default: t.immediate, deferred: t.deferred, immediate: t.immediate, exclusive: t.exclusive, database: db });
  }) as typeof db.transaction;
}

function openLightConnection(file: string): Database.Database {
  const db = new Database(file);
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  return db;
}
