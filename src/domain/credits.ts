// Credit balances and their refill schedules: pure rules shared by the ledger (services/credit-ledger.ts) and both
// stores. A refill is lazy: the period a moment falls in is a function of the policy and the time, never a timer.
import type { RateLimitState } from "./types.js";

/** How a balance refills: back to `amount` every intervalSeconds after it was set, or on a day of each month. */
export interface CreditRefill {
  amount: number;
  intervalSeconds?: number;
  /** 1–31 at 00:00 UTC; the month's last day when it is shorter. */
  dayOfMonth?: number;
}

/** A balance as configured (on a key or an organisation). Setting it starts a new epoch: the ledger's stored balance
 * for an older epoch is replaced by `remaining`. */
export interface Credits {
  /** The balance as set at setAtMs. */
  remaining: number;
  refill?: CreditRefill;
  /** When this balance was set: the epoch of every stored balance derived from it. */
  setAtMs: number;
}

/** A balance after a call, as the answer shows it. */
export interface CreditsState {
  remaining: number;
  nextRefillAtMs?: number;
}

/** What the ledger stores per subject (a key id, or "org:" + an organisation id). */
export interface StoredBalance {
  subject: string;
  /** Credits.setAtMs of the policy this balance belongs to. */
  epoch: number;
  remaining: number;
  /** Start of the refill period the balance belongs to (setAtMs when it has not refilled yet). */
  periodStartMs: number;
}

export type PolicyLevel = "KEY" | "ORGANIZATION";

/** The organisation-wide state an answer carries, when the organisation has a policy. */
export interface OrganizationState {
  rateLimit?: RateLimitState;
  credits?: CreditsState;
}

/** The start of the refill period `nowMs` falls in: setAtMs until the first refill. */
export function periodStartMs(c: Credits, nowMs: number): number {
  const r = c.refill;
  if (!r || nowMs <= c.setAtMs) return c.setAtMs;
  if (r.intervalSeconds) {
    const step = r.intervalSeconds * 1000;
    return c.setAtMs + Math.floor((nowMs - c.setAtMs) / step) * step;
  }
  const day = r.dayOfMonth ?? 1;
  const d = new Date(nowMs);
  let at = monthDay(d.getUTCFullYear(), d.getUTCMonth(), day);
  if (at > nowMs) at = monthDay(d.getUTCFullYear(), d.getUTCMonth() - 1, day);
  return Math.max(c.setAtMs, at);
}

/** When the balance refills next after `nowMs`; undefined without refill. */
export function nextRefillAtMs(c: Credits, nowMs: number): number | undefined {
  const r = c.refill;
  if (!r) return undefined;
  if (r.intervalSeconds) return periodStartMs(c, Math.max(nowMs, c.setAtMs)) + r.intervalSeconds * 1000;
  const day = r.dayOfMonth ?? 1;
  const d = new Date(Math.max(nowMs, c.setAtMs));
  const at = monthDay(d.getUTCFullYear(), d.getUTCMonth(), day);
  return at > d.getTime() ? at : monthDay(d.getUTCFullYear(), d.getUTCMonth() + 1, day);
}

/** 00:00 UTC of `day` in the month (0-based, may overflow into other years), clamped to the month's last day. */
function monthDay(year: number, month: number, day: number): number {
  const last = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return Date.UTC(year, month, Math.min(day, last));
}

/**
 * The balance a subject has at `nowMs` under policy `c`, from what is stored (or nothing): a stored balance of an
 * older epoch is replaced by the policy's; one of a newer epoch (this replica read an older policy) is kept; a new
 * refill period sets it to the refill amount.
 */
export function currentBalance(subject: string, c: Credits, stored: StoredBalance | undefined, nowMs: number): StoredBalance {
  let b = stored && stored.epoch >= c.setAtMs ? stored : { subject, epoch: c.setAtMs, remaining: c.remaining, periodStartMs: c.setAtMs };
  if (c.refill && b.epoch === c.setAtMs) {
    const p = periodStartMs(c, nowMs);
    if (p > b.periodStartMs) b = { ...b, remaining: c.refill.amount, periodStartMs: p };
  }
  return b;
}
