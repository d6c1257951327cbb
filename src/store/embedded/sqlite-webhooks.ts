// Webhook endpoints, the delivery queue and the feed cursor in SQLite. Endpoint changes commit with their audit
// events in one transaction; the queue's primary key (endpoint, event) makes a second enqueue a no-op.
import type { Database } from "better-sqlite3";
import type { AuditEvent } from "../../domain/audit.js";
import type { DeliveryRecord, WebhookEndpointRecord } from "../../domain/webhooks.js";
import type { EndpointQuery, WebhookStore } from "../webhook-types.js";
import type { SqliteAuditLog } from "./sqlite-audit.js";

export const WEBHOOKS_SCHEMA = `
CREATE TABLE IF NOT EXISTS webhook_endpoints (
  id TEXT PRIMARY KEY, org_id TEXT, enabled INTEGER NOT NULL, created_at_ms INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_endpoints_org ON webhook_endpoints(org_id, created_at_ms DESC, id DESC);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  endpoint_id TEXT NOT NULL, event_id TEXT NOT NULL, status TEXT NOT NULL, next_attempt_at_ms INTEGER NOT NULL,
  event_at_ms INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at_ms);
CREATE TABLE IF NOT EXISTS webhook_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

type DocRow = { doc: string };
type DeliveryRow = { doc: string; next: number };
/** The column holds the time (deferQueue moves it without rewriting the JSON). */
const toDelivery = (r: DeliveryRow): DeliveryRecord => ({ ...(JSON.parse(r.doc) as DeliveryRecord), nextAttemptAtMs: r.next });

export class SqliteWebhookStore implements WebhookStore {
  constructor(private readonly db: Database, private readonly audit: SqliteAuditLog, opts: { keepLeases?: boolean } = {}) {
    // Leases left by a previous (dead) owner of this directory: the lock says no other process runs here. Workers
    // (FLUX_WORKERS ≥ 2) keep them: a live worker may hold one; the primary cleared them before starting any.
    if (!opts.keepLeases) db.prepare("DELETE FROM webhook_state WHERE name LIKE 'lease:%'").run();
  }

  async insertEndpoint(ep: WebhookEndpointRecord, event: AuditEvent, maxPerOrg: number) {
    return this.db.transaction(() => {
      if (this.countNow(ep.orgId) >= maxPerOrg) return false;
      this.db
        .prepare("INSERT INTO webhook_endpoints (id, org_id, enabled, created_at_ms, updated_at_ms, doc) VALUES (?, ?, ?, ?, ?, ?)")
        .run(ep.id, ep.orgId ?? null, ep.enabled ? 1 : 0, ep.createdAtMs, ep.updatedAtMs, JSON.stringify(ep));
      this.audit.record(event);
      return true;
    })();
  }

  async getEndpoint(id: string) {
    const row = this.db.prepare("SELECT doc FROM webhook_endpoints WHERE id = ?").get(id) as DocRow | undefined;
    return row && (JSON.parse(row.doc) as WebhookEndpointRecord);
  }

  async listEndpoints(q: EndpointQuery) {
    const where: string[] = [];
    const args: Record<string, unknown> = { limit: q.limit };
    if (q.orgId === null) where.push("org_id IS NULL");
    else if (q.orgId !== undefined) (where.push("org_id = @orgId"), (args.orgId = q.orgId));
    if (q.after) {
      where.push("(created_at_ms < @c OR (created_at_ms = @c AND id < @id))");
      Object.assign(args, { c: q.after.createdAtMs, id: q.after.id });
    }
    const sql = `SELECT doc FROM webhook_endpoints ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at_ms DESC, id DESC LIMIT @limit`;
    return (this.db.prepare(sql).all(args) as DocRow[]).map((r) => JSON.parse(r.doc) as WebhookEndpointRecord);
  }

  async enabledEndpoints() {
    return (this.db.prepare("SELECT doc FROM webhook_endpoints WHERE enabled = 1").all() as DocRow[]).map((r) => JSON.parse(r.doc) as WebhookEndpointRecord);
  }

  async countEndpoints(orgId: string | undefined) {
    return this.countNow(orgId);
  }

  private countNow(orgId: string | undefined): number {
    const row = (orgId === undefined
      ? this.db.prepare("SELECT count(*) AS n FROM webhook_endpoints WHERE org_id IS NULL").get()
      : this.db.prepare("SELECT count(*) AS n FROM webhook_endpoints WHERE org_id = ?").get(orgId)) as { n: number };
    return row.n;
  }

  async replaceEndpoint(before: WebhookEndpointRecord, after: WebhookEndpointRecord, event: AuditEvent) {
    return this.db.transaction(() => {
      const res = this.db
        .prepare("UPDATE webhook_endpoints SET enabled = ?, updated_at_ms = ?, doc = ? WHERE id = ? AND updated_at_ms = ?")
        .run(after.enabled ? 1 : 0, after.updatedAtMs, JSON.stringify(after), before.id, before.updatedAtMs);
      if (res.changes !== 1) return false;
      this.audit.record(event);
      return true;
    })();
  }

  async deleteEndpoint(before: WebhookEndpointRecord, event: AuditEvent) {
    return this.db.transaction(() => {
      const res = this.db.prepare("DELETE FROM webhook_endpoints WHERE id = ? AND updated_at_ms = ?").run(before.id, before.updatedAtMs);
      if (res.changes !== 1) return false;
      this.db.prepare("DELETE FROM webhook_deliveries WHERE endpoint_id = ?").run(before.id);
      this.db.prepare("DELETE FROM webhook_state WHERE name = ?").run(`lease:${before.id}`);
      this.audit.record(event);
      return true;
    })();
  }

  async enqueue(deliveries: DeliveryRecord[]) {
    const stmt = this.db.prepare(
      "INSERT OR IGNORE INTO webhook_deliveries (endpoint_id, event_id, status, next_attempt_at_ms, event_at_ms, doc) VALUES (?, ?, ?, ?, ?, ?)",
    );
    return this.db.transaction(() => {
      let n = 0;
      for (const d of deliveries) n += stmt.run(d.endpointId, d.eventId, d.status, d.nextAttemptAtMs, d.eventAtMs, JSON.stringify(d)).changes;
      return n;
    })();
  }

  async dueEndpoints(nowMs: number, limit: number) {
    const rows = this.db
      .prepare("SELECT DISTINCT endpoint_id AS id FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at_ms <= ? LIMIT ?")
      .all(nowMs, limit) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async head(endpointId: string) {
    const row = this.db
      .prepare("SELECT doc, next_attempt_at_ms AS next FROM webhook_deliveries WHERE endpoint_id = ? AND status = 'PENDING' ORDER BY event_id LIMIT 1")
      .get(endpointId) as DeliveryRow | undefined;
    return row && toDelivery(row);
  }

  async saveAttempt(d: DeliveryRecord) {
    this.db
      .prepare("UPDATE webhook_deliveries SET status = ?, next_attempt_at_ms = ?, doc = ? WHERE endpoint_id = ? AND event_id = ?")
      .run(d.status, d.nextAttemptAtMs, JSON.stringify(d), d.endpointId, d.eventId);
  }

  async deferQueue(endpointId: string, untilMs: number) {
    this.db.prepare("UPDATE webhook_deliveries SET next_attempt_at_ms = ? WHERE endpoint_id = ? AND status = 'PENDING' AND next_attempt_at_ms < ?").run(untilMs, endpointId, untilMs);
  }

  async listDeliveries(endpointId: string, limit: number, beforeEventId?: string) {
    const rows = (beforeEventId
      ? this.db.prepare("SELECT doc, next_attempt_at_ms AS next FROM webhook_deliveries WHERE endpoint_id = ? AND event_id < ? ORDER BY event_id DESC LIMIT ?").all(endpointId, beforeEventId, limit)
      : this.db.prepare("SELECT doc, next_attempt_at_ms AS next FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY event_id DESC LIMIT ?").all(endpointId, limit)) as DeliveryRow[];
    return rows.map(toDelivery);
  }

  async pendingCount() {
    return (this.db.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'PENDING'").get() as { n: number }).n;
  }

  async pruneDeliveries(beforeMs: number) {
    return this.db.prepare("DELETE FROM webhook_deliveries WHERE status != 'PENDING' AND event_at_ms < ?").run(beforeMs).changes;
  }

  // Across processes too (FLUX_WORKERS ≥ 2): read and write in one transaction under SQLite's write lock.
  async acquireLease(endpointId: string, owner: string, nowMs: number, untilMs: number) {
    return this.db.transaction(() => {
      const name = `lease:${endpointId}`;
      const row = this.db.prepare("SELECT value FROM webhook_state WHERE name = ?").get(name) as { value: string } | undefined;
      const held = row && (JSON.parse(row.value) as { owner: string; untilMs: number });
      if (held && held.owner !== owner && held.untilMs > nowMs) return false;
      this.db.prepare("INSERT OR REPLACE INTO webhook_state (name, value) VALUES (?, ?)").run(name, JSON.stringify({ owner, untilMs }));
      return true;
    })();
  }

  async releaseLease(endpointId: string, owner: string) {
    this.db.prepare("DELETE FROM webhook_state WHERE name = ? AND json_extract(value, '$.owner') = ?").run(`lease:${endpointId}`, owner);
  }

  async feedCursor() {
    return (this.db.prepare("SELECT value FROM webhook_state WHERE name = 'feed_cursor'").get() as { value: string } | undefined)?.value;
  }

  async advanceFeedCursor(id: string) {
    this.db
      .prepare("INSERT INTO webhook_state (name, value) VALUES ('feed_cursor', ?) ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)")
      .run(id);
  }
}
