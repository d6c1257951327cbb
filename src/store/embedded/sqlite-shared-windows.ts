// Rate windows shared by several processes on one data directory (FLUX_WORKERS ≥ 2), for LeasedRateLimiter: the
// `rate_windows` row's count is the points granted to leases in the window. A take or give-back is one IMMEDIATE
// transaction (read, decide, write under SQLite's write lock), so no grant ever passes the limit. The row layout is
// the one-process WindowCounter's: a count read by either one is at least what was admitted, so switching between
// FLUX_WORKERS=1 and N only ever under-admits the window that was running.
import type { Database, Statement } from "better-sqlite3";
import type { RateLimit } from "../../domain/types.js";
import type { RateWindowStore, WindowTake } from "../../services/leased-rate-limiter.js";
import { type WindowState, windowEndMs } from "../../services/rate-limiter.js";

export class SqliteSharedWindows implements RateWindowStore {
  private readonly getOne: Statement<[string], WindowState>;
  private readonly upsert: Statement<[string, number, number, number]>;
  private readonly add: Statement<[number, string, number, number]>;
  private readonly deleteEnded: Statement<[number]>;
  private readonly takeTx: (keyId: string, limit: RateLimit, points: number, nowMs: number) => WindowTake;

  constructor(db: Database) {
    this.getOne = db.prepare("SELECT start_ms AS startMs, end_ms AS endMs, count FROM rate_windows WHERE key_id = ?");
    this.upsert = db.prepare(
      "INSERT INTO rate_windows (key_id, start_ms, end_ms, count) VALUES (?, ?, ?, ?) " +
        "ON CONFLICT(key_id) DO UPDATE SET start_ms = excluded.start_ms, end_ms = excluded.end_ms, count = excluded.count",
    );
    this.add = db.prepare("UPDATE rate_windows SET count = count - ? WHERE key_id = ? AND start_ms = ? AND count >= ?");
    this.deleteEnded = db.prepare("DELETE FROM rate_windows WHERE end_ms <= ?");
    const tx = db.transaction((keyId: string, limit: RateLimit, points: number, nowMs: number): WindowTake => {
      const w = this.getOne.get(keyId);
      if (!w || nowMs >= windowEndMs(w, limit)) {
        // No window, or it ended: a new one starts now (the same rule as WindowCounter and MongoRateWindowStore).
        const fresh = { startMs: nowMs, endMs: nowMs + limit.windowSeconds * 1000, count: Math.min(points, limit.requests) };
        this.upsert.run(keyId, fresh.startMs, fresh.endMs, fresh.count);
        return { granted: fresh.count, count: fresh.count, startMs: fresh.startMs, endMs: windowEndMs(fresh, limit) };
      }
      const granted = Math.max(0, Math.min(points, limit.requests - w.count));
      if (granted > 0) this.upsert.run(keyId, w.startMs, w.endMs, w.count + granted);
      return { granted, count: w.count + granted, startMs: w.startMs, endMs: windowEndMs(w, limit) };
    });
    // IMMEDIATE: the write lock is taken before the read, so two processes never grant from the same count.
    this.takeTx = (...args) => tx.immediate(...args);
  }

  async take(keyId: string, limit: RateLimit, points: number, nowMs: number): Promise<WindowTake> {
    return this.takeTx(keyId, limit, points, nowMs);
  }

  async giveBack(keyId: string, startMs: number, points: number): Promise<void> {
    // Only into the window the points came from: returning them to a later window would over-admit.
    this.add.run(points, keyId, startMs, points);
  }

  async prune(nowMs: number): Promise<void> {
    this.deleteEnded.run(nowMs);
  }
}
