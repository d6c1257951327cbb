// The credit ledger on the real stores under interleavings a busy replica meets: small calls spending the rest of a
// lease while a bigger call's new lease is being written must not bring those credits back (over-admission).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/domain/clock.js";
import type { Credits, StoredBalance } from "../../src/domain/credits.js";
import { CreditLedger } from "../../src/services/credit-ledger.js";
import type { CreditBalanceStore, Stores } from "../../src/store/types.js";
import { openTestStores, STORE_KINDS } from "../support/stores.js";

/** The real balance store, with compareAndSet held at a gate when the test closes it. */
class GatedBalances implements CreditBalanceStore {
  private gate?: Promise<void>;
  private open?: () => void;
  entered?: () => void;
  constructor(private readonly inner: CreditBalanceStore) {}
  close(): Promise<void> {
    this.gate = new Promise((r) => (this.open = r));
    return new Promise((r) => (this.entered = r));
  }
  release(): void {
    this.gate = undefined;
    this.open?.();
  }
  get(subject: string) {
    return this.inner.get(subject);
  }
  async compareAndSet(expected: StoredBalance | undefined, next: StoredBalance) {
    const g = this.gate;
    if (g) (this.entered?.(), await g);
    return this.inner.compareAndSet(expected, next);
  }
  giveBack(subject: string, epoch: number, periodStartMs: number, points: number) {
    return this.inner.giveBack(subject, epoch, periodStartMs, points);
  }
}

describe.each(STORE_KINDS)("the credit ledger on the %s store", (kind) => {
  let stores: Stores;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ stores, dispose } = await openTestStores(kind, "ledger-attacks"));
  });
  afterAll(() => dispose?.());

  it("never admits more than the balance when small calls spend a lease's rest while a bigger call's lease is written", async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const balances = new GatedBalances(stores.balances);
    const ledger = new CreditLedger(balances, clock, { fraction: 0.05, maxChunk: 1000, staleAfterMs: 1000 });
    const subject = `key_gate_${kind}_${Date.now()}`;
    const c: Credits = { remaining: 100, setAtMs: clock.nowMs() };
    let admitted = 0;
    const take = async (cost: number) => {
      const d = await ledger.spend(subject, c, cost);
      if (d.allowed) admitted += cost;
      return d;
    };
    await take(1); // leases a chunk of 5: 4 held, 95 stored
    expect(ledger.held(subject)).toBe(4);
    const entered = balances.close();
    const big = take(10); // needs more than the 4 held: a new lease, held at its write
    await entered;
    for (let i = 0; i < 4; i++) expect((await take(1)).allowed).toBe(true); // the 4 held credits, spent meanwhile
    balances.release();
    expect((await big).allowed).toBe(true);
    const stored = (await stores.balances.get(subject))!.remaining;
    // Every credit is admitted, held or stored exactly once.
    expect(admitted + ledger.held(subject) + stored).toBe(100);
  });
});
