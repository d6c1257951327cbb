// Scope definitions in SQLite.
import type { Database } from "better-sqlite3";
import type { ScopeRecord } from "../../domain/types.js";
import type { EventFor, ScopeStore } from "../types.js";
import type { SqliteAuditLog } from "./sqlite-audit.js";

type Row = { name: string; description: string; created_at_ms: number };

export class SqliteScopeStore implements ScopeStore {
  constructor(private readonly db: Database, private readonly audit?: SqliteAuditLog) {}

  async upsert(scope: ScopeRecord, audit?: EventFor<ScopeRecord>) {
    // Redefining keeps the original creation time and updates the description; the same description changes nothing.
    const get = () => this.db.prepare("SELECT * FROM scopes WHERE name = ?").get(scope.name) as Row | undefined;
    return this.db.transaction(() => {
      const row = get();
      const before = row && toRecord(row);
      if (before && before.description === scope.description) return before;
      this.db
        .prepare(
          "INSERT INTO scopes (name, description, created_at_ms) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET description = excluded.description",
        )
        .run(scope.name, scope.description, scope.createdAtMs);
      this.audit?.record(audit?.(before));
      return toRecord(get()!);
    })();
  }

  async list() {
    return (this.db.prepare("SELECT * FROM scopes ORDER BY name").all() as Row[]).map(toRecord);
  }

  async missing(names: string[]) {
    const stmt = this.db.prepare("SELECT 1 FROM scopes WHERE name = ?");
    return names.filter((n) => stmt.get(n) === undefined);
  }

  async delete(name: string, audit?: EventFor<ScopeRecord>) {
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT * FROM scopes WHERE name = ?").get(name) as Row | undefined;
      if (!row) return false;
      this.db.prepare("DELETE FROM scopes WHERE name = ?").run(name);
      this.audit?.record(audit?.(toRecord(row)));
      return true;
    })();
  }
}

const toRecord = (r: Row): ScopeRecord => ({ name: r.name, description: r.description, createdAtMs: r.created_at_ms });
