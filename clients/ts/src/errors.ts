// The SDK's error hierarchy. RPC failures become these through error-mapping.ts (one function);
// validation refusals become InvalidKeyError and its subclasses through validation.ts.
import type { Code } from "@connectrpc/connect";
import type { CreditsState, KeyInfo, Outcome, PolicyLevel, RateLimitState } from "./types.js";

export interface FluxErrorInit {
  /** The gRPC / Connect status code; undefined for validation refusals, which are answers, not RPC errors. */
  code?: Code;
  /** Stable machine-readable reason, e.g. "KEY_NOT_FOUND"; for validation refusals, the outcome. */
  reason: string;
  metadata?: Record<string, string>;
  /** Set when the server said a retry after this many ms may help. */
  retryAfterMs?: number;
  cause?: unknown;
}

/** Base of every error the SDK throws. Branch on the class, `reason` or `code`, never on `message`. */
export class FluxError extends Error {
  readonly code: Code | undefined;
  readonly reason: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, init: FluxErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code;
    this.reason = init.reason;
    this.metadata = { ...init.metadata };
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** The admin key is missing or invalid (UNAUTHENTICATED: ADMIN_KEY_MISSING, ADMIN_KEY_INVALID). */
export class AuthenticationError extends FluxError {}

/** The admin key may not make this call (PERMISSION_DENIED), e.g. a validate-only or other-organisation key. */
export class PermissionDeniedError extends FluxError {}

/** The request is malformed (INVALID_ARGUMENT). `metadata.field` names the field when known. */
export class InvalidArgumentError extends FluxError {}

/** The request names scopes that were never defined (reason UNKNOWN_SCOPE). */
export class UnknownScopeError extends InvalidArgumentError {
  /** The undefined scope names. */
  get scopes(): string[] {
    return (this.metadata.scopes ?? "").split(",").filter((s) => s !== "");
  }
}

/** No such key, scope or admin key (NOT_FOUND: KEY_NOT_FOUND, SCOPE_NOT_FOUND, ADMIN_KEY_NOT_FOUND). */
export class NotFoundError extends FluxError {}

/** The resource's state forbids the change (FAILED_PRECONDITION: KEY_REVOKED, SCOPE_IN_USE). */
export class FailedPreconditionError extends FluxError {}

/** Too many failed admin-key attempts came from this address: wait `retryAfterMs` (RESOURCE_EXHAUSTED, AUTH_THROTTLED). */
export class ThrottledError extends FluxError {}

/** Flux or its store cannot answer now, or the server is unreachable; retrying later may succeed (UNAVAILABLE). */
export class UnavailableError extends FluxError {}

/** The server failed unexpectedly (INTERNAL). */
export class InternalError extends FluxError {}

/** `validate` refused the key; `outcome` says why: NOT_FOUND, MALFORMED, EXPIRED, REVOKED, DISABLED, … */
export class InvalidKeyError extends FluxError {
  readonly outcome: Outcome;
  /** The key's details when the secret matched a key (undefined for NOT_FOUND and MALFORMED). */
  readonly keyInfo: KeyInfo | undefined;

  constructor(message: string, init: { outcome: Outcome; keyInfo?: KeyInfo; retryAfterMs?: number }) {
    super(message, { reason: init.outcome, retryAfterMs: init.retryAfterMs });
    this.outcome = init.outcome;
    this.keyInfo = init.keyInfo;
  }
}

/** The key lacks some of the scopes `validate` was asked to require. */
export class InsufficientScopeError extends InvalidKeyError {
  readonly missingScopes: string[];

  constructor(message: string, init: { keyInfo?: KeyInfo; missingScopes: string[] }) {
    super(message, { outcome: "INSUFFICIENT_SCOPE", keyInfo: init.keyInfo });
    this.missingScopes = init.missingScopes;
  }
}

/**
 * A rate limit is exhausted — the key's, or its organisation's shared one (`refusedBy`): retry after `retryAfterMs`;
 * the window refills at `resetAt`.
 */
export class RateLimitedError extends InvalidKeyError {
  declare readonly retryAfterMs: number;
  readonly resetAt: Date | undefined;
  /** The window that refused: the key's, or the organisation's when `refusedBy` is "ORGANIZATION". */
  readonly rateLimit: RateLimitState | undefined;
  readonly refusedBy: PolicyLevel;

  constructor(message: string, init: { keyInfo?: KeyInfo; rateLimit?: RateLimitState; refusedBy?: PolicyLevel }) {
    const retryAfterMs = init.rateLimit?.retryAfterMs ?? 0;
    super(message, { outcome: "RATE_LIMITED", keyInfo: init.keyInfo, retryAfterMs });
    this.resetAt = init.rateLimit?.resetAt;
    this.rateLimit = init.rateLimit;
    this.refusedBy = init.refusedBy ?? "KEY";
  }
}

/**
 * The credit balance cannot pay the call's cost — the key's, or its organisation's shared one (`refusedBy`). Nothing
 * was spent. `credits` is the refusing balance; it refills at `credits.nextRefillAt` when it has a refill.
 */
export class UsageExceededError extends InvalidKeyError {
  readonly refusedBy: PolicyLevel;
  readonly credits: CreditsState | undefined;

  constructor(message: string, init: { keyInfo?: KeyInfo; refusedBy?: PolicyLevel; credits?: CreditsState }) {
    super(message, { outcome: "USAGE_EXCEEDED", keyInfo: init.keyInfo });
    this.refusedBy = init.refusedBy ?? "KEY";
    this.credits = init.credits;
  }
}
