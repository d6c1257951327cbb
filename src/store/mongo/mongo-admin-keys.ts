// Admin keys in MongoDB, _id = admin key id, unique index on digest.
import type { Collection } from "mongodb";
import type { AuditEvent } from "../../domain/audit.js";
import type { AdminKeyRecord } from "../../domain/types.js";
import type { AdminKeyStore, EventFor } from "../types.js";
import { type EventDoc, type MongoAuditLog, toEventDoc } from "./mongo-audit.js";
import { stripUndefined } from "./mongo-keys.js";

/** lastEvent: the event of the admin key's latest change, written with it (see mongo-audit.ts). */
type AdminDoc = Omit<AdminKeyRecord, "id"> & { _id: string; lastEvent?: EventDoc };

/** Documents written before the local_validation right existed lack the field: no such right. */
const fromDoc = ({ _id, lastEvent: _, ...rest }: AdminDoc): AdminKeyRecord => ({ id: _id, ...rest, localValidation: rest.localValidation === true });
const NOT_REVOKED = { revokedAtMs: { $exists: false } };

export class MongoAdminKeyStore implements AdminKeyStore {
  constructor(private readonly col: Collection<AdminDoc>, private readonly audit?: MongoAuditLog) {}

  async insert(key: AdminKeyRecord, event?: AuditEvent) {
    const { id, ...rest } = key;
    const doc = stripUndefined<AdminDoc>({ _id: id, ...rest, lastEvent: event && toEventDoc(event) });
    if (!event || !this.audit) return void (await this.col.insertOne(doc));
    await this.audit.around("admin_keys", id, event, undefined, null, async () => (await this.col.insertOne(doc), true));
  }

  async insertIfAbsent(key: AdminKeyRecord, event?: AuditEvent) {
    if (!event || !this.audit) return this.upsertNew(key);
    return this.audit.around("admin_keys", key.id, event, undefined, null, () => this.upsertNew(key, event));
  }

  private async upsertNew({ id, ...rest }: AdminKeyRecord, event?: AuditEvent) {
    // An upsert that only inserts: _id is unique, so of several racing replicas exactly one creates the document.
    try {
      const doc = stripUndefined<Omit<AdminDoc, "_id">>({ ...rest, lastEvent: event && toEventDoc(event) });
      const res = await this.col.updateOne({ _id: id }, { $setOnInsert: doc }, { upsert: true });
      return res.upsertedCount === 1;
    } catch (err) {
      if ((err as { code?: number }).code === 11000) return false; // two upserts raced; the other one inserted
      throw err;
    }
  }

  async findByDigest(digest: string) {
    const doc = await this.col.findOne({ digest });
    return doc ? fromDoc(doc) : undefined;
  }

  async list() {
    const docs = await this.col.find({}).sort({ createdAtMs: -1, _id: -1 }).toArray();
    return docs.map(fromDoc);
  }

  async revoke(id: string, atMs: number, audit?: EventFor<AdminKeyRecord>) {
    const current = await this.col.findOne({ _id: id });
    if (!current) return undefined;
    const event = current.revokedAtMs === undefined ? audit?.(fromDoc(current)) : undefined;
    const revoke = async () => {
      const set = stripUndefined({ revokedAtMs: atMs, lastEvent: event && toEventDoc(event) });
      return (await this.col.updateOne({ _id: id, ...NOT_REVOKED }, { $set: set })).modifiedCount === 1;
    };
    if (event && this.audit) await this.audit.around("admin_keys", id, event, current.lastEvent, NOT_REVOKED, revoke);
    else if (current.revokedAtMs === undefined) await revoke();
    const doc = await this.col.findOne({ _id: id });
    return doc ? fromDoc(doc) : undefined;
  }

  count() {
    return this.col.countDocuments({});
  }
}
