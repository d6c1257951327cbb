// Organisation policies in MongoDB: one document per organisation that has (or had) one, _id = org id. Written
// like keys: conditional on updatedAtMs, carrying the change's audit event as lastEvent (see mongo-audit.ts).
import type { Collection, Db } from "mongodb";
import type { AuditEvent } from "../../domain/audit.js";
import type { OrgPolicy } from "../../domain/types.js";
import type { OrgPolicyStore } from "../types.js";
import { type EventDoc, type MongoAuditLog, toEventDoc } from "./mongo-audit.js";
import { durableCollection, stripUndefined } from "./mongo-keys.js";

type PolicyDoc = Omit<OrgPolicy, "orgId"> & { _id: string; lastEvent?: EventDoc };

const lastEvents = new WeakMap<OrgPolicy, EventDoc>();

export class MongoOrgPolicyStore implements OrgPolicyStore {
  private readonly col: Collection<PolicyDoc>;

  constructor(db: Db, private readonly audit?: MongoAuditLog) {
    this.col = durableCollection(db, "org_policies");
  }

  async get(orgId: string): Promise<OrgPolicy | undefined> {
    const doc = await this.col.findOne({ _id: orgId });
    if (!doc) return undefined;
    const { _id, lastEvent, ...rest } = doc;
    const rec: OrgPolicy = { orgId: _id, ...rest };
    if (lastEvent) lastEvents.set(rec, lastEvent);
    return rec;
  }

  async list(): Promise<OrgPolicy[]> {
    const docs = await this.col.find({}).sort({ _id: 1 }).toArray();
    return docs.map(({ _id, lastEvent: _, ...rest }) => ({ orgId: _id, ...rest }));
  }

  async replace(before: OrgPolicy | undefined, after: OrgPolicy, event?: AuditEvent): Promise<boolean> {
    const write = () => this.write(before, after, event);
    if (!event || !this.audit) return write();
    const precondition = before ? { updatedAtMs: before.updatedAtMs } : null;
    return this.audit.around("org_policies", after.orgId, event, before && lastEvents.get(before), precondition, write);
  }

  private async write(before: OrgPolicy | undefined, after: OrgPolicy, event?: AuditEvent): Promise<boolean> {
    const { orgId, ...rest } = after;
    const doc: PolicyDoc = stripUndefined({ _id: orgId, ...rest, lastEvent: event && toEventDoc(event) });
    if (!before) {
      try {
        await this.col.insertOne(doc);
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 11000) return false; // another writer created it first
        throw err;
      }
    }
    const res = await this.col.replaceOne({ _id: orgId, updatedAtMs: before.updatedAtMs }, doc);
    return res.matchedCount === 1;
  }
}
