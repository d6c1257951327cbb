// API keys in SQLite: indexed columns for lookups and paging, the record itself as JSON.
import type { Database, Statement } from "better-sqlite3";
import type { AuditEvent } from "../../domain/audit.js";
import type { ApiKeyRecord } from "../../domain/types.js";
import type { KeyStore, ListKeysQuery } from "../types.js";
import type { SqliteAuditLog } from "./sqlite-audit.js";

type Row = { doc: string };

export class SqliteKeyStore implements KeyStore {
  private readonly byId: Statement<[string], Row>;
  private readonly byDigest: Statement<[string], Row>;
  private readonly byPrevious: Statement<[string], Row>;
  private readonly insertRow: Statement;
  private readonly replaceRow: Statement;
  private readonly deleteScopes: Statement;
  private readonly insertScope: Statement;
  private readonly countScope: Statement<[string], { n: number }>;
  private readonly writeScopes: (id: string, scopes: string[]) => void;

  constructor(private readonly db: Database, private readonly audit?: SqliteAuditLog) {
    this.byId = db.prepare("SELECT doc FROM api_keys WHERE id = ?");
    this.byDigest = db.prepare("SELECT doc FROM api_keys WHERE digest = ?");
    this.byPrevious = db.prepare("SELECT doc FROM api_keys WHERE previous_digest = ?");
    this.insertRow = db.prepare(
      "INSERT INTO api_keys (id, org_id, created_at_ms, updated_at_ms, revoked, digest, previous_digest, doc) VALUES (@id, @orgId, @createdAtMs, @updatedAtMs, @revoked, @digest, @previousDigest, @doc)",
    );
    this.replaceRow = db.prepare(
      "UPDATE api_keys SET updated_at_ms = @updatedAtMs, revoked = @revoked, digest = @digest, previous_digest = @previousDigest, doc = @doc WHERE id = @id AND updated_at_ms = @expected",
    );
    this.deleteScopes = db.prepare("DELETE FROM api_key_scopes WHERE key_id = ?");
    this.insertScope = db.prepare("INSERT INTO api_key_scopes (key_id, scope) VALUES (?, ?)");
    this.countScope = db.prepare(
      "SELECT count(*) AS n FROM api_key_scopes s JOIN api_keys k ON k.id = s.key_id WHERE s.scope = ? AND k.revoked = 0",
    );
    this.writeScopes = (id, scopes) => {
      this.deleteScopes.run(id);
      for (const s of scopes) this.insertScope.run(id, s);
    };
  }

  async insert(key: ApiKeyRecord, event?: AuditEvent) {
    this.db.transaction(() => {
      this.insertRow.run(params(key));
      this.writeScopes(key.id, key.scopes);
      this.audit?.record(event);
    })();
  }

  async get(id: string) {
    return parse(this.byId.get(id));
  }

  async findByDigest(digest: string) {
    return parse(this.byDigest.get(digest) ?? this.byPrevious.get(digest));
  }

  async replace(before: ApiKeyRecord, key: ApiKeyRecord, event?: AuditEvent) {
    return this.db.transaction(() => {
      const res = this.replaceRow.run({ ...params(key), expected: before.updatedAtMs });
      if (res.changes !== 1) return false;
      this.writeScopes(key.id, key.scopes);
      this.audit?.record(event);
      return true;
    })();
  }

  async list(q: ListKeysQuery) {
    const where: string[] = [];
    const args: Record<string, unknown> = { limit: q.limit };
    if (q.orgId) {
      where.push("org_id = @orgId");
      args.orgId = q.orgId;
    }
    if (!q.includeRevoked) where.push("revoked = 0");
    if (q.expiringBetween) {
      where.push("json_extract(doc, '$.expiresAtMs') > @fromMs AND json_extract(doc, '$.expiresAtMs') <= @toMs");
      args.fromMs = q.expiringBetween.fromMs;
      args.toMs = q.expiringBetween.toMs;
    }
    if (q.after) {
      where.push("(created_at_ms < @afterMs OR (created_at_ms = @afterMs AND id < @afterId))");
      args.afterMs = q.after.createdAtMs;
      args.afterId = q.after.id;
    }
    const sql = `SELECT doc FROM api_keys ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at_ms DESC, id DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(args) as Row[]).map((r) => JSON.parse(r.doc) as ApiKeyRecord);
  }

  async countWithScope(scope: string) {
    return this.countScope.get(scope)!.n;
  }
}

const parse = (row: Row | undefined) => (row ? (JSON.parse(row.doc) as ApiKeyRecord) : undefined);

const params = (k: ApiKeyRecord) => ({
  id: k.id,
  orgId: k.orgId,
  createdAtMs: k.createdAtMs,
  updatedAtMs: k.updatedAtMs,
  revoked: k.revokedAtMs === undefined ? 0 : 1,
  digest: k.digest,
  previousDigest: k.previousDigest ?? null,
  doc: JSON.stringify(k),
});
