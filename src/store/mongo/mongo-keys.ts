// API keys in MongoDB: one document per key (_id = key id) and one per live secret digest (_id = digest → key id).
// Validation looks up by _id only, which every MongoDB-compatible server serves from its primary index (FerretDB
// pushes down nothing else). The key document stays the truth: a digest document that outlived its key's
// rotation or a failed write matches nothing, because the key's own digest fields are checked.
import type { Collection, CollectionOptions, Db, Document } from "mongodb";
import type { AuditEvent } from "../../domain/audit.js";
import { type ApiKeyRecord, keyDigests } from "../../domain/types.js";
import type { KeyStore, ListKeysQuery } from "../types.js";
import { type EventDoc, type MongoAuditLog, toEventDoc } from "./mongo-audit.js";

/** lastEvent: the event of the key's latest change, written with it (see mongo-audit.ts). */
type KeyDoc = Omit<ApiKeyRecord, "id"> & { _id: string; lastEvent?: EventDoc };
type DigestDoc = { _id: string; keyId: string };

const toDoc = ({ id, ...rest }: ApiKeyRecord, lastEvent?: EventDoc): KeyDoc => stripUndefined({ _id: id, ...rest, lastEvent });
/** Each record read remembers its document's lastEvent, which the next change of that record settles first. */
const lastEvents = new WeakMap<ApiKeyRecord, EventDoc>();
const fromDoc = ({ _id, lastEvent, ...rest }: KeyDoc): ApiKeyRecord => {
  const rec = { id: _id, ...rest };
  if (lastEvent) lastEvents.set(rec, lastEvent);
  return rec;
};
/** Keys, admin keys and the change feed: acknowledged by a majority and read from the primary, whatever the URI says
 * (collection options override the connection string), so a failover cannot undo a revocation or serve a stale read. */
export const DURABLE: CollectionOptions = { writeConcern: { w: "majority" }, readPreference: "primary" };
export const durableCollection = <T extends Document>(db: Db, name: string): Collection<T> => db.collection<T>(name, DURABLE);

/** MongoDB stores undefined as null; our records leave absent fields out. */
export function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

export class MongoKeyStore implements KeyStore {
  private readonly col: Collection<KeyDoc>;
  private readonly digests: Collection<DigestDoc>;

  constructor(db: Db, private readonly audit?: MongoAuditLog) {
    this.col = durableCollection(db, "api_keys");
    this.digests = durableCollection(db, "api_key_digests");
  }

  async insert(key: ApiKeyRecord, event?: AuditEvent) {
    if (event && this.audit) {
      await this.audit.around("api_keys", key.id, event, undefined, null, async () => (await this.insertDocs(key, event), true));
    } else {
      await this.insertDocs(key);
    }
  }

  private async insertDocs(key: ApiKeyRecord, event?: AuditEvent) {
    // The digest first: its unique _id refuses a duplicate secret before any key exists.
    await this.digests.insertOne({ _id: key.digest, keyId: key.id });
    try {
      await this.col.insertOne(toDoc(key, event && toEventDoc(event)));
    } catch (err) {
      await this.digests.deleteOne({ _id: key.digest, keyId: key.id }).catch(() => {});
      throw err;
    }
  }

  async get(id: string) {
    const doc = await this.col.findOne({ _id: id });
    return doc ? fromDoc(doc) : undefined;
  }

  async findByDigest(digest: string) {
    const d = await this.digests.findOne({ _id: digest });
    if (!d) return undefined;
    const key = await this.get(d.keyId);
    return key && keyDigests(key).includes(digest) ? key : undefined;
  }

  /** Every write of a key goes through here, conditional on updatedAtMs, which only grows: the audit intent's
   * precondition, once false, stays false. */
  async replace(before: ApiKeyRecord, after: ApiKeyRecord, event?: AuditEvent) {
    if (!event || !this.audit) return this.replaceDocs(before, after);
    const precondition = { updatedAtMs: before.updatedAtMs };
    return this.audit.around("api_keys", after.id, event, lastEvents.get(before), precondition, () => this.replaceDocs(before, after, event));
  }

  private async replaceDocs(before: ApiKeyRecord, after: ApiKeyRecord, event?: AuditEvent) {
    const lastEvent = event ? toEventDoc(event) : lastEvents.get(before); // an unaudited write keeps the last event
    const added = keyDigests(after).filter((d) => !keyDigests(before).includes(d));
    if (added.length) await this.digests.insertMany(added.map((d) => ({ _id: d, keyId: after.id })));
    const res = await this.col.replaceOne({ _id: after.id, updatedAtMs: before.updatedAtMs }, toDoc(after, lastEvent));
    const won = res.matchedCount === 1;
    // The loser removes what it added; the winner removes digests its key no longer has.
    const obsolete = won ? keyDigests(before).filter((d) => !keyDigests(after).includes(d)) : added;
    if (obsolete.length) await this.digests.deleteMany({ _id: { $in: obsolete }, keyId: after.id });
    return won;
  }

  async list(q: ListKeysQuery) {
    const filter: Record<string, unknown> = {};
    if (q.orgId) filter.orgId = q.orgId;
    if (!q.includeRevoked) filter.revokedAtMs = { $exists: false };
    if (q.expiringBetween) filter.expiresAtMs = { $gt: q.expiringBetween.fromMs, $lte: q.expiringBetween.toMs };
    if (q.after) {
      filter.$or = [
        { createdAtMs: { $lt: q.after.createdAtMs } },
        { createdAtMs: q.after.createdAtMs, _id: { $lt: q.after.id } },
      ];
    }
    const docs = await this.col.find(filter).sort({ createdAtMs: -1, _id: -1 }).limit(q.limit).toArray();
    return docs.map(fromDoc);
  }

  countWithScope(scope: string) {
    return this.col.countDocuments({ scopes: scope, revokedAtMs: { $exists: false } });
  }
}
