// API keys in MongoDB: one document per key, _id = key id, unique index on the secret's digest.
import type { Collection } from "mongodb";
import type { ApiKeyRecord } from "../../domain/types.js";
import type { KeyStore, ListKeysQuery } from "../types.js";

type KeyDoc = Omit<ApiKeyRecord, "id"> & { _id: string };

const toDoc = ({ id, ...rest }: ApiKeyRecord): KeyDoc => stripUndefined({ _id: id, ...rest });
const fromDoc = ({ _id, ...rest }: KeyDoc): ApiKeyRecord => ({ id: _id, ...rest });

function stripUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

export class MongoKeyStore implements KeyStore {
  constructor(private readonly col: Collection<KeyDoc>) {}

  async insert(key: ApiKeyRecord) {
    await this.col.insertOne(toDoc(key));
  }

  async get(id: string) {
    const doc = await this.col.findOne({ _id: id });
    return doc ? fromDoc(doc) : undefined;
  }

  async findByDigest(digest: string) {
    const doc = await this.col.findOne({ $or: [{ digest }, { previousDigest: digest }] });
    return doc ? fromDoc(doc) : undefined;
  }

  async replace(key: ApiKeyRecord, expectedUpdatedAtMs: number) {
    const res = await this.col.replaceOne({ _id: key.id, updatedAtMs: expectedUpdatedAtMs }, toDoc(key));
    return res.matchedCount === 1;
  }

  async list(q: ListKeysQuery) {
    const filter: Record<string, unknown> = {};
    if (q.orgId) filter.orgId = q.orgId;
    if (!q.includeRevoked) filter.revokedAtMs = { $exists: false };
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
