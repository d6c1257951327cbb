// ValidateApiKey: every key problem is an outcome, never an error. Rate limit and usage stay off the database's
// synchronous path except for the key lookup itself.
import type { Clock } from "../domain/clock.js";
import { invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import { API_KEY_PREFIX, type Digester, isWellFormed } from "../domain/key-material.js";
import { isValidScopeName, missingScopes } from "../domain/scopes.js";
import { type ApiKeyRecord, type Outcome, type Principal, type ValidationResult, keyState } from "../domain/types.js";
import { canSee } from "./access.js";
import type { KeyRateLimiter } from "./rate-limiter.js";
import { UNKNOWN_KEY_ID, type UsageRecorder } from "./usage-recorder.js";

/** Where validation finds keys: the store, or a cache in front of it. */
export interface KeyLookup {
  findByDigest(digest: string): Promise<ApiKeyRecord | undefined>;
}


export class ValidationService {
  constructor(
    private readonly lookup: KeyLookup,
    private readonly limiter: KeyRateLimiter,
    private readonly usage: UsageRecorder,
    private readonly clock: Clock,
    private readonly digest: Digester,
    private readonly onOutcome: (o: Outcome) => void = () => {},
  ) {}

  async validate(p: Principal, rawKey: string, requiredScopes: string[]): Promise<ValidationResult> {
    for (const s of requiredScopes) {
      if (!isValidScopeName(s)) throw invalidArgument(`required_scopes has a malformed scope name`, "required_scopes");
    }
    const result = await this.decide(p, rawKey, requiredScopes);
    this.usage.record(result.key?.id ?? UNKNOWN_KEY_ID, result.outcome);
    this.onOutcome(result.outcome);
    return result;
  }

  private async decide(p: Principal, rawKey: string, requiredScopes: string[]): Promise<ValidationResult> {
    if (rawKey.length > LIMITS.keyLength || !isWellFormed(rawKey, API_KEY_PREFIX)) return outcome("MALFORMED");
    const digest = this.digest(rawKey);
    const key = await this.lookup.findByDigest(digest);
    const now = this.clock.nowMs();
    if (!key || !canSee(p, key)) return outcome("NOT_FOUND");
    if (key.digest !== digest && !(key.previousDigest === digest && (key.previousDigestExpiresAtMs ?? 0) > now)) {
      return outcome("NOT_FOUND"); // an old secret whose grace period ended
    }
    const state = keyState(key, now);
    if (state !== "ACTIVE") return outcome(state, key);
    const missing = missingScopes(key.scopes, requiredScopes);
    if (missing.length) return { outcome: "INSUFFICIENT_SCOPE", key, missingScopes: missing };
    if (!key.rateLimit) return outcome("VALID", key);
    const d = await this.limiter.consume(key.id, key.rateLimit);
    const { allowed, ...rateLimit } = d;
    return { outcome: allowed ? "VALID" : "RATE_LIMITED", key, rateLimit, missingScopes: [] };
  }
}

function outcome(o: Outcome, key?: ApiKeyRecord): ValidationResult {
  return { outcome: o, key, missingScopes: [] };
}
