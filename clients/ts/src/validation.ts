// Validation refusals are answers (OK, valid=false, an outcome), not RPC errors: this turns a refusal into the
// typed error `validate` rejects with, choosing the class by outcome, never by text.
import {
  InsufficientScopeError,
  InvalidKeyError,
  RateLimitedError,
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
  INSUFFICIENT_SCOPE: "the key lacks required scopes",
  IP_NOT_ALLOWED: "the client's address is outside the key's allowed CIDRs",
};

/** The typed error for a refused key. */
export function refusalError(result: ValidationResult): InvalidKeyError {
  const outcome = result.outcome === "VALID" ? "UNSPECIFIED" : result.outcome;
  const message = `invalid API key: ${DESCRIPTION[outcome]} (${outcome})`;
  switch (outcome) {
    case "RATE_LIMITED": {
      const retryAfterMs = result.rateLimit?.retryAfterMs ?? 0;
      return new RateLimitedError(`${message}; retry after ${retryAfterMs} ms`, { keyInfo: result.key, rateLimit: result.rateLimit });
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
