// Credit balances in SQLite: one row per subject. The ledger writes a debit here before it admits the calls it
// pays for (in leased chunks), so a crash can only lose credits leased and not yet spent: under-spending.
import type { Database, Statement } from "better-sqlite3";
import type { StoredBalance } from "../../domain/credits.js";
import type { CreditBalanceStore } from "../types.js";

export const CREDIT_BALANCES_SCHEMA = `
CREATE TABLE IF NOT EXISTS credit_balances (
  subject TEXT PRIMARY KEY, epoch INTEGER NOT NULL, remaining INTEGER NOT NULL, period_start_ms INTEGER NOT NULL
);
`;

type Row = { epoch: number; remaining: number; periodStartMs: number };

export class SqliteCreditBalances implements CreditBalanceStore {
  private readonly getOne: Statement<[string], Row>;
  private readonly insert: Statement<[string, number, number, number]>;
  private readonly cas: Statement<[number, number, number, string, number, number, number]>;
  private readonly add: Statement<[number, string, number, number]>;

  constructor(db: Database) {
    this.getOne = db.prepare("SELECT epoch, remaining, period_start_ms AS periodStartMs FROM credit_balances WHERE subject = ?");
    this.insert = db.prepare("INSERT OR IGNORE INTO credit_balances (subject, epoch, remaining, period_start_ms) VALUES (?, ?, ?, ?)");
    this.cas = db.prepare(
      "UPDATE credit_balances SET epoch = ?, remaining = ?, period_start_ms = ? WHERE subject = ? AND epoch = ? AND remaining = ? AND period_start_ms = ?",
    );
    this.add = db.prepare("UPDATE credit_balances SET remaining = remaining + ? WHERE subject = ? AND epoch = ? AND period_start_ms = ?");
  }

  async get(subject: string): Promise<StoredBalance | undefined> {
    const r = this.getOne.get(subject);
    return r && { subject, ...r };
  }

  async compareAndSet(expected: StoredBalance | undefined, next: StoredBalance): Promise<boolean> {
    if (!expected) return this.insert.run(next.subject, next.epoch, next.remaining, next.periodStartMs).changes === 1;
    const e = expected;
    return this.cas.run(next.epoch, next.remaining, next.periodStartMs, e.subject, e.epoch, e.remaining, e.periodStartMs).changes === 1;
  }

  async giveBack(subject: string, epoch: number, periodStartMs: number, points: number): Promise<void> {
    this.add.run(points, subject, epoch, periodStartMs);
  }
}
