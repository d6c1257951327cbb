// Usage counters in SQLite: one row per key, hour and outcome; a flush is written in transactions of 100 writes.
import type { Database, Statement } from "better-sqlite3";
import type { Outcome } from "../../domain/types.js";
import type { UsageIncrement, UsageRow, UsageStore } from "../types.js";

/** Writes per transaction. */
const FLUSH_CHUNK = 100;

export class SqliteUsageStore implements UsageStore {
  private inc?: Statement;
  private last?: Statement;

  constructor(private readonly db: Database) {}

  async apply(increments: UsageIncrement[], lastUsed: Map<string, number>) {
    this.inc ??= this.db.prepare(
      "INSERT INTO usage_hourly (key_id, hour_start_ms, outcome, count) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count",
    );
    this.last ??= this.db.prepare(
      "INSERT INTO key_last_used (key_id, last_used_at_ms) VALUES (?, ?) ON CONFLICT DO UPDATE SET last_used_at_ms = max(last_used_at_ms, excluded.last_used_at_ms)",
    );
    const { inc, last } = this;
    const writes: (() => void)[] = [];
    for (const i of increments) writes.push(() => inc.run(i.keyId, i.hourStartMs, i.outcome, i.count));
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

  async lastUsedAt(keyId: string) {
    const row = this.db.prepare("SELECT last_used_at_ms AS ms FROM key_last_used WHERE key_id = ?").get(keyId) as { ms: number } | undefined;
    return row?.ms;
  }
}
