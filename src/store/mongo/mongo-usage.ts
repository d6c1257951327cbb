// Usage counters in MongoDB: one document per key and hour with a count per outcome, written only by batched $inc upserts.
import type { Collection } from "mongodb";
import type { UsageIncrement, UsageRow, UsageStore } from "../types.js";

// FerretDB v1 hangs on one update command of more than ~100 updates (each holds a pooled SQLite connection until
// the command ends); MongoDB is fine with any size. Chunks of 50 keep every MongoDB-compatible server working.
const CHUNK = 50;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

type HourDoc = { _id: string; keyId: string; hourStartMs: number; counts: Record<string, number> };
type LastUsedDoc = { _id: string; lastUsedAtMs: number };

export class MongoUsageStore implements UsageStore {
  constructor(
    private readonly hoursCol: Collection<HourDoc>,
    private readonly lastUsedCol: Collection<LastUsedDoc>,
  ) {}

  async apply(increments: UsageIncrement[], lastUsed: Map<string, number>) {
    for (const part of chunks(increments)) {
      await this.hoursCol.bulkWrite(
        part.map((i) => ({
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
    // $max: last-used only moves forward, whichever process flushes last.
    for (const part of chunks([...lastUsed])) {
      await this.lastUsedCol.bulkWrite(
        part.map(([keyId, ms]) => ({
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
