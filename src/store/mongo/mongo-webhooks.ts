// Webhook endpoints, the delivery queue, leases and the feed cursor on MongoDB (FerretDB v1: no transactions, no
// TTL indexes, findAndModify not atomic). An endpoint change and its audit event are one document write (lastEvent,
// see mongo-audit.ts); a deleted endpoint stays as a tombstone to carry its deletion event. Deliveries have
// _id = endpoint|event, so a second enqueue (another replica, a re-read) is a duplicate-key no-op.
import type { Collection, Db, Filter } from "mongodb";
import type { AuditEvent } from "../../domain/audit.js";
import type { DeliveryRecord, WebhookEndpointRecord } from "../../domain/webhooks.js";
import type { EndpointQuery, WebhookStore } from "../webhook-types.js";
import { type EventDoc, type MongoAuditLog, toEventDoc } from "./mongo-audit.js";
import { durableCollection, stripUndefined } from "./mongo-keys.js";

type EndpointDoc = Omit<WebhookEndpointRecord, "id"> & { _id: string; deletedAtMs?: number; lastEvent?: EventDoc };
type DeliveryDoc = DeliveryRecord & { _id: string };
type LeaseDoc = { _id: string; owner: string; untilMs: number };
type StateDoc = { _id: string; value: string };
/** One of an organisation's places for an endpoint: _id = "<org>|<n>", n < the bound, so a unique _id bounds them. */
type SlotDoc = { _id: string; orgKey: string; endpointId: string; atMs: number };
/** A place whose endpoint never appeared (a crash between taking it and the insert) is taken back after this. */
const ABANDONED_SLOT_MS = 60_000;
const orgKeyOf = (orgId: string | undefined) => (orgId === undefined ? "*" : `org:${orgId}`);

const LIVE = { deletedAtMs: { $exists: false } };
const toRecord = ({ _id, deletedAtMs: _d, lastEvent: _e, ...rest }: EndpointDoc): WebhookEndpointRecord => ({ id: _id, ...rest });
const toDoc = ({ id, ...rest }: WebhookEndpointRecord): EndpointDoc => stripUndefined({ _id: id, ...rest });
/** Every audited write sets a new lastEvent, so this precondition, once false, stays false (mongo-audit.ts). */
const versionOf = (d: EndpointDoc): Filter<EndpointDoc> => ({
  updatedAtMs: d.updatedAtMs,
  ...LIVE,
  ...(d.lastEvent ? { "lastEvent._id": d.lastEvent._id } : { lastEvent: { $exists: false } }),
});
const deliveryId = (endpointId: string, eventId: string) => `${endpointId}|${eventId}`;
const fromDelivery = ({ _id, ...rest }: DeliveryDoc): DeliveryRecord => rest;
const isDuplicate = (err: unknown) => (err as { code?: number }).code === 11000;

export class MongoWebhookStore implements WebhookStore {
  private readonly endpoints: Collection<EndpointDoc>;
  private readonly deliveries: Collection<DeliveryDoc>;
  private readonly leases: Collection<LeaseDoc>;
  private readonly state: Collection<StateDoc>;
  private readonly slots: Collection<SlotDoc>;

  constructor(db: Db, private readonly audit: MongoAuditLog) {
    this.endpoints = durableCollection(db, "webhook_endpoints");
    this.deliveries = durableCollection(db, "webhook_deliveries");
    this.leases = durableCollection(db, "webhook_leases");
    this.state = durableCollection(db, "webhook_state");
    this.slots = durableCollection(db, "webhook_slots");
  }

  static indexes(db: Db) {
    return [
      db.collection("webhook_endpoints").createIndex({ orgId: 1, createdAtMs: -1, _id: -1 }, { name: "org_newest" }),
      db.collection("webhook_deliveries").createIndex({ endpointId: 1, status: 1, eventId: 1 }, { name: "endpoint_queue" }),
      db.collection("webhook_deliveries").createIndex({ endpointId: 1, eventId: -1 }, { name: "endpoint_log" }),
      db.collection("webhook_deliveries").createIndex({ status: 1, nextAttemptAtMs: 1 }, { name: "due" }),
      db.collection("webhook_slots").createIndex({ orgKey: 1 }, { name: "org" }),
    ];
  }

  async insertEndpoint(ep: WebhookEndpointRecord, event: AuditEvent, maxPerOrg: number) {
    // Count-then-insert races between calls and replicas (30 concurrent creates made 30 of 20): a place is taken
    // first, by inserting a unique _id, the one write that is atomic on every MongoDB-compatible server.
    const slot = await this.takeSlot(orgKeyOf(ep.orgId), ep.id, ep.createdAtMs, maxPerOrg);
    if (!slot) return false;
    const doc = { ...toDoc(ep), lastEvent: toEventDoc(event) };
    try {
      await this.audit.around("webhook_endpoints", ep.id, event, undefined, null, async () => (await this.endpoints.insertOne(doc), true));
    } catch (err) {
      await this.slots.deleteOne({ _id: slot, endpointId: ep.id }).catch(() => {}); // else taken back once abandoned
      throw err;
    }
    return true;
  }

  private async takeSlot(orgKey: string, endpointId: string, nowMs: number, max: number): Promise<string | undefined> {
    for (let round = 0; round < 2; round++) {
      for (let n = 0; n < max; n++) {
        try {
          await this.slots.insertOne({ _id: `${orgKey}|${n}`, orgKey, endpointId, atMs: nowMs });
          return `${orgKey}|${n}`;
        } catch (err) {
          if (!isDuplicate(err)) throw err;
        }
      }
      // Full: take back places of deleted endpoints (a crash before the release) and abandoned ones, then look again.
      let freed = 0;
      for (const s of await this.slots.find({ orgKey }).toArray()) {
        const ep = await this.endpoints.findOne({ _id: s.endpointId }, { projection: { deletedAtMs: 1 } });
        const dead = ep ? ep.deletedAtMs !== undefined : s.atMs < nowMs - ABANDONED_SLOT_MS;
        if (dead) freed += (await this.slots.deleteOne({ _id: s._id, endpointId: s.endpointId })).deletedCount;
      }
      if (freed === 0) return undefined;
    }
    return undefined;
  }

  async getEndpoint(id: string) {
    const doc = await this.endpoints.findOne({ _id: id, ...LIVE });
    return doc ? toRecord(doc) : undefined;
  }

  async listEndpoints(q: EndpointQuery) {
    const filter: Filter<EndpointDoc> = { ...LIVE };
    if (q.orgId === null) filter.orgId = { $exists: false };
    else if (q.orgId !== undefined) filter.orgId = q.orgId;
    if (q.after) {
      filter.$or = [{ createdAtMs: { $lt: q.after.createdAtMs } }, { createdAtMs: q.after.createdAtMs, _id: { $lt: q.after.id } }];
    }
    const docs = await this.endpoints.find(filter).sort({ createdAtMs: -1, _id: -1 }).limit(q.limit).toArray();
    return docs.map(toRecord);
  }

  async enabledEndpoints() {
    return (await this.endpoints.find({ enabled: true, ...LIVE }).toArray()).map(toRecord);
  }

  async countEndpoints(orgId: string | undefined) {
    return this.endpoints.countDocuments({ ...LIVE, orgId: orgId === undefined ? { $exists: false } : orgId });
  }

  async replaceEndpoint(before: WebhookEndpointRecord, after: WebhookEndpointRecord, event: AuditEvent) {
    const doc = await this.endpoints.findOne({ _id: before.id, ...LIVE });
    if (!doc || doc.updatedAtMs !== before.updatedAtMs) return false;
    const next = { ...toDoc(after), lastEvent: toEventDoc(event) };
    return this.audit.around("webhook_endpoints", before.id, event, doc.lastEvent, versionOf(doc), async () => {
      return (await this.endpoints.replaceOne({ _id: before.id, ...versionOf(doc) }, next)).modifiedCount === 1;
    });
  }

  async deleteEndpoint(before: WebhookEndpointRecord, event: AuditEvent) {
    const doc = await this.endpoints.findOne({ _id: before.id, ...LIVE });
    if (!doc || doc.updatedAtMs !== before.updatedAtMs) return false;
    // The tombstone keeps only what its event needs; the secrets go with the deletion.
    const tomb: EndpointDoc = { ...toDoc({ ...before, secret: "", previousSecret: undefined, previousSecretExpiresAtMs: undefined }), enabled: false, deletedAtMs: event.atMs, lastEvent: toEventDoc(event) };
    const applied = await this.audit.around("webhook_endpoints", before.id, event, doc.lastEvent, versionOf(doc), async () => {
      return (await this.endpoints.replaceOne({ _id: before.id, ...versionOf(doc) }, tomb)).modifiedCount === 1;
    });
    if (applied) {
      // Left behind by a crash here, they belong to no live endpoint: never attempted (the dispatcher checks).
      await this.deliveries.deleteMany({ endpointId: before.id });
      await this.leases.deleteOne({ _id: before.id });
      await this.slots.deleteOne({ orgKey: orgKeyOf(before.orgId), endpointId: before.id });
    }
    return applied;
  }

  async enqueue(deliveries: DeliveryRecord[]) {
    if (deliveries.length === 0) return 0;
    const docs = deliveries.map((d) => ({ _id: deliveryId(d.endpointId, d.eventId), ...stripUndefined({ ...d }) }));
    try {
      return (await this.deliveries.insertMany(docs, { ordered: false })).insertedCount;
    } catch (err) {
      const e = err as { code?: number; writeErrors?: { code: number }[] | { code: number }; result?: { insertedCount?: number }; insertedCount?: number };
      const writeErrors = Array.isArray(e.writeErrors) ? e.writeErrors : e.writeErrors ? [e.writeErrors] : [];
      const onlyDuplicates = writeErrors.length > 0 ? writeErrors.every((w) => w.code === 11000) : isDuplicate(err);
      if (!onlyDuplicates) throw err;
      return e.insertedCount ?? e.result?.insertedCount ?? 0;
    }
  }

  async dueEndpoints(nowMs: number, limit: number) {
    const ids = await this.deliveries.distinct("endpointId", { status: "PENDING", nextAttemptAtMs: { $lte: nowMs } });
    return (ids as string[]).slice(0, limit);
  }

  async head(endpointId: string) {
    const [doc] = await this.deliveries.find({ endpointId, status: "PENDING" }).sort({ eventId: 1 }).limit(1).toArray();
    return doc ? fromDelivery(doc) : undefined;
  }

  async saveAttempt(d: DeliveryRecord) {
    const { endpointId, eventId, ...rest } = d;
    const unset = d.lastAttemptAtMs === undefined ? { $unset: { lastAttemptAtMs: "" as const } } : {};
    await this.deliveries.updateOne({ _id: deliveryId(endpointId, eventId) }, { $set: stripUndefined({ ...rest }), ...unset });
  }

  async deferQueue(endpointId: string, untilMs: number) {
    await this.deliveries.updateMany({ endpointId, status: "PENDING", nextAttemptAtMs: { $lt: untilMs } }, { $set: { nextAttemptAtMs: untilMs } });
  }

  async listDeliveries(endpointId: string, limit: number, beforeEventId?: string) {
    const filter: Filter<DeliveryDoc> = beforeEventId ? { endpointId, eventId: { $lt: beforeEventId } } : { endpointId };
    return (await this.deliveries.find(filter).sort({ eventId: -1 }).limit(limit).toArray()).map(fromDelivery);
  }

  async pendingCount() {
    return this.deliveries.countDocuments({ status: "PENDING" });
  }

  async pruneDeliveries(beforeMs: number) {
    return (await this.deliveries.deleteMany({ status: { $ne: "PENDING" }, eventAtMs: { $lt: beforeMs } })).deletedCount;
  }

  /** An upsert filtered on "free or mine": when another owner holds it, the upsert's insert hits the _id and fails. */
  async acquireLease(endpointId: string, owner: string, nowMs: number, untilMs: number) {
    try {
      await this.leases.updateOne({ _id: endpointId, $or: [{ untilMs: { $lte: nowMs } }, { owner }] }, { $set: { owner, untilMs } }, { upsert: true });
      return true;
    } catch (err) {
      if (isDuplicate(err)) return false;
      throw err;
    }
  }

  async releaseLease(endpointId: string, owner: string) {
    await this.leases.deleteOne({ _id: endpointId, owner });
  }

  async feedCursor() {
    return (await this.state.findOne({ _id: "feed_cursor" }))?.value;
  }

  async advanceFeedCursor(id: string) {
    const res = await this.state.updateOne({ _id: "feed_cursor", value: { $lt: id } }, { $set: { value: id } });
    if (res.matchedCount === 1) return;
    try {
      await this.state.insertOne({ _id: "feed_cursor", value: id });
    } catch (err) {
      if (!isDuplicate(err)) throw err; // exists, at or past id (or another replica moved it meanwhile)
    }
  }
}
