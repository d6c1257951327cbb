// Admin keys in SQLite.
import type { Database } from "better-sqlite3";
import type { AdminKeyRecord } from "../../domain/types.js";
import type { AdminKeyStore } from "../types.js";

type Row = { doc: string; revoked_at_ms: number | null };

export class SqliteAdminKeyStore implements AdminKeyStore {
  constructor(private readonly db: Database) {}

  async insert(key: AdminKeyRecord) {
    this.db
      .prepare("INSERT INTO admin_keys (id, digest, created_at_ms, revoked_at_ms, doc) VALUES (?, ?, ?, ?, ?)")
      .run(key.id, key.digest, key.createdAtMs, key.revokedAtMs ?? null, JSON.stringify(key));
  }

  async insertIfAbsent(key: AdminKeyRecord) {
    const res = this.db
      .prepare("INSERT OR IGNORE INTO admin_keys (id, digest, created_at_ms, revoked_at_ms, doc) VALUES (?, ?, ?, ?, ?)")
      .run(key.id, key.digest, key.createdAtMs, key.revokedAtMs ?? null, JSON.stringify(key));
    return res.changes === 1;
  }

  async findByDigest(digest: string) {
    return parse(this.db.prepare("SELECT doc, revoked_at_ms FROM admin_keys WHERE digest = ?").get(digest) as Row | undefined);
  }

  async list() {
    const rows = this.db.prepare("SELECT doc, revoked_at_ms FROM admin_keys ORDER BY created_at_ms DESC, id DESC").all() as Row[];
    return rows.map((r) => parse(r)!);
  }

  async revoke(id: string, atMs: number) {
    this.db.prepare("UPDATE admin_keys SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms IS NULL").run(atMs, id);
    return parse(this.db.prepare("SELECT doc, revoked_at_ms FROM admin_keys WHERE id = ?").get(id) as Row | undefined);
  }

  async count() {
    return (this.db.prepare("SELECT count(*) AS n FROM admin_keys").get() as { n: number }).n;
  }
}

function parse(row: Row | undefined): AdminKeyRecord | undefined {
  if (!row) return undefined;
  const rec = JSON.parse(row.doc) as AdminKeyRecord;
  if (row.revoked_at_ms !== null) rec.revokedAtMs = row.revoked_at_ms;
  return rec;
}
