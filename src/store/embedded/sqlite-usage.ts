// Usage counters in SQLite: one row per key, hour and outcome; each flush is one transaction.
import type { Database } from "better-sqlite3";
import type { Outcome } from "../../domain/types.js";
import type { UsageIncrement, UsageRow, UsageStore } from "../types.js";

export class SqliteUsageStore implements UsageStore {
  constructor(private readonly db: Database) {}

  async apply(increments: UsageIncrement[], lastUsed: Map<string, number>) {
    const inc = this.db.prepare(
      "INSERT INTO usage_hourly (key_id, hour_start_ms, outcome, count) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count",
    );
    const last = this.db.prepare(
      "INSERT INTO key_last_used (key_id, last_used_at_ms) VALUES (?, ?) ON CONFLICT DO UPDATE SET last_used_at_ms = max(last_used_at_ms, excluded.last_used_at_ms)",
    );
    this.db.transaction(() => {
      for (const i of increments) inc.run(i.keyId, i.hourStartMs, i.outcome, i.count);
      for (const [keyId, ms] of lastUsed) last.run(keyId, ms);
    })();
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

  async lastUsedAt(keyId: string) {
    const row = this.db.prepare("SELECT last_used_at_ms AS ms FROM key_last_used WHERE key_id = ?").get(keyId) as { ms: number } | undefined;
    return row?.ms;
  }
}
