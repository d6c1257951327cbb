// The key change log in MongoDB: a counter allocates sequence numbers; replicas poll the counter and read what lies
// past the last change they applied as one range; each records it in its heartbeat document, whose `beat` counter
// others watch on their own clocks. No change streams or TTL indexes (FerretDB lacks both).
import type { Collection, Db } from "mongodb";
import type { ChangeLogStore, KeyChange, ReplicaBeat } from "../types.js";
import { durableCollection } from "./mongo-keys.js";

type ChangeDoc = { _id: number; digests: string[]; atMs: number };
/** heartbeatAtMs is informational (and what replicas before `beat` existed compare); nothing trusts it across clocks. */
type ReplicaDoc = { _id: string; appliedSeq: number; beat?: number; heartbeatAtMs?: number };
type CounterDoc = { _id: string; seq: number };

export class MongoChangeLogStore implements ChangeLogStore {
  private readonly changes: Collection<ChangeDoc>;
  private readonly replicaDocs: Collection<ReplicaDoc>;
  private readonly counters: Collection<CounterDoc>;

  constructor(db: Db) {
    this.changes = durableCollection(db, "key_changes");
    this.replicaDocs = durableCollection(db, "replicas");
    this.counters = durableCollection(db, "counters");
  }

  async publish(digests: string[], atMs: number) {
    const c = await this.counters.findOneAndUpdate({ _id: "key_changes" }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: "after" });
    const seq = c!.seq;
    await this.changes.insertOne({ _id: seq, digests, atMs });
    return seq;
  }

  async latestSeq() {
    return (await this.counters.findOne({ _id: "key_changes" }))?.seq ?? 0;
  }

  /** One range read: MongoDB serves it from the _id index; FerretDB v1 scans the (pruned, small) collection. */
  async after(seq: number, limit: number): Promise<KeyChange[]> {
    const docs = await this.changes.find({ _id: { $gt: seq } }).sort({ _id: 1 }).limit(limit).toArray();
    return docs.map((d) => ({ seq: d._id, digests: d.digests, atMs: d.atMs }));
  }

  async heartbeat(replicaId: string, appliedSeq: number) {
    await this.replicaDocs.updateOne({ _id: replicaId }, { $set: { appliedSeq, heartbeatAtMs: Date.now() }, $inc: { beat: 1 } }, { upsert: true });
  }

  async replicas(): Promise<ReplicaBeat[]> {
    const docs = await this.replicaDocs.find({}).toArray();
    return docs.map((d) => ({ replicaId: d._id, appliedSeq: d.appliedSeq, beat: `${d.beat ?? ""}:${d.heartbeatAtMs ?? ""}` }));
  }

  async leave(replicaId: string) {
    await this.replicaDocs.deleteOne({ _id: replicaId });
  }

  async forget(replicaId: string, beat: string) {
    const [b, hb] = beat.split(":");
    await this.replicaDocs.deleteOne({
      _id: replicaId,
      beat: b ? Number(b) : { $exists: false },
      heartbeatAtMs: hb ? Number(hb) : { $exists: false },
    });
  }

  async prune(seq: number) {
    await this.changes.deleteMany({ _id: { $lte: seq } });
  }
}
