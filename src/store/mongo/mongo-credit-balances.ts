// Credit balances shared by every replica: one document per subject ({_id: subject, epoch, remaining,
// periodStartMs}). Every change is conditional on the whole previous state (compare-and-set on _id), so no two
// replicas can both take the same credits: a lost race reads again and retries (services/credit-ledger.ts).
import type { Collection, Db } from "mongodb";
import type { StoredBalance } from "../../domain/credits.js";
import type { CreditBalanceStore } from "../types.js";
import { DURABLE } from "./mongo-keys.js";

interface BalanceDoc {
  _id: string;
  epoch: number;
  remaining: number;
  periodStartMs: number;
}

export class MongoCreditBalanceStore implements CreditBalanceStore {
  private readonly col: Collection<BalanceDoc>;

  constructor(db: Db) {
    // Majority writes: a debit acknowledged by a primary that then fails over must not come back as credit.
    this.col = db.collection<BalanceDoc>("credit_balances", DURABLE);
  }

  async get(subject: string): Promise<StoredBalance | undefined> {
    const d = await this.col.findOne({ _id: subject });
    return d ? { subject, epoch: d.epoch, remaining: d.remaining, periodStartMs: d.periodStartMs } : undefined;
  }

  async compareAndSet(expected: StoredBalance | undefined, next: StoredBalance): Promise<boolean> {
    const doc = { epoch: next.epoch, remaining: next.remaining, periodStartMs: next.periodStartMs };
    if (!expected) {
      try {
        await this.col.insertOne({ _id: next.subject, ...doc });
        return true;
      } catch (err) {
        if ((err as { code?: number }).code === 11000) return false; // another replica wrote it first
        throw err;
      }
    }
    const res = await this.col.updateOne(
      { _id: expected.subject, epoch: expected.epoch, remaining: expected.remaining, periodStartMs: expected.periodStartMs },
      { $set: doc },
    );
    return res.matchedCount === 1;
  }

  async giveBack(subject: string, epoch: number, periodStartMs: number, points: number): Promise<void> {
    await this.col.updateOne({ _id: subject, epoch, periodStartMs }, { $inc: { remaining: points } });
  }
}
