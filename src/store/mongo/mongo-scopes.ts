// Scope definitions in MongoDB, _id = scope name.
import type { Collection } from "mongodb";
import type { ScopeRecord } from "../../domain/types.js";
import type { ScopeStore } from "../types.js";

type ScopeDoc = { _id: string; description: string; createdAtMs: number };

export class MongoScopeStore implements ScopeStore {
  constructor(private readonly col: Collection<ScopeDoc>) {}

  async upsert(scope: ScopeRecord) {
    // Redefining keeps the original creation time and updates the description.
    const existing = await this.col.findOne({ _id: scope.name });
    if (existing) {
      await this.col.updateOne({ _id: scope.name }, { $set: { description: scope.description } });
      return { ...scope, createdAtMs: existing.createdAtMs };
    }
    await this.col.updateOne(
      { _id: scope.name },
      { $set: { description: scope.description, createdAtMs: scope.createdAtMs } },
      { upsert: true },
    );
    return scope;
  }

  async list() {
    const docs = await this.col.find({}).sort({ _id: 1 }).toArray();
    return docs.map((d) => ({ name: d._id, description: d.description, createdAtMs: d.createdAtMs }));
  }

  async missing(names: string[]) {
    if (names.length === 0) return [];
    const found = await this.col.find({ _id: { $in: names } }, { projection: { _id: 1 } }).toArray();
    const have = new Set(found.map((d) => d._id));
    return names.filter((n) => !have.has(n));
  }

  async delete(name: string) {
    const res = await this.col.deleteOne({ _id: name });
    return res.deletedCount === 1;
  }
}
