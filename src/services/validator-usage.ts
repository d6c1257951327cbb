// ReportLocalUsage: a local validator's answers counted into the same usage, /metrics and webhooks as ValidateApiKey's,
// once per report_seq and all of a report or none of it; returned leases go back through ValidatorLeases.
import type { Clock } from "../domain/clock.js";
import { invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import { isValidScopeName } from "../domain/scopes.js";
import type { ApiKeyRecord, Outcome, ValidationResult } from "../domain/types.js";
import { AgedCache } from "./aged-cache.js";
import { UNKNOWN_KEY_ID, type UsageRecorder } from "./usage-recorder.js";
import { type SessionScope, unavailable, type ValidatorLeases, visible } from "./validator-leases.js";
import type { ValidationEvents } from "./webhook-emitter.js";

export interface KeyUsageReport {
  keyId: string;
  outcomes: { outcome: Outcome; count: number }[];
  scopeUses: { scope: string; count: number }[];
  lastUsedAtMs?: number;
  returnedRateLimitPoints: number;
  returnedCredits: number;
}

export interface UsageReport {
  reportSeq: number;
  keys: KeyUsageReport[];
  malformed: number;
  closing: boolean;
}

/** Outcomes a validator decides locally about a known key (MALFORMED has its own field; NOT_FOUND is the network's). */
const LOCAL_OUTCOMES = new Set<Outcome>(["VALID", "EXPIRED", "REVOKED", "DISABLED", "RATE_LIMITED", "INSUFFICIENT_SCOPE", "USAGE_EXCEEDED", "IP_NOT_ALLOWED"]);
/** Keys looked up at once for one report (cache misses only). */
const LOOKUP_BATCH = 100;
/** A session not reporting this long has ended (the hub tells us too; this covers a report racing the end). */
const IDLE_SESSION_MS = 3_600_000;

interface SessionReports {
  lastSeq: number;
  touchedAtMs: number;
  /** Reports of one session run one after another, so a retry sees the first attempt's result. */
  chain: Promise<unknown>;
}

export interface UsageHooks {
  /** /metrics: flux_validations_total by outcome. */
  onOutcome(o: Outcome, n: number): void;
  /** Webhooks (key.rate_limited, credits.low / credits.exhausted), in memory like the validate path's. */
  events?: ValidationEvents;
  /** A return whose write failed: lost, never retried (it may have landed): under-admission only. */
  onLostReturn?(err: unknown): void;
  /** Entries naming keys the session cannot see (or no key): ignored, counted here. */
  onIgnored?(n: number): void;
}

export class ValidatorUsage {
  private readonly sessions = new Map<string, SessionReports>();
  private nextSweepMs = 0;
  /** Keys by id, read again after 30 s: an organisation never changes, and scopes or limits that old only shape
   * hints and webhook events. A validator reporting 10,000 keys a second costs ~330 key reads a second, not 10,000. */
  private readonly byId: AgedCache<ApiKeyRecord>;

  constructor(
    private readonly keys: { get(id: string): Promise<ApiKeyRecord | undefined> },
    private readonly leases: ValidatorLeases,
    private readonly recorder: UsageRecorder,
    private readonly clock: Clock,
    private readonly hooks: UsageHooks,
  ) {
    this.byId = new AgedCache(clock, { maxEntries: 100_000, negativeMaxEntries: 10_000, maxAgeMs: 30_000, negativeTtlMs: 2000 });
  }

  /**
   * Counts the report unless its report_seq was counted before (then it is only acknowledged). The whole request is
   * checked first (INVALID_ARGUMENT changes nothing); a key lookup that fails is UNAVAILABLE with nothing counted, so
   * the validator's retry with the same report_seq counts it once. Returns whether it was counted now.
   */
  report(s: SessionScope, r: UsageReport): Promise<boolean> {
    checkReport(r);
    const now = this.clock.nowMs();
    this.sweep(now);
    let st = this.sessions.get(s.id);
    if (!st) this.sessions.set(s.id, (st = { lastSeq: 0, touchedAtMs: now, chain: Promise.resolve() }));
    st.touchedAtMs = now;
    const run = st.chain.then(() => this.apply(s, st, r));
    st.chain = run.catch(() => {});
    return run;
  }

  /** The session ended: a later report of it is refused by the hub before it gets here. */
  endSession(sessionId: string): void {
    this.sessions.delete(sessionId);
    this.leases.endSession(sessionId);
  }

  /** At most once a minute: memory follows live sessions even if an end was missed. */
  private sweep(now: number): void {
    if (now < this.nextSweepMs) return;
    this.nextSweepMs = now + 60_000;
    for (const [id, st] of this.sessions) if (now - st.touchedAtMs > IDLE_SESSION_MS) this.sessions.delete(id);
  }

  private async apply(s: SessionScope, st: SessionReports, r: UsageReport): Promise<boolean> {
    if (r.reportSeq <= st.lastSeq) return false;
    this.leases.touch(s.id);
    // Every read before any change: a failure here leaves nothing counted and nothing returned.
    const found = await this.lookup([...new Set(r.keys.map((k) => k.keyId))]);
    let ignored = 0;
    const counted: [KeyUsageReport, ApiKeyRecord][] = [];
    for (const k of r.keys) {
      const key = found.get(k.keyId);
      if (key && visible(s, key)) counted.push([k, key]);
      else ignored++;
    }
    // Returns are written once per report, before it is marked counted; a failed one is lost (it may have landed).
    for (const [k, key] of counted) {
      if (k.returnedRateLimitPoints > 0 || k.returnedCredits > 0) {
        await this.leases.giveBack(s, key.id, k.returnedRateLimitPoints, k.returnedCredits).catch((err) => this.hooks.onLostReturn?.(err));
      }
    }
    // From here on nothing can fail: all in memory.
    st.lastSeq = r.reportSeq;
    this.leases.reportCounted(s.id);
    const now = this.clock.nowMs();
    for (const [k, key] of counted) this.count(s, k, key, now);
    if (r.malformed > 0) {
      this.recorder.record(UNKNOWN_KEY_ID, "MALFORMED", undefined, r.malformed);
      this.hooks.onOutcome("MALFORMED", r.malformed);
    }
    if (ignored > 0) this.hooks.onIgnored?.(ignored);
    return true;
  }

  private count(s: SessionScope, k: KeyUsageReport, key: ApiKeyRecord, now: number): void {
    const lastUsedAtMs = k.lastUsedAtMs === undefined ? undefined : Math.min(k.lastUsedAtMs, now);
    const seen = new Set<Outcome>();
    for (const { outcome, count } of k.outcomes) {
      this.recorder.record(key.id, outcome, key.orgId, count, lastUsedAtMs);
      this.hooks.onOutcome(outcome, count);
      seen.add(outcome);
    }
    if (k.scopeUses.length) this.recorder.recordScopes(key, k.scopeUses.map((u) => u.scope));
    if (this.hooks.events) for (const o of seen) this.notice(s, key, o);
  }

  /** Tells webhooks what a network answer would have: the first refusal of a window, a low or spent balance. */
  private notice(s: SessionScope, key: ApiKeyRecord, o: Outcome): void {
    const events = this.hooks.events!;
    const base: ValidationResult = { outcome: o, key, missingScopes: [] };
    if (o === "RATE_LIMITED" && key.rateLimit) {
      const w = this.leases.heldWindow(s.id, key.id); // the window it was refused in (the event id names it)
      if (w) events.observe({ ...base, refusedBy: "KEY", rateLimit: { limit: key.rateLimit.requests, remaining: 0, resetAtMs: w.endMs, retryAfterMs: 0 } });
    } else if ((o === "USAGE_EXCEEDED" || o === "VALID") && key.credits) {
      const c = this.leases.knownCredits(s.id, key.id);
      if (c) events.observe({ ...base, refusedBy: o === "USAGE_EXCEEDED" ? "KEY" : undefined, credits: c });
    }
  }

  private async lookup(ids: string[]): Promise<Map<string, ApiKeyRecord>> {
    const found = new Map<string, ApiKeyRecord>();
    for (let i = 0; i < ids.length; i += LOOKUP_BATCH) {
      const batch = ids.slice(i, i + LOOKUP_BATCH).filter((id) => id.length <= LIMITS.idLength);
      const records = await Promise.all(batch.map((id) => this.byId.get(id, () => this.keys.get(id)))).catch(unavailable);
      records.forEach((rec, j) => rec && found.set(batch[j]!, rec));
    }
    return found;
  }
}

/** The whole report before anything is counted or returned. */
function checkReport(r: UsageReport): void {
  if (!Number.isSafeInteger(r.reportSeq) || r.reportSeq < 1) throw invalidArgument("report_seq must be 1, 2, 3, …", "report_seq");
  if (r.keys.length > LIMITS.reportKeysMax) throw invalidArgument(`at most ${LIMITS.reportKeysMax} keys per report`, "keys");
  if (!countOk(r.malformed, 0)) throw invalidArgument(`malformed must be 0–${LIMITS.reportCountMax}`, "malformed");
  for (const k of r.keys) {
    if (!k.keyId) throw invalidArgument("keys.key_id is required", "keys.key_id");
    for (const o of k.outcomes) {
      if (!LOCAL_OUTCOMES.has(o.outcome)) throw invalidArgument("keys.outcomes: outcome must be a local answer about a key (not UNSPECIFIED, MALFORMED or NOT_FOUND)", "keys.outcomes.outcome");
      if (!countOk(o.count, 1)) throw invalidArgument(`keys.outcomes: count must be 1–${LIMITS.reportCountMax}`, "keys.outcomes.count");
    }
    if (k.scopeUses.length > LIMITS.reportScopeUsesMax) throw invalidArgument(`at most ${LIMITS.reportScopeUsesMax} scope uses per key`, "keys.scope_uses");
    for (const u of k.scopeUses) {
      if (!isValidScopeName(u.scope)) throw invalidArgument("keys.scope_uses has a malformed scope name", "keys.scope_uses.scope");
      if (!countOk(u.count, 1)) throw invalidArgument(`keys.scope_uses: count must be 1–${LIMITS.reportCountMax}`, "keys.scope_uses.count");
    }
    if (!(Number.isInteger(k.returnedCredits) && k.returnedCredits >= 0 && k.returnedCredits <= LIMITS.leaseCreditsMax)) {
      throw invalidArgument(`keys.returned_credits must be 0–${LIMITS.leaseCreditsMax}`, "keys.returned_credits");
    }
  }
}

function countOk(n: number, min: number): boolean {
  return Number.isInteger(n) && n >= min && n <= LIMITS.reportCountMax;
}
