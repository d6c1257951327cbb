// Usage counters in MongoDB: one document per key and hour with a count per outcome, written only by batched $inc upserts.
import type { Collection } from "mongodb";
import type { UsageIncrement, UsageRow, UsageStore } from "../types.js";

type HourDoc = { _id: string; keyId: string; hourStartMs: number; counts: Record<string, number> };
type LastUsedDoc = { _id: string; lastUsedAtMs: number };

export class MongoUsageStore implements UsageStore {
  constructor(
    private readonly hoursCol: Collection<HourDoc>,
    private readonly lastUsedCol: Collection<LastUsedDoc>,
  ) {}

  async apply(increments: UsageIncrement[], lastUsed: Map<string, number>) {
    if (increments.length > 0) {
      await this.hoursCol.bulkWrite(
        increments.map((i) => ({
          updateOne: {
            filter: { _id: `${i.keyId}:${i.hourStartMs}` },
            update: {
              $inc: { [`counts.${i.outcome}`]: i.count },
              $set: { keyId: i.keyId, hourStartMs: i.hourStartMs },
            },
            upsert: true,
          },
        })),
        { ordered: false },
      );
    }
    if (lastUsed.size > 0) {
      // $max: last-used only moves forward, whichever process flushes last.
      await this.lastUsedCol.bulkWrite(
        [...lastUsed].map(([keyId, ms]) => ({
          updateOne: { filter: { _id: keyId }, update: { $max: { lastUsedAtMs: ms } }, upsert: true },
        })),
        { ordered: false },
      );
    }
  }

  async hours(keyId: string, fromMs: number, toMs: number): Promise<UsageRow[]> {
    const docs = await this.hoursCol
      .find({ keyId, hourStartMs: { $gte: fromMs, $lt: toMs } })
      .sort({ hourStartMs: 1 })
      .toArray();
    return docs.map((d) => ({ hourStartMs: d.hourStartMs, counts: d.counts ?? {} }));
  }

  async lastUsedAt(keyId: string) {
    const doc = await this.lastUsedCol.findOne({ _id: keyId });
    return doc?.lastUsedAtMs;
  }
}
