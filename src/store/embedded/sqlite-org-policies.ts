// Organisation policies in SQLite: one row per organisation that has (or had) one, the record as JSON; a change
// and its audit event are one transaction.
import type { Database, Statement } from "better-sqlite3";
import type { AuditEvent } from "../../domain/audit.js";
import type { OrgPolicy } from "../../domain/types.js";
import type { OrgPolicyStore } from "../types.js";
import type { SqliteAuditLog } from "./sqlite-audit.js";

export const ORG_POLICIES_SCHEMA = `
CREATE TABLE IF NOT EXISTS org_policies (org_id TEXT PRIMARY KEY, updated_at_ms INTEGER NOT NULL, doc TEXT NOT NULL);
`;

export class SqliteOrgPolicyStore implements OrgPolicyStore {
  private readonly getOne: Statement<[string], { doc: string }>;
  private readonly insert: Statement<[string, number, string]>;
  private readonly update: Statement<[number, string, string, number]>;

  constructor(private readonly db: Database, private readonly audit?: SqliteAuditLog) {
    this.getOne = db.prepare("SELECT doc FROM org_policies WHERE org_id = ?");
    this.insert = db.prepare("INSERT OR IGNORE INTO org_policies (org_id, updated_at_ms, doc) VALUES (?, ?, ?)");
    this.update = db.prepare("UPDATE org_policies SET updated_at_ms = ?, doc = ? WHERE org_id = ? AND updated_at_ms = ?");
  }

  async get(orgId: string): Promise<OrgPolicy | undefined> {
    const row = this.getOne.get(orgId);
    return row && (JSON.parse(row.doc) as OrgPolicy);
  }

  async list(): Promise<OrgPolicy[]> {
    const rows = this.db.prepare("SELECT doc FROM org_policies ORDER BY org_id").all() as { doc: string }[];
    return rows.map((r) => JSON.parse(r.doc) as OrgPolicy);
  }

  async replace(before: OrgPolicy | undefined, after: OrgPolicy, event?: AuditEvent): Promise<boolean> {
    return this.db.transaction(() => {
      const doc = JSON.stringify(after);
      const applied = before
        ? this.update.run(after.updatedAtMs, doc, after.orgId, before.updatedAtMs).changes === 1
        : this.insert.run(after.orgId, after.updatedAtMs, doc).changes === 1;
      if (applied) this.audit?.record(event);
      return applied;
    })();
  }
}
