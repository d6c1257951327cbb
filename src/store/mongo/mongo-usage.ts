// Usage counters in MongoDB: one document per key and hour with a count per outcome, written only by batched $inc upserts.
import type { Collection } from "mongodb";
import type { UsageIncrement, UsageRow, UsageStore } from "../types.js";

/** FerretDB v1 hangs on one update command of about 100 updates or more (measured: 50 take ~150 ms, a second
 * 100-update upsert command never answers); MongoDB takes one command of any size (the driver splits at 100,000). */
export const FERRETDB_USAGE_CHUNK = 50;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

type HourDoc = { _id: string; keyId: string; hourStartMs: number; counts: Record<string, number> };
type LastUsedDoc = { _id: string; lastUsedAtMs: number };

export class MongoUsageStore implements UsageStore {
  constructor(
    private readonly hoursCol: Collection<HourDoc>,
    private readonly lastUsedCol: Collection<LastUsedDoc>,
    /** Updates per command: unbounded (one bulkWrite per collection and flush) unless the server needs chunks. */
    private readonly chunk = Infinity,
  ) {}

  async apply(increments: UsageIncrement[], lastUsed: Map<string, number>) {
    await this.applyCounts(increments);
    await this.applyLastUsed(lastUsed);
  }

  private async applyCounts(increments: UsageIncrement[]) {
    for (const part of chunks(increments, this.chunk)) {
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
  }

  private async applyLastUsed(lastUsed: Map<string, number>) {
    // $max: last-used only moves forward, whichever process flushes last.
    for (const part of chunks([...lastUsed], this.chunk)) {
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
