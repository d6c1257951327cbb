// Credit balances spent without a database write per call. Each replica leases a chunk of a subject's balance
// (a key's, or an organisation's) with one compare-and-set on the stored balance, and spends it in memory: the
// debit is stored before any call it pays for is admitted, so all replicas together never admit more than the
// balance, and a crash (or a replica holding a chunk while another runs dry) can only under-spend. A clean stop
// returns unused chunks. Refills are lazy (domain/credits.ts): no timer per balance.
import type { Clock } from "../domain/clock.js";
import { type Credits, type CreditsState, currentBalance, nextRefillAtMs, type StoredBalance } from "../domain/credits.js";
import { storeUnavailable } from "../domain/errors.js";
import type { CreditBalanceStore } from "../store/types.js";

export interface CreditDecision extends CreditsState {
  allowed: boolean;
  /** Which lease paid (for refund): the balance's epoch and refill period. */
  paidFrom?: { epoch: number; periodStartMs: number };
}

/** Credits granted to a local validator, and where they came from (for returns). */
export interface CreditGrant {
  granted: number;
  /** The stored balance after the grant. */
  unleased: number;
  epoch: number;
  periodStartMs: number;
  nextRefillAtMs?: number;
}

interface Lease {
  epoch: number;
  periodStartMs: number;
  nextRefillAtMs?: number;
  /** Credits this replica holds and may still spend. */
  tokens: number;
  /** The stored balance (what no replica holds) when last read. */
  unleased: number;
  readAtMs: number;
}

export interface LedgerOptions {
  /** Fraction of the balance leased at once (at least 1 credit, at most maxChunk). */
  fraction: number;
  maxChunk: number;
  /** A refusal read from the store is trusted this long before the store is asked again. */
  staleAfterMs: number;
}

export const DEFAULT_LEDGER: LedgerOptions = { fraction: 0.05, maxChunk: 1000, staleAfterMs: 1000 };
const MAX_ATTEMPTS = 50;
const MIN_SWEEP_SIZE = 1024;

export class CreditLedger {
  private readonly leases = new Map<string, Lease>();
  private readonly pending = new Map<string, Promise<void>>();
  private sweepAtSize = MIN_SWEEP_SIZE;

  constructor(
    private readonly store: CreditBalanceStore,
    private readonly clock: Clock,
    private readonly opts: LedgerOptions = DEFAULT_LEDGER,
  ) {}

  /** Spends `cost` from the subject's balance, all or nothing; cost 0 only reads it. */
  async spend(subject: string, c: Credits, cost: number): Promise<CreditDecision> {
    if (cost === 0) {
      const { remaining, nextRefillAtMs } = await this.balance(subject, c);
      return { allowed: true, remaining, nextRefillAtMs };
    }
    for (let pass = 0; pass < MAX_ATTEMPTS; pass++) {
      const now = this.clock.nowMs();
      const l = this.usable(subject, c, now);
      if (l) {
        if (cost <= l.tokens) {
          l.tokens -= cost;
          return { allowed: true, remaining: l.tokens + l.unleased, nextRefillAtMs: l.nextRefillAtMs, paidFrom: { epoch: l.epoch, periodStartMs: l.periodStartMs } };
        }
        // Known to be short: refused without the store (asked again once the reading is stale).
        if (cost - l.tokens > l.unleased && (pass > 0 || now - l.readAtMs < this.opts.staleAfterMs)) {
          return { allowed: false, remaining: l.tokens + l.unleased, nextRefillAtMs: l.nextRefillAtMs };
        }
      } else if (pass > 0) {
        const b = currentBalance(subject, c, undefined, now);
        return { allowed: false, remaining: b.remaining, nextRefillAtMs: nextRefillAtMs(c, now) };
      }
      // One lease request per subject at a time; concurrent callers wait for it and then spend from it.
      let p = this.pending.get(subject);
      if (!p) {
        p = this.lease(subject, c, cost - (l?.tokens ?? 0)).finally(() => this.pending.delete(subject));
        this.pending.set(subject, p);
      }
      try {
        await p;
      } catch (err) {
        throw storeUnavailable(err); // never admitted without a stored debit, never refused for a failure
      }
    }
    throw storeUnavailable(new Error(`credit balance of ${subject} kept changing under concurrent leases`));
  }

  /** Gives back what a refused call had spent (a later policy refused it): only to the lease that paid. */
  refund(subject: string, d: CreditDecision, cost: number): void {
    const l = this.leases.get(subject);
    if (d.allowed && d.paidFrom && l && l.epoch === d.paidFrom.epoch && l.periodStartMs === d.paidFrom.periodStartMs) l.tokens += cost;
  }

  /** The balance now: this replica's unspent lease plus the stored balance (one read when nothing is leased). */
  async balance(subject: string, c: Credits): Promise<CreditsState & { periodStartMs: number }> {
    const now = this.clock.nowMs();
    const l = this.usable(subject, c, now);
    if (l && now - l.readAtMs < this.opts.staleAfterMs) return { remaining: l.tokens + l.unleased, nextRefillAtMs: l.nextRefillAtMs, periodStartMs: l.periodStartMs };
    let stored;
    try {
      stored = await this.store.get(subject);
    } catch (err) {
      throw storeUnavailable(err);
    }
    const b = currentBalance(subject, c, stored, now);
    const next = nextRefillAtMs(c, now);
    // The lease as it is after the read (calls may have spent from it meanwhile).
    const cur = this.leases.get(subject);
    const same = !!cur && cur.epoch === b.epoch && cur.periodStartMs === b.periodStartMs;
    const held = same ? cur!.tokens : 0;
    // Remembered like a lease (of nothing, when none is held), so balance checks (cost 0) read the store at most once
    // per staleAfterMs. Only the stored part changes: tokens, which alone admit calls, are never touched here.
    if (!this.pending.has(subject)) {
      if (same) Object.assign(cur!, { unleased: b.remaining, readAtMs: now });
      else if (!cur || cur.tokens === 0) this.leases.set(subject, { epoch: b.epoch, periodStartMs: b.periodStartMs, nextRefillAtMs: next, tokens: 0, unleased: b.remaining, readAtMs: now });
    }
    return { remaining: b.remaining + held, nextRefillAtMs: next, periodStartMs: b.periodStartMs };
  }

  /** Returns every unused lease to the store (a clean stop); what a crash keeps was only ever under-spent. */
  async close(): Promise<void> {
    const held = [...this.leases].filter(([, l]) => l.tokens > 0);
    this.leases.clear();
    await Promise.all(held.map(([s, l]) => this.store.giveBack(s, l.epoch, l.periodStartMs, l.tokens).catch(() => {})));
  }

  /** Credits held by this replica for the subject (tests measure under-spending with it). */
  held(subject: string): number {
    return this.leases.get(subject)?.tokens ?? 0;
  }

  /** The lease when it belongs to this policy's epoch (or a newer one) and its refill period has not ended. */
  private usable(subject: string, c: Credits, now: number): Lease | undefined {
    const l = this.leases.get(subject);
    if (!l || l.epoch < c.setAtMs || (l.nextRefillAtMs !== undefined && now >= l.nextRefillAtMs)) return undefined;
    return l;
  }

  private async lease(subject: string, c: Credits, need: number): Promise<void> {
    const base = Math.max(c.remaining, c.refill?.amount ?? 0);
    const chunk = Math.max(1, Math.min(this.opts.maxChunk, Math.floor(base * this.opts.fraction)));
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = await this.store.get(subject);
      const now = this.clock.nowMs();
      const cur = currentBalance(subject, c, stored, now);
      const old = this.usable(subject, c, now);
      const keep = old && old.epoch === cur.epoch && old.periodStartMs === cur.periodStartMs ? old.tokens : 0;
      const short = Math.max(0, need - keep);
      const grant = short > cur.remaining ? 0 : Math.min(cur.remaining, Math.max(short, chunk));
      const next: StoredBalance = { ...cur, remaining: cur.remaining - grant };
      if ((grant > 0 || !same(stored, next)) && !(await this.store.compareAndSet(stored, next))) continue; // another replica won
      if (!this.leases.has(subject)) this.sweep(now);
      // What the old lease holds now, not `keep`: calls on this replica may have spent from it during the write.
      const held = this.leases.get(subject);
      const still = held && held.epoch === cur.epoch && held.periodStartMs === cur.periodStartMs ? held.tokens : 0;
      this.leases.set(subject, {
        epoch: cur.epoch,
        periodStartMs: cur.periodStartMs,
        nextRefillAtMs: nextRefillAtMs(c, now),
        tokens: still + grant,
        unleased: next.remaining,
        readAtMs: now,
      });
      return;
    }
    throw new Error(`credit balance of ${subject} kept changing under concurrent leases`);
  }

  /**
   * Takes up to `amount` from the subject's stored balance for a local validator (services/validator-leases.ts), by
   * the same compare-and-set as this ledger's own leases: the debit is stored before the grant is returned. Lazy
   * refills apply first. Fewer than asked when the balance is short; 0 when it is empty.
   */
  async grant(subject: string, c: Credits, amount: number): Promise<CreditGrant> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let stored;
      try {
        stored = await this.store.get(subject);
      } catch (err) {
        throw storeUnavailable(err);
      }
      const now = this.clock.nowMs();
      const cur = currentBalance(subject, c, stored, now);
      const granted = Math.min(amount, cur.remaining);
      const next: StoredBalance = { ...cur, remaining: cur.remaining - granted };
      let won = true;
      if (granted > 0 || !same(stored, next)) {
        try {
          won = await this.store.compareAndSet(stored, next);
        } catch (err) {
          throw storeUnavailable(err); // a CAS that may have landed only under-spends: the grant is never returned
        }
      }
      if (won) return { granted, unleased: next.remaining, epoch: cur.epoch, periodStartMs: cur.periodStartMs, nextRefillAtMs: nextRefillAtMs(c, now) };
    }
    throw storeUnavailable(new Error(`credit balance of ${subject} kept changing under concurrent leases`));
  }

  /** Returns unused granted credits to the balance of that epoch and refill period (a no-op once it is another). */
  async giveBack(subject: string, epoch: number, periodStartMs: number, points: number): Promise<void> {
    try {
      await this.store.giveBack(subject, epoch, periodStartMs, points);
    } catch (err) {
      throw storeUnavailable(err);
    }
  }

  /** Drops leases that hold nothing or whose period ended, once the map doubled: memory follows active balances. */
  private sweep(now: number): void {
    if (this.leases.size < this.sweepAtSize) return;
    for (const [s, l] of this.leases) if (l.tokens === 0 || (l.nextRefillAtMs !== undefined && l.nextRefillAtMs <= now)) this.leases.delete(s);
    this.sweepAtSize = Math.max(MIN_SWEEP_SIZE, this.leases.size * 2);
  }
}

function same(a: StoredBalance | undefined, b: StoredBalance): boolean {
  return !!a && a.epoch === b.epoch && a.remaining === b.remaining && a.periodStartMs === b.periodStartMs;
}
