// Balance checks (cost 0) on the real stores: the ledger reads a balance at most once per staleAfterMs however
// many checks arrive, and a later spend still leases (and debits) from the store as usual.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import type { Credits, StoredBalance } from "../../src/domain/credits.js";
import { CreditLedger, DEFAULT_LEDGER } from "../../src/services/credit-ledger.js";
import type { CreditBalanceStore, Stores } from "../../src/store/types.js";
import { openTestStores, STORE_KINDS } from "../support/stores.js";

/** The real balance store, counting reads. */
class CountingBalances implements CreditBalanceStore {
  reads = 0;
  constructor(private readonly inner: CreditBalanceStore) {}
  get(subject: string) {
    this.reads++;
    return this.inner.get(subject);
  }
  compareAndSet(expected: StoredBalance | undefined, next: StoredBalance) {
    return this.inner.compareAndSet(expected, next);
  }
  giveBack(subject: string, epoch: number, periodStartMs: number, points: number) {
    return this.inner.giveBack(subject, epoch, periodStartMs, points);
  }
}

describe.each(STORE_KINDS)("balance checks on the %s store", (kind) => {
  let stores: Stores;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ stores, dispose } = await openTestStores(kind, "ledger-reads"));
  });
  afterAll(() => dispose?.());

  it("reads the store at most once per staleAfterMs for cost-0 checks, then spends from a real lease", async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const counting = new CountingBalances(stores.balances);
    const ledger = new CreditLedger(counting, clock);
    const c: Credits = { remaining: 100, setAtMs: clock.nowMs() };
    for (let i = 0; i < 50; i++) expect(await ledger.spend("key_reads", c, 0)).toMatchObject({ allowed: true, remaining: 100 });
    expect(counting.reads).toBe(1);
    clock.advance(DEFAULT_LEDGER.staleAfterMs);
    for (let i = 0; i < 50; i++) await ledger.spend("key_reads", c, 0);
    expect(counting.reads).toBe(2);
    expect(await ledger.spend("key_reads", c, 1)).toMatchObject({ allowed: true, remaining: 99 });
    expect((await stores.balances.get("key_reads"))?.remaining).toBe(95); // a chunk of 5 leased and debited first
    expect(await ledger.spend("key_reads", c, 0)).toMatchObject({ remaining: 99 });
  });
});
