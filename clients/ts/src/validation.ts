// Validation refusals are answers (OK, valid=false, an outcome), not RPC errors: this turns a refusal into the
// typed error `validate` rejects with, choosing the class by outcome, never by text.
import {
  InsufficientScopeError,
  InvalidKeyError,
  RateLimitedError,
  UsageExceededError,
} from "./errors.js";
import type { KeyInfo, Outcome, ValidationResult } from "./types.js";

// Human-readable only; callers branch on `outcome`.
const DESCRIPTION: Record<Exclude<Outcome, "VALID">, string> = {
  UNSPECIFIED: "the key was refused for an unknown reason",
  NOT_FOUND: "no key has this secret",
  MALFORMED: "the secret is not shaped like a Flux key",
  EXPIRED: "the key has expired",
  REVOKED: "the key has been revoked",
  DISABLED: "the key is disabled",
  RATE_LIMITED: "the key's rate limit is exhausted",
  USAGE_EXCEEDED: "the credit balance cannot pay this call's cost",
  INSUFFICIENT_SCOPE: "the key lacks required scopes",
  IP_NOT_ALLOWED: "the client's address is outside the key's allowed CIDRs",
};

/** The typed error for a refused key. */
export function refusalError(result: ValidationResult): InvalidKeyError {
  const outcome = result.outcome === "VALID" ? "UNSPECIFIED" : result.outcome;
  const message = `invalid API key: ${DESCRIPTION[outcome]} (${outcome})`;
  switch (outcome) {
    case "RATE_LIMITED": {
      const refusedBy = result.refusedBy ?? "KEY";
      const rateLimit = refusedBy === "ORGANIZATION" ? result.organization?.rateLimit : result.rateLimit;
      const retryAfterMs = rateLimit?.retryAfterMs ?? 0;
      const why = refusedBy === "ORGANIZATION" ? message.replace("the key's rate limit", "the organisation's shared rate limit") : message;
      return new RateLimitedError(`${why}; retry after ${retryAfterMs} ms`, { keyInfo: result.key, rateLimit, refusedBy });
    }
    case "USAGE_EXCEEDED": {
      const refusedBy = result.refusedBy ?? "KEY";
      const credits = refusedBy === "ORGANIZATION" ? result.organization?.credits : result.credits;
      const why = refusedBy === "ORGANIZATION" ? message.replace("the credit balance", "the organisation's shared credit balance") : message;
      return new UsageExceededError(why, { keyInfo: result.key, refusedBy, credits });
    }
    case "INSUFFICIENT_SCOPE":
      return new InsufficientScopeError(`${message}: missing ${result.missingScopes.join(", ")}`, {
        keyInfo: result.key,
        missingScopes: result.missingScopes,
      });
    default:
      return new InvalidKeyError(message, { outcome, keyInfo: result.key });
  }
}

/** The key info of a VALID answer; throws the refusal's typed error otherwise. */
export function acceptedKey(result: ValidationResult): KeyInfo {
  if (result.valid && result.outcome === "VALID" && result.key) return result.key;
  throw refusalError(result);
}
