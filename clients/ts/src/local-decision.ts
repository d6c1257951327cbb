// The local answer for one key, in the server's order (validation-service.ts): REVOKED, EXPIRED, DISABLED,
// IP_NOT_ALLOWED, INSUFFICIENT_SCOPE, RATE_LIMITED, USAGE_EXCEEDED, VALID — synchronous while leases last.
import type { CreditLease, KeyLeases, LeaseBook, RateLease } from "./local-leases.js";
import { missingScopes } from "./local-checks.js";
import type { LocalEntry } from "./local-table.js";
import { type CreditsState, KeyInfo, type Outcome, type RateLimitState, type ValidationResult } from "./types.js";

/** The decision needs a lease first: ask for these, then decide again. */
export interface NeedLease {
  readonly need: "lease";
  readonly points: number;
  readonly credits: number;
}

const NONE = Object.freeze([]) as unknown as string[];

/** Cached answers: VALID for keys without per-call state, and the plain refusals. */
const cache = new WeakMap<LocalEntry, Map<Outcome, ValidationResult>>();
function plain(e: LocalEntry, outcome: Outcome): ValidationResult {
  let m = cache.get(e);
  if (!m) cache.set(e, (m = new Map()));
  let r = m.get(outcome);
  if (!r) m.set(outcome, (r = Object.freeze({ valid: outcome === "VALID", outcome, key: e.info, rateLimit: undefined, missingScopes: NONE })));
  return r;
}

export const MALFORMED: ValidationResult = Object.freeze({ valid: false, outcome: "MALFORMED", key: undefined, rateLimit: undefined, missingScopes: NONE });

/** Everything up to the metering; undefined when the key passes those checks. */
export function decideKey(e: LocalEntry, nowMs: number, clientIp: string | undefined, required: readonly string[] | undefined): ValidationResult | undefined {
  if (e.state === "REVOKED") return plain(e, "REVOKED");
  if (e.expiresAtMs !== undefined && e.expiresAtMs <= nowMs) return plain(e, "EXPIRED");
  if (e.state === "DISABLED") return plain(e, "DISABLED");
  if (e.allowedIp && !(clientIp && e.allowedIp(clientIp))) return plain(e, "IP_NOT_ALLOWED");
  if (required && required.length) {
    const missing = missingScopes(e.scopes, required);
    if (missing.length) return { valid: false, outcome: "INSUFFICIENT_SCOPE", key: e.info, rateLimit: undefined, missingScopes: missing };
  }
  if (!e.rateLimit && !e.metered) return plain(e, "VALID");
  return undefined;
}

/**
 * Spends one point and `cost` credits from the key's leases; a refusal gives back what it took. VALID answers are
 * the key info alone (one object fewer on the hot path; `validResult` makes the whole answer for `check`).
 */
export function meter(e: LocalEntry, book: LeaseBook, l: KeyLeases, cost: number, nowMono: number): KeyInfo | ValidationResult | NeedLease {
  let r: RateLease | undefined;
  let rate: RateLimitState | undefined;
  if (e.rateLimit) {
    r = book.rate(l, nowMono);
    if (!r || (r.left === 0 && (!r.spent || nowMono >= r.retryMono))) return { need: "lease", points: 1, credits: e.metered ? cost : 0 };
    const resetAt = r.resetAt;
    if (r.left === 0) {
      const nowMs = Date.now(); // refusals only: the hot path reads no wall clock
      rate = { limit: r.limit, remaining: 0, resetAt, retryAfterMs: Math.max(1, (r.resetAtMs ?? nowMs + 1) - nowMs) };
      return refused(e, "RATE_LIMITED", rate, undefined);
    }
    r.left--;
    rate = { limit: r.limit, remaining: r.left + r.unleased, resetAt, retryAfterMs: 0 };
  }
  let credits: CreditsState | undefined;
  if (e.metered) {
    const c: CreditLease | undefined = book.credits(e.id, l, nowMono);
    if (!c || (c.left < cost && (!c.short || nowMono >= c.retryMono))) {
      if (r) r.left++;
      return { need: "lease", points: 0, credits: Math.max(cost, 1) };
    }
    const nextRefillAt = c.nextRefillAt;
    if (c.left < cost) {
      if (r) r.left++; // the answer still shows the point as taken, as the server's does
      return refused(e, "USAGE_EXCEEDED", rate, { remaining: c.left + c.unleased, nextRefillAt });
    }
    c.left -= cost;
    credits = { remaining: c.left + c.unleased, nextRefillAt };
  }
  return withState(e, rate, credits);
}

/** The whole VALID answer around a metered key info. */
export function validResult(key: KeyInfo): ValidationResult {
  return { valid: true, outcome: "VALID", key, rateLimit: key.rateLimit, missingScopes: NONE, credits: key.credits };
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** The entry's key info with this call's state: built field by field on KeyInfo's prototype (hot path). */
function withState(e: LocalEntry, rateLimit: RateLimitState | undefined, credits: CreditsState | undefined): KeyInfo {
  const i = e.info;
  const k = Object.create(KeyInfo.prototype) as Writable<KeyInfo>;
  k.id = i.id;
  k.orgId = i.orgId;
  k.name = i.name;
  k.scopes = i.scopes;
  k.metadata = i.metadata;
  k.expiresAt = i.expiresAt;
  k.rateLimit = rateLimit;
  k.credits = credits;
  k.organization = undefined;
  return k;
}

function refused(e: LocalEntry, outcome: Outcome, rateLimit: RateLimitState | undefined, credits: CreditsState | undefined): ValidationResult {
  return { valid: false, outcome, key: withState(e, rateLimit, credits), rateLimit, missingScopes: [], credits, refusedBy: "KEY" };
}
