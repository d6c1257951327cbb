// Scope definitions in SQLite.
import type { Database } from "better-sqlite3";
import type { ScopeRecord } from "../../domain/types.js";
import type { ScopeStore } from "../types.js";

type Row = { name: string; description: string; created_at_ms: number };

export class SqliteScopeStore implements ScopeStore {
  constructor(private readonly db: Database) {}

  async upsert(scope: ScopeRecord) {
    // Redefining keeps the original creation time and updates the description.
    this.db
      .prepare(
        "INSERT INTO scopes (name, description, created_at_ms) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET description = excluded.description",
      )
      .run(scope.name, scope.description, scope.createdAtMs);
    const row = this.db.prepare("SELECT * FROM scopes WHERE name = ?").get(scope.name) as Row;
    return toRecord(row);
  }

  async list() {
    return (this.db.prepare("SELECT * FROM scopes ORDER BY name").all() as Row[]).map(toRecord);
  }

  async missing(names: string[]) {
    const stmt = this.db.prepare("SELECT 1 FROM scopes WHERE name = ?");
    return names.filter((n) => stmt.get(n) === undefined);
  }

  async delete(name: string) {
    return this.db.prepare("DELETE FROM scopes WHERE name = ?").run(name).changes === 1;
  }
}

const toRecord = (r: Row): ScopeRecord => ({ name: r.name, description: r.description, createdAtMs: r.created_at_ms });
