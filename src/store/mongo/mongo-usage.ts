// Usage counters in MongoDB: one document per key and hour with a count per outcome (and the key's org, indexed with
// the hour for roll-ups per organisation), written only by batched $inc upserts; and one document per key and scope
// with the last time a validation required it ($max).
import type { Collection, Db } from "mongodb";
import type { KeyUsageRow, ScopeUse, UsageIncrement, UsageRow, UsageStore } from "../types.js";

/** FerretDB v1 hangs on one update command of about 100 updates or more (measured: 50 take ~150 ms, a second
 * 100-update upsert command never answers); MongoDB takes one command of any size (the driver splits at 100,000). */
export const FERRETDB_USAGE_CHUNK = 50;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

type HourDoc = { _id: string; keyId: string; orgId?: string; hourStartMs: number; counts: Record<string, number> };
type LastUsedDoc = { _id: string; lastUsedAtMs: number };
/** _id: key id and scope, joined by a space (neither may contain one). */
type ScopeUseDoc = { _id: string; keyId: string; scope: string; lastRequiredAtMs: number };

/** The indexes this store's reads rely on. */
export const usageIndexes = (db: Db) => [
  db.collection("usage_hourly").createIndex({ keyId: 1, hourStartMs: 1 }, { name: "key_hour" }),
  db.collection("usage_hourly").createIndex({ orgId: 1, hourStartMs: 1 }, { name: "org_hour" }),
  db.collection("key_scope_uses").createIndex({ keyId: 1 }, { name: "key" }),
];

const ORG_IDS_MARK = "usage_hourly.orgId";

/**
 * Usage rows written before they carried their key's organisation take it, once per database (a document in
 * `migrations` records that it ran), so an organisation's history starts with its keys, not with the upgrade.
 * Rows an older replica still writes during a rolling upgrade stay without one. Returns the rows changed.
 */
export async function backfillUsageOrgIds(db: Db): Promise<number> {
  const marks = db.collection<{ _id: string; done: boolean }>("migrations");
  if (await marks.findOne({ _id: ORG_IDS_MARK })) return 0;
  const hours = db.collection<HourDoc>("usage_hourly");
  const keyIds = (await hours.distinct("keyId", { orgId: { $exists: false } })).filter((id) => id !== "_unknown");
  let changed = 0;
  for (let i = 0; i < keyIds.length; i += 500) {
    const keys = await db
      .collection<{ _id: string; orgId: string }>("api_keys")
      .find({ _id: { $in: keyIds.slice(i, i + 500) } }, { projection: { orgId: 1 } })
      .toArray();
    for (const k of keys) changed += (await hours.updateMany({ keyId: k._id, orgId: { $exists: false } }, { $set: { orgId: k.orgId } })).modifiedCount;
  }
  await marks.updateOne({ _id: ORG_IDS_MARK }, { $set: { done: true } }, { upsert: true });
  return changed;
}

export class MongoUsageStore implements UsageStore {
  constructor(
    private readonly hoursCol: Collection<HourDoc>,
    private readonly lastUsedCol: Collection<LastUsedDoc>,
    /** Updates per command: unbounded (one bulkWrite per collection and flush) unless the server needs chunks. */
    private readonly chunk = Infinity,
    private readonly scopeUsesCol?: Collection<ScopeUseDoc>,
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
              $set: i.orgId === undefined ? { keyId: i.keyId, hourStartMs: i.hourStartMs } : { keyId: i.keyId, orgId: i.orgId, hourStartMs: i.hourStartMs },
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

  async orgHours(orgId: string, fromMs: number, toMs: number): Promise<KeyUsageRow[]> {
    const docs = await this.hoursCol
      .find({ orgId, hourStartMs: { $gte: fromMs, $lt: toMs } }, { projection: { _id: 0, keyId: 1, hourStartMs: 1, counts: 1 } })
      .toArray();
    return docs.map((d) => ({ keyId: d.keyId, hourStartMs: d.hourStartMs, counts: d.counts ?? {} }));
  }

  async applyScopeUses(uses: ScopeUse[]) {
    const col = this.scopeUsesCol;
    if (!col) return;
    for (const part of chunks(uses, this.chunk)) {
      await col.bulkWrite(
        part.map((u) => ({
          updateOne: {
            filter: { _id: `${u.keyId} ${u.scope}` },
            update: { $max: { lastRequiredAtMs: u.atMs }, $set: { keyId: u.keyId, scope: u.scope } },
            upsert: true,
          },
        })),
        { ordered: false },
      );
    }
  }

  async scopeUses(keyId: string) {
    const docs = this.scopeUsesCol ? await this.scopeUsesCol.find({ keyId }).toArray() : [];
    return new Map(docs.map((d) => [d.scope, d.lastRequiredAtMs]));
  }

  async lastUsedAt(keyId: string) {
    const doc = await this.lastUsedCol.findOne({ _id: keyId });
    return doc?.lastUsedAtMs;
  }
}
