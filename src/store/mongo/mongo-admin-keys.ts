// Admin keys in MongoDB, _id = admin key id, unique index on digest.
import type { Collection } from "mongodb";
import type { AdminKeyRecord } from "../../domain/types.js";
import type { AdminKeyStore } from "../types.js";
import { stripUndefined } from "./mongo-keys.js";

type AdminDoc = Omit<AdminKeyRecord, "id"> & { _id: string };

const fromDoc = ({ _id, ...rest }: AdminDoc): AdminKeyRecord => ({ id: _id, ...rest });

export class MongoAdminKeyStore implements AdminKeyStore {
  constructor(private readonly col: Collection<AdminDoc>) {}

  async insert({ id, ...rest }: AdminKeyRecord) {
    await this.col.insertOne(stripUndefined<AdminDoc>({ _id: id, ...rest }));
  }

  async insertIfAbsent({ id, ...rest }: AdminKeyRecord) {
    // An upsert that only inserts: _id is unique, so of several racing replicas exactly one creates the document.
    try {
      const res = await this.col.updateOne({ _id: id }, { $setOnInsert: stripUndefined<Omit<AdminDoc, "_id">>(rest) }, { upsert: true });
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

  async revoke(id: string, atMs: number) {
    await this.col.updateOne({ _id: id, revokedAtMs: { $exists: false } }, { $set: { revokedAtMs: atMs } });
    const doc = await this.col.findOne({ _id: id });
    return doc ? fromDoc(doc) : undefined;
  }

  count() {
    return this.col.countDocuments({});
  }
}
