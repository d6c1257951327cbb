// Scope definitions in MongoDB, _id = scope name. A deleted scope stays as a tombstone (deletedAtMs) so that its
// deletion event can be written with the deletion itself (see mongo-audit.ts); redefining the name revives it.
import type { Collection, Filter } from "mongodb";
import type { AuditEvent } from "../../domain/audit.js";
import { storeUnavailable } from "../../domain/errors.js";
import type { ScopeRecord } from "../../domain/types.js";
import type { EventFor, ScopeStore } from "../types.js";
import { type EventDoc, type MongoAuditLog, toEventDoc } from "./mongo-audit.js";
import { stripUndefined } from "./mongo-keys.js";

type ScopeDoc = { _id: string; description: string; createdAtMs: number; deletedAtMs?: number; lastEvent?: EventDoc };

const LIVE = { deletedAtMs: { $exists: false } };
const toRecord = (d: ScopeDoc): ScopeRecord => ({ name: d._id, description: d.description, createdAtMs: d.createdAtMs });
/** The document as read: every audited write sets a new lastEvent, so this precondition, once false, stays false. */
const versionOf = (d: ScopeDoc): Filter<ScopeDoc> => ({
  description: d.description,
  ...(d.lastEvent ? { "lastEvent._id": d.lastEvent._id } : { lastEvent: { $exists: false } }),
});

export class MongoScopeStore implements ScopeStore {
  constructor(private readonly col: Collection<ScopeDoc>, private readonly audit?: MongoAuditLog) {}

  async upsert(scope: ScopeRecord, audit?: EventFor<ScopeRecord>) {
    // Redefining keeps the original creation time and updates the description.
    for (let attempt = 0; attempt < 5; attempt++) {
      const doc = await this.col.findOne({ _id: scope.name });
      const live = doc && doc.deletedAtMs === undefined ? toRecord(doc) : undefined;
      if (live && live.description === scope.description) return live; // nothing changes: no write, no event
      const event = audit?.(live);
      const rec = { ...scope, createdAtMs: live?.createdAtMs ?? scope.createdAtMs };
      const set = stripUndefined({ description: rec.description, createdAtMs: rec.createdAtMs, lastEvent: event && toEventDoc(event) });
      const write = async () => {
        if (doc) return (await this.col.updateOne({ _id: scope.name, ...versionOf(doc) }, { $set: set, $unset: { deletedAtMs: "" } })).modifiedCount === 1;
        try {
          await this.col.insertOne({ _id: scope.name, ...set });
          return true;
        } catch (err) {
          if ((err as { code?: number }).code === 11000) return false; // defined concurrently: read it again
          throw err;
        }
      };
      if (await this.audited(scope.name, event, doc, write)) return rec;
    }
    throw storeUnavailable(new Error(`scope ${scope.name} kept changing under concurrent definitions`));
  }

  async list() {
    const docs = await this.col.find(LIVE).sort({ _id: 1 }).toArray();
    return docs.map(toRecord);
  }

  async missing(names: string[]) {
    if (names.length === 0) return [];
    const found = await this.col.find({ _id: { $in: names }, ...LIVE }, { projection: { _id: 1 } }).toArray();
    const have = new Set(found.map((d) => d._id));
    return names.filter((n) => !have.has(n));
  }

  async delete(name: string, audit?: EventFor<ScopeRecord>) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const doc = await this.col.findOne({ _id: name });
      if (!doc || doc.deletedAtMs !== undefined) return false;
      const event = audit?.(toRecord(doc));
      const set = stripUndefined({ deletedAtMs: event?.atMs ?? Date.now(), lastEvent: event && toEventDoc(event) });
      const write = async () => (await this.col.updateOne({ _id: name, ...LIVE, ...versionOf(doc) }, { $set: set })).modifiedCount === 1;
      if (await this.audited(name, event, doc, write)) return true;
    }
    throw storeUnavailable(new Error(`scope ${name} kept changing under concurrent definitions`));
  }

  private audited(name: string, event: AuditEvent | undefined, doc: ScopeDoc | null, write: () => Promise<boolean>) {
    if (!event || !this.audit) return write();
    return this.audit.around("scopes", name, event, doc?.lastEvent, doc ? versionOf(doc) : null, write);
  }
}
