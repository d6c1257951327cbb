// Admin keys in SQLite.
import type { Database } from "better-sqlite3";
import type { AuditEvent } from "../../domain/audit.js";
import type { AdminKeyRecord } from "../../domain/types.js";
import type { AdminKeyStore, EventFor } from "../types.js";
import type { SqliteAuditLog } from "./sqlite-audit.js";

type Row = { doc: string; revoked_at_ms: number | null; local_validation: number };

/** Adds the local_validation column to a store made before it existed: existing admin keys get no such right. */
export function migrateAdminKeys(db: Database): void {
  const cols = db.prepare("PRAGMA table_info(admin_keys)").all() as { name: string }[];
  if (!cols.some((c) => c.name === "local_validation")) db.exec("ALTER TABLE admin_keys ADD COLUMN local_validation INTEGER NOT NULL DEFAULT 0");
}

export class SqliteAdminKeyStore implements AdminKeyStore {
  constructor(private readonly db: Database, private readonly audit?: SqliteAuditLog) {}

  async insert(key: AdminKeyRecord, event?: AuditEvent) {
    this.db.transaction(() => {
      this.db
        .prepare("INSERT INTO admin_keys (id, digest, created_at_ms, revoked_at_ms, local_validation, doc) VALUES (?, ?, ?, ?, ?, ?)")
        .run(key.id, key.digest, key.createdAtMs, key.revokedAtMs ?? null, key.localValidation ? 1 : 0, JSON.stringify(key));
      this.audit?.record(event);
    })();
  }

  async insertIfAbsent(key: AdminKeyRecord, event?: AuditEvent) {
    return this.db.transaction(() => {
      const res = this.db
        .prepare("INSERT OR IGNORE INTO admin_keys (id, digest, created_at_ms, revoked_at_ms, local_validation, doc) VALUES (?, ?, ?, ?, ?, ?)")
        .run(key.id, key.digest, key.createdAtMs, key.revokedAtMs ?? null, key.localValidation ? 1 : 0, JSON.stringify(key));
      if (res.changes === 1) this.audit?.record(event);
      return res.changes === 1;
    })();
  }

  async findByDigest(digest: string) {
    return parse(this.db.prepare("SELECT doc, revoked_at_ms, local_validation FROM admin_keys WHERE digest = ?").get(digest) as Row | undefined);
  }

  async list() {
    const rows = this.db.prepare("SELECT doc, revoked_at_ms, local_validation FROM admin_keys ORDER BY created_at_ms DESC, id DESC").all() as Row[];
    return rows.map((r) => parse(r)!);
  }

  async revoke(id: string, atMs: number, audit?: EventFor<AdminKeyRecord>) {
    const get = () => parse(this.db.prepare("SELECT doc, revoked_at_ms, local_validation FROM admin_keys WHERE id = ?").get(id) as Row | undefined);
    return this.db.transaction(() => {
      const before = get();
      if (!before || before.revokedAtMs !== undefined) return before;
      this.db.prepare("UPDATE admin_keys SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL").run(atMs, id);
      this.audit?.record(audit?.(before));
      return get();
    })();
  }

  async count() {
    return (this.db.prepare("SELECT count(*) AS n FROM admin_keys").get() as { n: number }).n;
  }
}

function parse(row: Row | undefined): AdminKeyRecord | undefined {
  if (!row) return undefined;
  const rec = JSON.parse(row.doc) as AdminKeyRecord;
  if (row.revoked_at_ms !== null) rec.revokedAtMs = row.revoked_at_ms;
  rec.localValidation = row.local_validation === 1; // the column decides: rows from before it have 0
  return rec;
}
