// The audit log in SQLite. Each store writes a change's event inside the change's own transaction (record()), so
// a change and its event commit together or not at all; there is nothing to sweep.
import type { Database, Statement } from "better-sqlite3";
import { type AuditEvent, eventIdFloor } from "../../domain/audit.js";
import type { AuditQuery, AuditStore } from "../types.js";

export const AUDIT_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit_events (
  id TEXT PRIMARY KEY, org_id TEXT, target_type TEXT NOT NULL, target_id TEXT NOT NULL, actor_id TEXT NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_org ON audit_events(org_id, id DESC);
CREATE INDEX IF NOT EXISTS audit_events_target ON audit_events(target_id, id DESC);
CREATE INDEX IF NOT EXISTS audit_events_actor ON audit_events(actor_id, id DESC);
`;

export class SqliteAuditLog implements AuditStore {
  private readonly insert: Statement;

  constructor(private readonly db: Database) {
    this.insert = db.prepare("INSERT INTO audit_events (id, org_id, target_type, target_id, actor_id, doc) VALUES (?, ?, ?, ?, ?, ?)");
  }

  /** Call inside the transaction that makes the change. */
  record(e: AuditEvent | undefined): void {
    if (e) this.insert.run(e.id, e.orgId ?? null, e.targetType, e.targetId, e.actorId, JSON.stringify(e));
  }

  async list(q: AuditQuery): Promise<AuditEvent[]> {
    const where: string[] = [];
    const args: Record<string, unknown> = { limit: q.limit };
    const add = (sql: string, name: string, v: unknown) => {
      if (v === undefined || v === "") return;
      where.push(sql);
      args[name] = v;
    };
    add("org_id = @orgId", "orgId", q.orgId);
    add("target_id = @targetId", "targetId", q.targetId);
    add("target_type = @targetType", "targetType", q.targetType);
    add("actor_id = @actorId", "actorId", q.actorId);
    add("id >= @fromId", "fromId", q.fromId);
    add("id < @toId", "toId", q.toId);
    const sql = `SELECT doc FROM audit_events ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(args) as { doc: string }[]).map((r) => JSON.parse(r.doc) as AuditEvent);
  }

  async prune(beforeMs: number): Promise<number> {
    return this.db.prepare("DELETE FROM audit_events WHERE id < ?").run(eventIdFloor(beforeMs)).changes;
  }

  async sweep(): Promise<number> {
    return 0;
  }

  async after(afterId: string | undefined, limit: number): Promise<AuditEvent[]> {
    const rows = this.db.prepare("SELECT doc FROM audit_events WHERE id > ? ORDER BY id LIMIT ?").all(afterId ?? "", limit) as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as AuditEvent);
  }

  /** Nothing is ever pending: an event commits with its change. */
  async oldestPendingId(): Promise<string | undefined> {
    return undefined;
  }
}
