// The default store: SQLite (better-sqlite3) under FLUX_DATA_DIR, WAL mode with synchronous=FULL so every
// acknowledged write survives a crash. One process owns the directory (owner-lock.ts): a second one refuses to open it.
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Stores } from "../types.js";
import { lockDataDir } from "./owner-lock.js";
import { SqliteAdminKeyStore } from "./sqlite-admin-keys.js";
import { CREDIT_BALANCES_SCHEMA, SqliteCreditBalances } from "./sqlite-credit-balances.js";
import { ORG_POLICIES_SCHEMA, SqliteOrgPolicyStore } from "./sqlite-org-policies.js";
import { AUDIT_SCHEMA, SqliteAuditLog } from "./sqlite-audit.js";
import { SqliteKeyStore } from "./sqlite-keys.js";
import { RATE_WINDOWS_SCHEMA, SqliteRateWindows } from "./sqlite-rate-windows.js";
import { SqliteScopeStore } from "./sqlite-scopes.js";
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

export async function openEmbeddedStores(dataDir: string, fileName = "flux.sqlite"): Promise<EmbeddedStores> {
  mkdirSync(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  let db: Database.Database;
  try {
    db = new Database(join(dataDir, fileName));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    db.exec(SCHEMA);
    db.exec(RATE_WINDOWS_SCHEMA);
    db.exec(AUDIT_SCHEMA);
    db.exec(CREDIT_BALANCES_SCHEMA);
    db.exec(ORG_POLICIES_SCHEMA);
    db.exec(WEBHOOKS_SCHEMA);
  } catch (err) {
    lock.release();
    throw err;
  }
  const audit = new SqliteAuditLog(db);
  return {
    kind: "embedded",
    dir: dataDir,
    audit,
    keys: new SqliteKeyStore(db, audit),
    scopes: new SqliteScopeStore(db, audit),
    adminKeys: new SqliteAdminKeyStore(db, audit),
    usage: new SqliteUsageStore(db),
    webhooks: new SqliteWebhookStore(db, audit),
    rateWindows: new SqliteRateWindows(db),
    balances: new SqliteCreditBalances(db),
    orgPolicies: new SqliteOrgPolicyStore(db, audit),
    close: async () => {
      db.close();
      lock.release();
    },
  };
}
