// Rate windows in SQLite: one row per key id, holding the key's latest window. The limiter counts in memory and
// writes the windows it changed once per flush (one transaction), so validate never waits for a write; a row is
// read once, on the key's first use after a start. Ended rows are overwritten by the key's next window or pruned.
import type { Database, Statement } from "better-sqlite3";
import type { RateWindowRows, StoredWindow } from "../types.js";

export const RATE_WINDOWS_SCHEMA = `
CREATE TABLE IF NOT EXISTS rate_windows (
  key_id TEXT PRIMARY KEY, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_windows_end ON rate_windows(end_ms);
`;

export class SqliteRateWindows implements RateWindowRows {
  private readonly getOne: Statement<[string]>;
  private readonly upsert: Statement<[string, number, number, number]>;
  private readonly deleteEnded: Statement<[number]>;

  constructor(private readonly db: Database) {
    this.getOne = db.prepare("SELECT start_ms AS startMs, end_ms AS endMs, count FROM rate_windows WHERE key_id = ?");
    this.upsert = db.prepare(
      "INSERT INTO rate_windows (key_id, start_ms, end_ms, count) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT(key_id) DO UPDATE SET start_ms = excluded.start_ms, end_ms = excluded.end_ms, count = excluded.count",
    );
    this.deleteEnded = db.prepare("DELETE FROM rate_windows WHERE end_ms <= ?");
  }

  get(keyId: string): StoredWindow | undefined {
    const row = this.getOne.get(keyId) as Omit<StoredWindow, "keyId"> | undefined;
    return row && { keyId, ...row };
  }

  save(windows: StoredWindow[]): void {
    if (windows.length === 0) return;
    this.db.transaction(() => {
      for (const w of windows) this.upsert.run(w.keyId, w.startMs, w.endMs, w.count);
    })();
  }

  prune(nowMs: number): number {
    return this.deleteEnded.run(nowMs).changes;
  }

  /** Rows held (tests: the table stays bounded). */
  size(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM rate_windows").get() as { n: number }).n;
  }
}
