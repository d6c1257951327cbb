// LeaseLimits for local validators: rate-limit points from the key's one shared window and credits from its stored
// balance, the same ones ValidateApiKey spends (so validators and replicas together never admit more than the limit
// or the balance), remembered per session and key so that returned points go back only to where they came from.
import type { Clock } from "../domain/clock.js";
import { FluxError, invalidArgument, keyNotFound, storeUnavailable } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import type { ApiKeyRecord, RateLimit } from "../domain/types.js";
import type { CreditLedger } from "./credit-ledger.js";
import type { WindowTake } from "./leased-rate-limiter.js";

/** What the leases need of a validator session (services/validator-hub.ts ValidatorSessionView). */
export interface SessionScope {
  id: string;
  /** Set when the session sees one organisation's keys only. */
  orgId?: string;
}

/** The key's shared window: WindowCounter (embedded) or the replicas' RateWindowStore (MongoDB). */
export interface WindowGrants {
  take(keyId: string, limit: RateLimit, points: number, nowMs: number): Promise<WindowTake>;
  giveBack(keyId: string, startMs: number, points: number): Promise<void>;
}

export interface LeaseAsk {
  keyId: string;
  rateLimitPoints: number;
  credits: number;
}

export interface RateLease {
  granted: number;
  limit: number;
  unleased: number;
  resetAtMs: number;
  expiresInMs: number;
}

export interface CreditsLease {
  granted: number;
  unleased: number;
  nextRefillAtMs?: number;
  expiresInMs: number;
}

export interface LeaseAnswer {
  rateLimit?: RateLease;
  credits?: CreditsLease;
}

/** What one session holds of one key: the window and the balance period its points came from. */
interface Held {
  rate?: { startMs: number; endMs: number; held: number };
  credits?: { epoch: number; periodStartMs: number; held: number; unleased: number; nextRefillAtMs?: number };
  /** Held from a window / balance period the session has since stopped leasing from (see supersede). */
  staleRate?: Superseded;
  staleCredits?: Superseded;
}

/**
 * A return does not say which lease it gives up. After a grant from a new window or balance period, what the session
 * held of the old one may still come back in its next two reports (one may have been built before it dropped the old
 * lease, the next certainly after); those returns are matched against the old lease first and dropped, since only
 * the old window or period could take them. Matching wrongly can only drop points: under-admission, never more.
 */
interface Superseded {
  amount: number;
  /** Dropped once this many reports of the session have been counted. */
  untilReports: number;
}

interface SessionLeases {
  keys: Map<string, Held>;
  touchedAtMs: number;
  /** Reports counted so far (services/validator-usage.ts calls reportCounted). */
  reports: number;
}

/**
 * At most this many points per grant, and at most a tenth of the limit (at least 1): one validator cannot take a
 * window that others (validators and replicas) also serve, so what a validator holds unused when its traffic stops
 * (the only slack: under-admission) is at most a tenth of the limit. One point always suffices for one call.
 * Credits have no such cap: a call needs its whole cost in one lease, so the validator asks what it needs.
 */
export const RATE_GRANT_MAX = 10_000;
export const RATE_GRANT_SHARE = 0.1;
/** A credits lease is usable at most this long (and never past the next refill): unused credits come back soon. */
export const CREDITS_LEASE_MS = 60_000;
/** A session neither leasing nor reporting this long has ended (the hub also tells us): its memory is dropped. */
const IDLE_SESSION_MS = 3_600_000;
const U32_MAX = 0xffff_ffff;

export class ValidatorLeases {
  private readonly sessions = new Map<string, SessionLeases>();
  private nextSweepMs = 0;

  constructor(
    private readonly keys: { get(id: string): Promise<ApiKeyRecord | undefined> },
    private readonly windows: WindowGrants,
    private readonly ledger: CreditLedger,
    private readonly clock: Clock,
  ) {}

  /** Leases for one key the session can see; another organisation's key is KEY_NOT_FOUND, like a missing one. */
  async lease(s: SessionScope, ask: LeaseAsk): Promise<LeaseAnswer> {
    checkAsk(ask);
    const key = await this.keys.get(ask.keyId).catch(unavailable);
    if (!key || !visible(s, key)) throw keyNotFound(ask.keyId);
    const answer: LeaseAnswer = {};
    if (key.rateLimit && ask.rateLimitPoints > 0) answer.rateLimit = await this.leaseRate(s, key, key.rateLimit, ask.rateLimitPoints);
    if (key.credits && ask.credits > 0) {
      try {
        answer.credits = await this.leaseCredits(s, key, ask.credits);
      } catch (err) {
        // Nothing half-granted: the caller gets an error, so the points just taken go back to their window.
        if (answer.rateLimit?.granted) await this.returnRate(s, key.id, answer.rateLimit.granted, false).catch(() => {});
        throw err;
      }
    }
    return answer;
  }

  /**
   * Gives unused points back to the window they were leased from while it lasts, and credits to the balance period
   * they came from; at most what the session holds, so no report can return more than was granted. A return whose
   * write fails is not retried: it may have landed, and returning twice would over-admit (lost: under-admission).
   */
  async giveBack(s: SessionScope, keyId: string, points: number, credits: number): Promise<void> {
    if (points > 0) await this.returnRate(s, keyId, points);
    if (credits > 0) await this.returnCredits(s, keyId, credits);
  }

  /** The window the session last leased from, while it lasts (webhooks: key.rate_limited names the window). */
  heldWindow(sessionId: string, keyId: string): { startMs: number; endMs: number } | undefined {
    const r = this.sessions.get(sessionId)?.keys.get(keyId)?.rate;
    return r && r.endMs > this.clock.nowMs() ? r : undefined;
  }

  /**
   * The stored balance as the session last learned it (webhooks: credits.low). What validators still hold unspent is
   * not known here, as the network path does not count other replicas' leases either: a low balance is noticed when
   * what nobody holds is low.
   */
  knownCredits(sessionId: string, keyId: string): { remaining: number; nextRefillAtMs?: number } | undefined {
    const c = this.sessions.get(sessionId)?.keys.get(keyId)?.credits;
    return c && { remaining: c.unleased, nextRefillAtMs: c.nextRefillAtMs };
  }

  /** Points and credits the session holds for the key (tests; what a lost session leaves unused). */
  held(sessionId: string, keyId: string): { points: number; credits: number } {
    const h = this.sessions.get(sessionId)?.keys.get(keyId);
    return { points: h?.rate?.held ?? 0, credits: h?.credits?.held ?? 0 };
  }

  /** Notes that the session is alive (its reports), so its memory outlives the idle sweep. */
  touch(sessionId: string): void {
    const sl = this.sessions.get(sessionId);
    if (sl) sl.touchedAtMs = this.clock.nowMs();
  }

  /** A report of the session was counted, its returns applied (superseded leases age by reports, see Superseded). */
  reportCounted(sessionId: string): void {
    const sl = this.sessions.get(sessionId);
    if (sl) sl.reports++;
  }

  private supersede(s: SessionScope, prev: Superseded | undefined, held: number): Superseded | undefined {
    const reports = this.sessions.get(s.id)?.reports ?? 0;
    const amount = (prev && reports < prev.untilReports ? prev.amount : 0) + held;
    return amount > 0 ? { amount, untilReports: reports + 2 } : undefined;
  }

  /** The session ended: what it held stays spent (under-admission) unless it was returned before. */
  endSession(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  private async leaseRate(s: SessionScope, key: ApiKeyRecord, limit: RateLimit, points: number): Promise<RateLease> {
    const cap = Math.min(RATE_GRANT_MAX, Math.max(1, Math.floor(limit.requests * RATE_GRANT_SHARE)));
    const now = this.clock.nowMs();
    const t = await this.windows.take(key.id, limit, Math.min(points, cap), now).catch(unavailable);
    const h = this.held_(s, key.id);
    if (h.rate && h.rate.startMs === t.startMs) Object.assign(h.rate, { endMs: t.endMs, held: h.rate.held + t.granted });
    else {
      if (h.rate) h.staleRate = this.supersede(s, h.staleRate, h.rate.held);
      h.rate = { startMs: t.startMs, endMs: t.endMs, held: t.granted }; // an older window's points are worth nothing
    }
    return {
      granted: t.granted,
      limit: limit.requests,
      unleased: Math.max(0, limit.requests - t.count),
      resetAtMs: t.endMs,
      // Usable until the window ends here; the validator counts from before its call, so it stops no later.
      expiresInMs: Math.min(U32_MAX, Math.max(0, t.endMs - now)),
    };
  }

  private async leaseCredits(s: SessionScope, key: ApiKeyRecord, amount: number): Promise<CreditsLease> {
    const g = await this.ledger.grant(key.id, key.credits!, amount);
    const now = this.clock.nowMs();
    const h = this.held_(s, key.id);
    const same = h.credits && h.credits.epoch === g.epoch && h.credits.periodStartMs === g.periodStartMs;
    if (h.credits && !same) h.staleCredits = this.supersede(s, h.staleCredits, h.credits.held);
    h.credits = { epoch: g.epoch, periodStartMs: g.periodStartMs, held: (same ? h.credits!.held : 0) + g.granted, unleased: g.unleased, nextRefillAtMs: g.nextRefillAtMs };
    const untilRefill = g.nextRefillAtMs === undefined ? CREDITS_LEASE_MS : g.nextRefillAtMs - now;
    return { granted: g.granted, unleased: g.unleased, nextRefillAtMs: g.nextRefillAtMs, expiresInMs: Math.max(0, Math.min(CREDITS_LEASE_MS, untilRefill)) };
  }

  private async returnRate(s: SessionScope, keyId: string, points: number, fromStaleFirst = true): Promise<void> {
    const sl = this.sessions.get(s.id);
    const h = sl?.keys.get(keyId);
    const r = h?.rate;
    if (!r) return;
    if (fromStaleFirst) points = absorb(h, "staleRate", points, sl!.reports);
    const n = Math.min(points, r.held);
    r.held -= n; // before the write: a concurrent return cannot give back the same points
    if (n > 0 && r.endMs > this.clock.nowMs()) await this.windows.giveBack(keyId, r.startMs, n);
  }

  private async returnCredits(s: SessionScope, keyId: string, credits: number): Promise<void> {
    const sl = this.sessions.get(s.id);
    const h = sl?.keys.get(keyId);
    const c = h?.credits;
    if (!c) return;
    credits = absorb(h, "staleCredits", credits, sl!.reports);
    const n = Math.min(credits, c.held);
    c.held -= n;
    c.unleased += n;
    // The store adds them only to the same epoch and refill period (a set or refilled balance replaced them).
    if (n > 0) await this.ledger.giveBack(keyId, c.epoch, c.periodStartMs, n);
  }

  private held_(s: SessionScope, keyId: string): Held {
    const now = this.clock.nowMs();
    this.sweep(now);
    let sl = this.sessions.get(s.id);
    if (!sl) this.sessions.set(s.id, (sl = { keys: new Map(), touchedAtMs: now, reports: 0 }));
    sl.touchedAtMs = now;
    let h = sl.keys.get(keyId);
    if (!h) sl.keys.set(keyId, (h = {}));
    return h;
  }

  /** Drops sessions idle for an hour (at most once a minute): memory follows live sessions even if an end is missed. */
  private sweep(now: number): void {
    if (now < this.nextSweepMs) return;
    this.nextSweepMs = now + 60_000;
    for (const [id, sl] of this.sessions) if (now - sl.touchedAtMs > IDLE_SESSION_MS) this.sessions.delete(id);
  }
}

/** A store failure as the caller sees it: UNAVAILABLE (retry), never INTERNAL; domain errors pass as they are. */
export function unavailable(err: unknown): never {
  throw err instanceof FluxError ? err : storeUnavailable(err);
}

/** Takes what the superseded lease may still be owed out of a return (dropped); what is left goes to the current one. */
function absorb(h: Held, field: "staleRate" | "staleCredits", n: number, reports: number): number {
  const st = h[field];
  if (!st) return n;
  if (reports >= st.untilReports) {
    h[field] = undefined;
    return n;
  }
  const a = Math.min(n, st.amount);
  st.amount -= a;
  if (st.amount === 0) h[field] = undefined;
  return n - a;
}

export function visible(s: SessionScope, key: ApiKeyRecord): boolean {
  return s.orgId === undefined || s.orgId === key.orgId;
}

/** The whole request before anything is taken: a refused lease has changed nothing. */
function checkAsk(ask: LeaseAsk): void {
  if (!ask.keyId) throw invalidArgument("key_id is required", "key_id");
  if (ask.keyId.length > LIMITS.idLength) throw keyNotFound(ask.keyId);
  if (!Number.isInteger(ask.rateLimitPoints) || ask.rateLimitPoints < 0 || ask.rateLimitPoints > LIMITS.leaseRateLimitPointsMax) {
    throw invalidArgument(`rate_limit_points must be 0–${LIMITS.leaseRateLimitPointsMax}`, "rate_limit_points");
  }
  if (!Number.isInteger(ask.credits) || ask.credits < 0 || ask.credits > LIMITS.leaseCreditsMax) {
    throw invalidArgument(`credits must be 0–${LIMITS.leaseCreditsMax}`, "credits");
  }
}
