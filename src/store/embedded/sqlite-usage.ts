// Usage counters in SQLite: one row per key, hour and outcome (with the key's org, for roll-ups per organisation),
// and per key and scope the last time a validation required it; a flush is written in transactions of 100 writes.
import type { Database, Statement } from "better-sqlite3";
import type { Outcome } from "../../domain/types.js";
import type { KeyUsageRow, ScopeUse, UsageIncrement, UsageRow, UsageStore } from "../types.js";

/** Brings a store written before organisation roll-ups and scope hints up to date (idempotent, at open). Rows
 * written before get their key's org from api_keys, so an org's history starts with its keys, not with the upgrade. */
function migrate(db: Database): void {
  const columns = db.prepare("PRAGMA table_info(usage_hourly)").all() as { name: string }[];
  if (!columns.some((c) => c.name === "org_id")) {
    db.transaction(() => {
      db.exec("ALTER TABLE usage_hourly ADD COLUMN org_id TEXT");
      db.exec("UPDATE usage_hourly SET org_id = (SELECT k.org_id FROM api_keys k WHERE k.id = usage_hourly.key_id)");
    })();
  }
  db.exec(`
CREATE INDEX IF NOT EXISTS usage_hourly_org ON usage_hourly(org_id, hour_start_ms) WHERE org_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS key_scope_uses (key_id TEXT NOT NULL, scope TEXT NOT NULL, last_required_at_ms INTEGER NOT NULL, PRIMARY KEY (key_id, scope));
`);
}

/** Writes per transaction. */
const FLUSH_CHUNK = 100;

export class SqliteUsageStore implements UsageStore {
  private inc?: Statement;
  private last?: Statement;

  constructor(private readonly db: Database) {
    migrate(db);
  }

  async apply(increments: UsageIncrement[], lastUsed: Map<string, number>) {
    this.inc ??= this.db.prepare(
      "INSERT INTO usage_hourly (key_id, hour_start_ms, outcome, count, org_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count",
    );
    this.last ??= this.db.prepare(
      "INSERT INTO key_last_used (key_id, last_used_at_ms) VALUES (?, ?) ON CONFLICT DO UPDATE SET last_used_at_ms = max(last_used_at_ms, excluded.last_used_at_ms)",
    );
    const { inc, last } = this;
    const writes: (() => void)[] = [];
    for (const i of increments) writes.push(() => inc.run(i.keyId, i.hourStartMs, i.outcome, i.count, i.orgId ?? null));
    for (const [keyId, ms] of lastUsed) writes.push(() => last.run(keyId, ms));
    // Transactions of FLUSH_CHUNK writes with a yield between: a flush of many keys never stalls validate (which
    // runs on this thread) for more than ~0.5 ms at a time. A failed chunk drops itself and the rest: never over-counts.
    for (let at = 0; at < writes.length; at += FLUSH_CHUNK) {
      if (at > 0) await new Promise((resolve) => setImmediate(resolve));
      this.db.transaction(() => {
        for (const w of writes.slice(at, at + FLUSH_CHUNK)) w();
      })();
    }
  }

  async hours(keyId: string, fromMs: number, toMs: number): Promise<UsageRow[]> {
    const rows = this.db
      .prepare("SELECT hour_start_ms AS h, outcome AS o, count AS n FROM usage_hourly WHERE key_id = ? AND hour_start_ms >= ? AND hour_start_ms < ? ORDER BY hour_start_ms")
      .all(keyId, fromMs, toMs) as { h: number; o: Outcome; n: number }[];
    const out: UsageRow[] = [];
    for (const r of rows) {
      let row = out[out.length - 1];
      if (!row || row.hourStartMs !== r.h) out.push((row = { hourStartMs: r.h, counts: {} }));
      row.counts[r.o] = r.n;
    }
    return out;
  }

  async orgHours(orgId: string, fromMs: number, toMs: number): Promise<KeyUsageRow[]> {
    const rows = this.db
      .prepare("SELECT key_id AS k, hour_start_ms AS h, outcome AS o, count AS n FROM usage_hourly WHERE org_id = ? AND hour_start_ms >= ? AND hour_start_ms < ? ORDER BY key_id, hour_start_ms")
      .all(orgId, fromMs, toMs) as { k: string; h: number; o: Outcome; n: number }[];
    const out: KeyUsageRow[] = [];
    for (const r of rows) {
      let row = out[out.length - 1];
      if (!row || row.keyId !== r.k || row.hourStartMs !== r.h) out.push((row = { keyId: r.k, hourStartMs: r.h, counts: {} }));
      row.counts[r.o] = r.n;
    }
    return out;
  }

  async applyScopeUses(uses: ScopeUse[]) {
    const up = this.db.prepare(
      "INSERT INTO key_scope_uses (key_id, scope, last_required_at_ms) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET last_required_at_ms = max(last_required_at_ms, excluded.last_required_at_ms)",
    );
    for (let at = 0; at < uses.length; at += FLUSH_CHUNK) {
      if (at > 0) await new Promise((resolve) => setImmediate(resolve));
      this.db.transaction(() => {
        for (const u of uses.slice(at, at + FLUSH_CHUNK)) up.run(u.keyId, u.scope, u.atMs);
      })();
    }
  }

  async scopeUses(keyId: string) {
    const rows = this.db.prepare("SELECT scope AS s, last_required_at_ms AS ms FROM key_scope_uses WHERE key_id = ?").all(keyId) as { s: string; ms: number }[];
    return new Map(rows.map((r) => [r.s, r.ms]));
  }

  async lastUsedAt(keyId: string) {
    const row = this.db.prepare("SELECT last_used_at_ms AS ms FROM key_last_used WHERE key_id = ?").get(keyId) as { ms: number } | undefined;
    return row?.ms;
  }
}
