// The audit log on MongoDB, without transactions (FerretDB v1 has none). A change and its event are one document
// write: the changed document (key, admin key, scope) carries the event as `lastEvent`. Moving it into the
// `audit_events` collection (_id = event id, so a second move is a no-op) happens after the write, guarded by an
// intent written before it (`audit_intents`, normally empty):
//   1. settle the document's previous lastEvent if its intent is still open (so no event is overwritten unmoved);
//   2. insert the intent {event id, target, the write's precondition};
//   3. the conditional write, setting lastEvent (every audited write makes its own precondition false);
//   4. applied: move the event; then delete the intent.
// A crash anywhere leaves the intent. The sweep settles it: the target's lastEvent is this event → move it; the
// target still matches the precondition (or is still absent, for a creation) → the write has not landed, wait;
// otherwise the write can no longer land, or it landed and a later write moved the event in step 1 → drop it.
// So every applied change has exactly one event and no event exists for a change that did not apply.
import type { Collection, Db, Filter } from "mongodb";
import { type AuditEvent, eventIdFloor } from "../../domain/audit.js";
import type { AuditQuery, AuditStore } from "../types.js";
import { durableCollection } from "./mongo-keys.js";

/** An event as stored, in the log and as a document's lastEvent: field values as JSON text (any key name is safe). */
export type EventDoc = Omit<AuditEvent, "id" | "before" | "after"> & { _id: string; before: string; after: string };
type IntentDoc = { _id: string; collection: string; targetId: string; precondition: string | null; createdAtMs: number };

export const toEventDoc = ({ id, before, after, ...rest }: AuditEvent): EventDoc => {
  const doc: EventDoc = { _id: id, ...rest, before: JSON.stringify(before), after: JSON.stringify(after) };
  for (const k of Object.keys(doc) as (keyof EventDoc)[]) if (doc[k] === undefined) delete doc[k];
  return doc;
};
const fromEventDoc = ({ _id, before, after, ...rest }: EventDoc): AuditEvent => ({ id: _id, ...rest, before: JSON.parse(before), after: JSON.parse(after) });

export interface MongoAuditOptions {
  /** An intent is looked at once it has been open this long (normal ones live for one write). */
  settleAfterMs: number;
  /** An intent whose write has still not landed after this long is dropped: no write stays in flight that long. */
  abandonAfterMs: number;
  now(): number;
}

export const DEFAULT_MONGO_AUDIT: MongoAuditOptions = { settleAfterMs: 2000, abandonAfterMs: 3_600_000, now: Date.now };

export class MongoAuditLog implements AuditStore {
  readonly events: Collection<EventDoc>;
  readonly intents: Collection<IntentDoc>;

  constructor(private readonly db: Db, private readonly opts: MongoAuditOptions = DEFAULT_MONGO_AUDIT) {
    this.events = durableCollection(db, "audit_events");
    this.intents = durableCollection(db, "audit_intents");
  }

  /**
   * Runs `write`, which must store `toEventDoc(event)` as the target's lastEvent, only when `precondition` holds
   * (null: the target does not exist yet), and report whether it applied. `previous` is the target's lastEvent as read.
   */
  async around(collection: string, targetId: string, event: AuditEvent, previous: EventDoc | undefined, precondition: object | null, write: () => Promise<boolean>): Promise<boolean> {
    if (previous) await this.settle(previous);
    const intent: IntentDoc = { _id: event.id, collection, targetId, precondition: precondition && JSON.stringify(precondition), createdAtMs: this.opts.now() };
    await this.intents.insertOne(intent);
    const applied = await write(); // a failure leaves the intent: the write may have landed; the sweep decides
    if (applied) await this.move(toEventDoc(event)).catch(() => {}); // left to the sweep, which moves it
    else await this.intents.deleteOne({ _id: event.id }).catch(() => {});
    return applied;
  }

  /** Moves an event whose intent is still open (the writer of its change died or failed before moving it). */
  private async settle(previous: EventDoc): Promise<void> {
    if (await this.intents.findOne({ _id: previous._id })) await this.move(previous);
  }

  private async move(doc: EventDoc): Promise<void> {
    try {
      await this.events.insertOne(doc);
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err; // 11000: moved already
    }
    await this.intents.deleteOne({ _id: doc._id });
  }

  private readonly firstSeen = new Map<string, number>();

  /** Settles intents left by crashes and failed moves; returns how many events it moved. */
  async sweep(): Promise<number> {
    const now = this.opts.now();
    const open = await this.intents.find({}).limit(200).toArray();
    const ids = new Set(open.map((i) => i._id));
    for (const id of this.firstSeen.keys()) if (!ids.has(id)) this.firstSeen.delete(id);
    let moved = 0;
    for (const intent of open) {
      // Ages on this replica's own clock: another writer's clock may be off.
      const seen = this.firstSeen.get(intent._id) ?? now;
      this.firstSeen.set(intent._id, seen);
      if (now - seen < this.opts.settleAfterMs) continue;
      const col = this.db.collection<{ _id: string; lastEvent?: EventDoc }>(intent.collection);
      // The precondition first: once false it stays false (each audited write falsifies its own, for good), so a
      // lastEvent read after it cannot miss a write that landed in between.
      let target = intent.precondition === null ? await col.findOne({ _id: intent.targetId }) : null;
      const pending = intent.precondition === null ? !target : !!(await col.findOne({ _id: intent.targetId, ...JSON.parse(intent.precondition) }));
      if (pending) {
        if (now - seen >= this.opts.abandonAfterMs) await this.intents.deleteOne({ _id: intent._id });
        continue;
      }
      target ??= await col.findOne({ _id: intent.targetId });
      if (target?.lastEvent?._id === intent._id) {
        await this.move(target.lastEvent);
        moved++;
      } else {
        await this.intents.deleteOne({ _id: intent._id }); // never landed, or a later write moved it (step 1)
      }
    }
    return moved;
  }

  async list(q: AuditQuery): Promise<AuditEvent[]> {
    const filter: Filter<EventDoc> = {};
    if (q.orgId) filter.orgId = q.orgId;
    if (q.targetId) filter.targetId = q.targetId;
    if (q.targetType) filter.targetType = q.targetType;
    if (q.actorId) filter.actorId = q.actorId;
    const range: { $gte?: string; $lt?: string } = {};
    if (q.fromId) range.$gte = q.fromId;
    if (q.toId) range.$lt = q.toId;
    if (range.$gte || range.$lt) filter._id = range;
    const docs = await this.events.find(filter).sort({ _id: -1 }).limit(q.limit).toArray();
    return docs.map(fromEventDoc);
  }

  async after(afterId: string | undefined, limit: number): Promise<AuditEvent[]> {
    const docs = await this.events.find(afterId ? { _id: { $gt: afterId } } : {}).sort({ _id: 1 }).limit(limit).toArray();
    return docs.map(fromEventDoc);
  }

  /** Open intents are events whose change may still land or whose move is pending: the feed's cursor waits for them. */
  async oldestPendingId(): Promise<string | undefined> {
    const [oldest] = await this.intents.find({}, { projection: { _id: 1 } }).sort({ _id: 1 }).limit(1).toArray();
    return oldest?._id;
  }

  async prune(beforeMs: number): Promise<number> {
    const res = await this.events.deleteMany({ _id: { $lt: eventIdFloor(beforeMs) } });
    return res.deletedCount;
  }

  static indexes(db: Db) {
    const col = db.collection("audit_events");
    return [
      col.createIndex({ orgId: 1, _id: -1 }, { name: "org_newest" }),
      col.createIndex({ targetId: 1, _id: -1 }, { name: "target_newest" }),
      col.createIndex({ actorId: 1, _id: -1 }, { name: "actor_newest" }),
    ];
  }
}
