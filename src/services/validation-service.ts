// ValidateApiKey: every key problem is an outcome, never an error. Rate limit and usage stay off the database's
// synchronous path except for the key lookup itself (credits: one write per leased chunk, see credit-ledger.ts).
// Order: MALFORMED / NOT_FOUND → REVOKED → DISABLED → EXPIRED → IP_NOT_ALLOWED → INSUFFICIENT_SCOPE → RATE_LIMITED (key, then
// organisation) → USAGE_EXCEEDED (key, then organisation). A refused call spends nothing: what an earlier policy
// took for it (a rate-limit point, credits) is given back, so refusals never eat into any budget.
import type { Clock } from "../domain/clock.js";
import type { CreditsState, OrganizationState } from "../domain/credits.js";
import { invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import { API_KEY_PREFIX, type Digester, isWellFormed } from "../domain/key-material.js";
import { isValidScopeName, missingScopes } from "../domain/scopes.js";
import { type ApiKeyRecord, type OrgPolicy, type Outcome, type Principal, type ValidationResult, keyState } from "../domain/types.js";
import { canSee } from "./access.js";
import type { CreditDecision, CreditLedger } from "./credit-ledger.js";
import type { KeyRateLimiter, RateDecision } from "./rate-limiter.js";
import { type CidrMatcher, compileCidrs } from "../domain/cidr.js";
import { UNKNOWN_KEY_ID, type UsageRecorder } from "./usage-recorder.js";
import type { ValidationEvents } from "./webhook-emitter.js";

/** Where validation finds keys: the store, or a cache in front of it. */
export interface KeyLookup {
  findByDigest(digest: string): Promise<ApiKeyRecord | undefined>;
  /** A cache's answer without waiting: null for a digest known to be unknown, undefined when only findByDigest can tell. */
  peek?(digest: string): ApiKeyRecord | null | undefined;
  /** A call was answered from peek's record (counted apart, as a call handed on to findByDigest is counted there). */
  countHit?(): void;
}

/** Organisation policies as validation reads them: synchronously when cached (the common case costs no await). */
export interface OrgPolicyLookup {
  /** The cached policy, null when the organisation is cached as having none, undefined when it must be loaded. */
  cached(orgId: string): OrgPolicy | null | undefined;
  load(orgId: string): Promise<OrgPolicy | undefined>;
}

/** The ledger subject and limiter id of an organisation's shared budget (key ids start with "key_"). */
export const orgSubject = (orgId: string) => `org:${orgId}`;

export class ValidationService {
  constructor(
    private readonly lookup: KeyLookup,
    private readonly limiter: KeyRateLimiter,
    private readonly usage: UsageRecorder,
    private readonly clock: Clock,
    private readonly digest: Digester,
    private readonly onOutcome: (o: Outcome) => void = () => {},
    private readonly ledger?: CreditLedger,
    private readonly orgs?: OrgPolicyLookup,
    /** Webhooks (services/webhook-emitter.ts): told of refusals and low balances only, in memory. */
    private readonly events?: ValidationEvents,
  ) {}

  /** `clientIp`: the end client's address as the caller checked it (transport: isClientIp), or "" when not given. */
  async validate(p: Principal, rawKey: string, requiredScopes: string[], cost = 1, clientIp = ""): Promise<ValidationResult> {
    checkRequest(requiredScopes, cost);
    return this.finish(await this.decide(p, rawKey, requiredScopes, cost, clientIp), requiredScopes);
  }

  /**
   * validate's answer when everything it needs is in memory (the key and its organisation's policy cached, a rate
   * limit that needs no lease, no credits), without a promise; undefined, having spent and counted nothing, when
   * validate must run. Throws what validate would for a bad request. The hot path: most calls end here.
   */
  validateNow(p: Principal, rawKey: string, requiredScopes: string[], cost = 1, clientIp = ""): ValidationResult | undefined {
    checkRequest(requiredScopes, cost);
    if (rawKey.length > LIMITS.keyLength) return this.finish(outcome("MALFORMED"), requiredScopes);
    const digest = this.digest(rawKey);
    const key = this.lookup.peek?.(digest);
    // Only a well-formed secret is ever looked up, so a cached record proves the shape: the check runs otherwise.
    if (!key) {
      if (!isWellFormed(rawKey, API_KEY_PREFIX)) return this.finish(outcome("MALFORMED"), requiredScopes);
      return key === null ? this.fromCache(outcome("NOT_FOUND"), requiredScopes) : undefined;
    }
    const early = this.refusal(p, key, digest, requiredScopes, clientIp);
    if (early) return this.fromCache(early, requiredScopes);
    const org = this.orgs?.cached(key.orgId);
    if (org === undefined && this.orgs) return undefined;
    if (key.credits || org?.rateLimit || org?.credits) return undefined; // balances are read and written by the ledger
    if (!key.rateLimit) return this.fromCache(outcome("VALID", key), requiredScopes);
    const d = this.limiter.consumeNow?.(key.id, key.rateLimit);
    if (!d) return undefined;
    const r: ValidationResult = { outcome: "VALID", key, missingScopes: [], rateLimit: state(d) };
    return this.fromCache(d.allowed ? r : refused(r, "RATE_LIMITED", "KEY"), requiredScopes);
  }

  private fromCache(result: ValidationResult, requiredScopes: string[]): ValidationResult {
    this.lookup.countHit?.();
    return this.finish(result, requiredScopes);
  }

  /** What every answer does once decided: counted in usage (and its scopes), metrics, and webhooks. */
  private finish(result: ValidationResult, requiredScopes: string[]): ValidationResult {
    const key = result.key;
    this.usage.record(key?.id ?? UNKNOWN_KEY_ID, result.outcome, key?.orgId);
    // Unused-scope hints: the required scopes a key carries, once the key got as far as the scope check.
    if (key && requiredScopes.length && SCOPE_CHECKED.has(result.outcome)) this.usage.recordScopes(key, requiredScopes);
    this.onOutcome(result.outcome);
    if (this.events && (result.outcome === "RATE_LIMITED" || result.outcome === "USAGE_EXCEEDED" || result.credits)) this.events.observe(result);
    return result;
  }

  private async decide(p: Principal, rawKey: string, requiredScopes: string[], cost: number, clientIp: string): Promise<ValidationResult> {
    if (rawKey.length > LIMITS.keyLength || !isWellFormed(rawKey, API_KEY_PREFIX)) return outcome("MALFORMED");
    const digest = this.digest(rawKey);
    const key = await this.lookup.findByDigest(digest);
    if (!key) return outcome("NOT_FOUND");
    const early = this.refusal(p, key, digest, requiredScopes, clientIp);
    if (early) return early;
    const cached = this.orgs?.cached(key.orgId);
    const org = cached === null ? undefined : (cached ?? (await this.orgs?.load(key.orgId)));
    if (!key.rateLimit && !key.credits && !org) return outcome("VALID", key); // no policy: nothing more to pay for
    return this.meter(key, org, cost);
  }

  /** The key's own checks, in the order of the file's header; undefined when the key may be used. */
  private refusal(p: Principal, key: ApiKeyRecord, digest: string, requiredScopes: string[], clientIp: string): ValidationResult | undefined {
    const now = this.clock.nowMs();
    if (!canSee(p, key)) return outcome("NOT_FOUND");
    if (key.digest !== digest && !(key.previousDigest === digest && (key.previousDigestExpiresAtMs ?? 0) > now)) {
      return outcome("NOT_FOUND"); // an old secret whose grace period ended
    }
    const state = keyState(key, now);
    if (state !== "ACTIVE") return outcome(state, key);
    // A key without a list pays one property read; a refused address spends no rate-limit budget.
    if (key.allowedCidrs !== undefined && !(clientIp !== "" && matcherOf(key)(clientIp))) return outcome("IP_NOT_ALLOWED", key);
    const missing = missingScopes(key.scopes, requiredScopes);
    if (missing.length) return { outcome: "INSUFFICIENT_SCOPE", key, missingScopes: missing };
    return undefined;
  }

  /** Rate limits, then credits, key before organisation; whatever refuses gives back what the others took. */
  private async meter(key: ApiKeyRecord, org: OrgPolicy | undefined, cost: number): Promise<ValidationResult> {
    const r: ValidationResult = { outcome: "VALID", key, missingScopes: [] };
    const subject = org && orgSubject(org.orgId);
    let keyWindow: RateDecision | undefined;
    let orgWindow: RateDecision | undefined;
    let keyCredits: CreditDecision | undefined;
    const giveBack = () => {
      if (keyWindow?.allowed) this.limiter.refund?.(key.id, key.rateLimit!, keyWindow);
      if (orgWindow?.allowed) this.limiter.refund?.(subject!, org!.rateLimit!, orgWindow);
      if (keyCredits) this.ledger!.refund(key.id, keyCredits, cost);
    };
    // A failure halfway (a balance that cannot be read: UNAVAILABLE) gives back what was taken, like a refusal.
    try {
      if (key.rateLimit) {
        keyWindow = await this.limiter.consume(key.id, key.rateLimit);
        r.rateLimit = state(keyWindow);
        if (!keyWindow.allowed) return refused(r, "RATE_LIMITED", "KEY");
      }
      const orgState: OrganizationState | undefined = org && (org.rateLimit || org.credits) ? {} : undefined;
      if (orgState) r.organization = orgState;
      if (org?.rateLimit) {
        orgWindow = await this.limiter.consume(subject!, org.rateLimit);
        orgState!.rateLimit = state(orgWindow);
        if (!orgWindow.allowed) return giveBack(), refused(r, "RATE_LIMITED", "ORGANIZATION");
      }
      if (key.credits && this.ledger) {
        keyCredits = await this.ledger.spend(key.id, key.credits, cost);
        r.credits = credits(keyCredits);
        if (!keyCredits.allowed) return giveBack(), refused(r, "USAGE_EXCEEDED", "KEY");
      }
      if (org?.credits && this.ledger) {
        const d = await this.ledger.spend(subject!, org.credits, cost);
        orgState!.credits = credits(d);
        if (!d.allowed) {
          giveBack();
          if (r.credits && keyCredits?.allowed) r.credits = { ...r.credits, remaining: r.credits.remaining + cost };
          return refused(r, "USAGE_EXCEEDED", "ORGANIZATION");
        }
      }
      return r;
    } catch (err) {
      giveBack();
      throw err;
    }
  }
}

/** Outcomes decided at or after the scope check: the key was usable from the caller's address. */
const SCOPE_CHECKED = new Set<Outcome>(["VALID", "INSUFFICIENT_SCOPE", "RATE_LIMITED", "USAGE_EXCEEDED"]);

/** One compiled allowlist per key record: records are replaced, never changed, so a change compiles anew. */
const matchers = new WeakMap<ApiKeyRecord, CidrMatcher>();
function matcherOf(key: ApiKeyRecord): CidrMatcher {
  let m = matchers.get(key);
  if (!m) matchers.set(key, (m = compileCidrs(key.allowedCidrs ?? [])));
  return m;
}

function outcome(o: Outcome, key?: ApiKeyRecord): ValidationResult {
  return { outcome: o, key, missingScopes: [] };
}

function checkRequest(requiredScopes: string[], cost: number): void {
  for (const s of requiredScopes) {
    if (!isValidScopeName(s)) throw invalidArgument(`required_scopes has a malformed scope name`, "required_scopes");
  }
  if (!Number.isInteger(cost) || cost < 0 || cost > LIMITS.costMax) throw invalidArgument(`cost must be 0–${LIMITS.costMax}`, "cost");
}

function refused(r: ValidationResult, o: Outcome, by: "KEY" | "ORGANIZATION"): ValidationResult {
  r.outcome = o;
  r.refusedBy = by;
  return r;
}

const state = ({ allowed: _, ...s }: RateDecision) => s;
const credits = (d: CreditDecision): CreditsState => ({ remaining: d.remaining, nextRefillAtMs: d.nextRefillAtMs });
