// The key change log in MongoDB: a counter allocates sequence numbers; replicas poll changes past the last one they
// applied and record it in their heartbeat document. No change streams or TTL indexes (FerretDB lacks both).
import type { Collection, Db } from "mongodb";
import type { ChangeLogStore, KeyChange } from "../types.js";

type ChangeDoc = { _id: number; digests: string[]; atMs: number };
type ReplicaDoc = { _id: string; appliedSeq: number; heartbeatAtMs: number };
type CounterDoc = { _id: string; seq: number };

export class MongoChangeLogStore implements ChangeLogStore {
  private readonly changes: Collection<ChangeDoc>;
  private readonly replicas: Collection<ReplicaDoc>;
  private readonly counters: Collection<CounterDoc>;

  constructor(db: Db) {
    this.changes = db.collection("key_changes");
    this.replicas = db.collection("replicas");
    this.counters = db.collection("counters");
  }

  async publish(digests: string[], atMs: number) {
    const c = await this.counters.findOneAndUpdate({ _id: "key_changes" }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: "after" });
    const seq = c!.seq;
    await this.changes.insertOne({ _id: seq, digests, atMs });
    return seq;
  }

  /** Reads changes one by one by _id (the only lookup FerretDB serves from an index), up to the counter's head. */
  async after(seq: number, limit: number): Promise<KeyChange[]> {
    const out: KeyChange[] = [];
    for (let next = seq + 1; out.length < limit; next++) {
      const d = await this.changes.findOne({ _id: next });
      if (!d) break;
      out.push({ seq: d._id, digests: d.digests, atMs: d.atMs });
    }
    if (out.length === 0 && (await this.latestSeq()) > seq) {
      // A gap: the next number is allocated but not (yet) written; report what lies beyond it.
      const beyond = await this.changes.find({ _id: { $gt: seq } }).sort({ _id: 1 }).limit(limit).toArray();
      return beyond.map((d) => ({ seq: d._id, digests: d.digests, atMs: d.atMs }));
    }
    return out;
  }

  async latestSeq() {
    return (await this.counters.findOne({ _id: "key_changes" }))?.seq ?? 0;
  }

  async heartbeat(replicaId: string, appliedSeq: number, atMs: number) {
    await this.replicas.updateOne({ _id: replicaId }, { $set: { appliedSeq, heartbeatAtMs: atMs } }, { upsert: true });
  }

  async lagging(seq: number, aliveSinceMs: number) {
    const docs = await this.replicas.find({ appliedSeq: { $lt: seq }, heartbeatAtMs: { $gte: aliveSinceMs } }, { projection: { _id: 1 } }).toArray();
    return docs.map((d) => d._id);
  }

  async leave(replicaId: string) {
    await this.replicas.deleteOne({ _id: replicaId });
  }

  async prune(changesBeforeMs: number, replicasBeforeMs: number) {
    await this.changes.deleteMany({ atMs: { $lt: changesBeforeMs } }); // rare: a scan is fine here
    await this.replicas.deleteMany({ heartbeatAtMs: { $lt: replicasBeforeMs } });
  }
}
