// The replica rules' change log, heartbeats and outbox in SQLite, for FLUX_WORKERS ≥ 2 (several processes on one
// data directory). Each write is one statement or one IMMEDIATE transaction, so a sequence number is allocated and
// written together: the log never has gaps. AUTOINCREMENT keeps numbers rising even after prune() empties the table.
import type { Database, Statement } from "better-sqlite3";
import type { ChangeLogStore, ChangeOutboxStore, KeyChange, ReplicaBeat } from "../types.js";

export const CHANGE_LOG_SCHEMA = `
CREATE TABLE IF NOT EXISTS key_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, digests TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS replicas (replica_id TEXT PRIMARY KEY, applied_seq INTEGER NOT NULL, beat INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS change_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, digests TEXT NOT NULL);
`;

export class SqliteChangeLogStore implements ChangeLogStore {
  private readonly insert: Statement<[string, number]>;
  private readonly head: Statement<[], { seq: number }>;
  private readonly range: Statement<[number, number], { seq: number; digests: string; atMs: number }>;
  private readonly beat: Statement<[string, number]>;
  private readonly all: Statement<[], { replicaId: string; appliedSeq: number; beat: number }>;
  private readonly remove: Statement<[string]>;
  private readonly removeIf: Statement<[string, number]>;
  private readonly pruneTo: Statement<[number]>;

  constructor(db: Database) {
    this.insert = db.prepare("INSERT INTO key_changes (digests, at_ms) VALUES (?, ?)");
    this.head = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'key_changes'");
    this.range = db.prepare("SELECT seq, digests, at_ms AS atMs FROM key_changes WHERE seq > ? ORDER BY seq LIMIT ?");
    this.beat = db.prepare(
      "INSERT INTO replicas (replica_id, applied_seq, beat) VALUES (?, ?, 1) ON CONFLICT(replica_id) DO UPDATE SET applied_seq = excluded.applied_seq, beat = beat + 1",
    );
    this.all = db.prepare("SELECT replica_id AS replicaId, applied_seq AS appliedSeq, beat FROM replicas");
    this.remove = db.prepare("DELETE FROM replicas WHERE replica_id = ?");
    this.removeIf = db.prepare("DELETE FROM replicas WHERE replica_id = ? AND beat = ?");
    this.pruneTo = db.prepare("DELETE FROM key_changes WHERE seq <= ?");
  }

  async publish(digests: string[], atMs: number): Promise<number> {
    return Number(this.insert.run(JSON.stringify(digests), atMs).lastInsertRowid);
  }

  async latestSeq(): Promise<number> {
    return this.head.get()?.seq ?? 0;
  }

  async after(seq: number, limit: number): Promise<KeyChange[]> {
    return this.range.all(seq, limit).map((r) => ({ seq: r.seq, digests: JSON.parse(r.digests) as string[], atMs: r.atMs }));
  }

  async heartbeat(replicaId: string, appliedSeq: number): Promise<void> {
    this.beat.run(replicaId, appliedSeq);
  }

  async replicas(): Promise<ReplicaBeat[]> {
    return this.all.all().map((r) => ({ replicaId: r.replicaId, appliedSeq: r.appliedSeq, beat: String(r.beat) }));
  }

  async leave(replicaId: string): Promise<void> {
    this.remove.run(replicaId);
  }

  async forget(replicaId: string, beat: string): Promise<void> {
    this.removeIf.run(replicaId, Number(beat));
  }

  async prune(seq: number): Promise<void> {
    this.pruneTo.run(seq);
  }
}

export class SqliteChangeOutboxStore implements ChangeOutboxStore {
  private readonly insert: Statement<[string]>;
  private readonly first: Statement<[number], { id: number; digests: string }>;
  private readonly removeOne: Statement<[number]>;

  constructor(db: Database) {
    this.insert = db.prepare("INSERT INTO change_outbox (digests) VALUES (?)");
    this.first = db.prepare("SELECT id, digests FROM change_outbox ORDER BY id LIMIT ?");
    this.removeOne = db.prepare("DELETE FROM change_outbox WHERE id = ?");
  }

  async add(digests: string[]): Promise<string> {
    return String(this.insert.run(JSON.stringify(digests)).lastInsertRowid);
  }

  async list(limit: number): Promise<{ id: string; digests: string[] }[]> {
    return this.first.all(limit).map((r) => ({ id: String(r.id), digests: JSON.parse(r.digests) as string[] }));
  }

  async remove(id: string): Promise<void> {
    this.removeOne.run(Number(id));
  }
}
