// The change outbox in MongoDB: one small document per key change in progress, written before the key and removed
// once the change log holds its invalidation. Normally empty, so the full scans FerretDB makes of it cost nothing.
import { randomBytes } from "node:crypto";
import type { Collection, Db } from "mongodb";
import type { ChangeOutboxStore } from "../types.js";
import { durableCollection } from "./mongo-keys.js";

type OutboxDoc = { _id: string; digests: string[] };

export class MongoChangeOutboxStore implements ChangeOutboxStore {
  private readonly col: Collection<OutboxDoc>;

  constructor(db: Db) {
    this.col = durableCollection(db, "key_change_outbox");
  }

  async add(digests: string[]) {
    const id = randomBytes(12).toString("hex");
    await this.col.insertOne({ _id: id, digests });
    return id;
  }

  async list(limit: number) {
    const docs = await this.col.find({}).limit(limit).toArray();
    return docs.map((d) => ({ id: d._id, digests: d.digests }));
  }

  async remove(id: string) {
    await this.col.deleteOne({ _id: id });
  }
}
