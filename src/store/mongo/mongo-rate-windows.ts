// Rate-limit windows shared by every replica: one document per key id ({_id: keyId, startMs, endMs, count}),
// where count is exactly the points granted to leases in the window. No TTL or transactions (FerretDB v1 has
// neither): a stale window is reset by the next take, and prune() drops ended ones now and then.
//
// Not RateLimiterMongo: it increments unconditionally (denied and partly granted points stay in the count, so a
// raised limit cannot be applied to what was really spent), fixes the window length per instance, reads Date.now()
// instead of the injected clock, and finds documents through a unique index on `key` where FerretDB serves only
// _id from an index. Here every change is one findAndModify on _id, conditional so that no grant passes the limit.
import type { Collection, Db } from "mongodb";
import type { RateLimit } from "../../domain/types.js";
import type { RateWindowStore, WindowTake } from "../../services/leased-rate-limiter.js";
import { type WindowState, windowEndMs } from "../../services/rate-limiter.js";

interface WindowDoc extends WindowState {
  _id: string;
}

/** Each failed attempt means another replica changed the window (granted points, reset it or gave points back). */
const MAX_ATTEMPTS = 50;

export class MongoRateWindowStore implements RateWindowStore {
  private readonly windows: Collection<WindowDoc>;

  constructor(db: Db) {
    this.windows = db.collection<WindowDoc>("rate_windows");
  }

  async take(keyId: string, limit: RateLimit, points: number, nowMs: number): Promise<WindowTake> {
    const windowMs = limit.windowSeconds * 1000;
    const fresh = (count: number): WindowDoc => ({ _id: keyId, startMs: nowMs, endMs: nowMs + windowMs, count });
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      // The common case in one round trip: a live window with room for the whole lease.
      const hit = await this.windows.findOneAndUpdate(
        { _id: keyId, endMs: { $gt: nowMs }, startMs: { $gt: nowMs - windowMs }, count: { $lte: limit.requests - points } },
        { $inc: { count: points } },
        { returnDocument: "after" },
      );
      if (hit) return result(hit, limit, points);
      const doc = await this.windows.findOne({ _id: keyId });
      if (!doc) {
        try {
          await this.windows.insertOne(fresh(points));
          return result(fresh(points), limit, points);
        } catch (err) {
          if ((err as { code?: number }).code === 11000) continue; // another replica opened the window first
          throw err;
        }
      }
      const over = nowMs >= windowEndMs(doc, limit);
      if (!over && doc.count >= limit.requests) return result(doc, limit, 0); // spent: nothing to grant
      // A stale window starts afresh; a nearly spent one grants what is left. Both only if nobody changed it since.
      const grant = over ? points : Math.min(points, limit.requests - doc.count);
      const update = over ? { $set: { startMs: nowMs, endMs: nowMs + windowMs, count: grant } } : { $inc: { count: grant } };
      const cas = await this.windows.findOneAndUpdate({ _id: keyId, startMs: doc.startMs, count: doc.count }, update, { returnDocument: "after" });
      if (cas) return result(cas, limit, grant);
    }
    throw new Error(`rate window of ${keyId} kept changing under concurrent leases`);
  }

  async giveBack(keyId: string, startMs: number, points: number): Promise<void> {
    // Only into the window the points came from: returning them to a later window would over-admit.
    await this.windows.updateOne({ _id: keyId, startMs, count: { $gte: points } }, { $inc: { count: -points } });
  }

  async prune(nowMs: number): Promise<void> {
    await this.windows.deleteMany({ endMs: { $lte: nowMs } });
  }
}

function result(doc: WindowState, limit: RateLimit, granted: number): WindowTake {
  return { granted, count: doc.count, startMs: doc.startMs, endMs: windowEndMs(doc, limit) };
}
