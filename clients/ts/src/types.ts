// The SDK's own value types: Dates for timestamps, numbers for counts, enum names without their proto prefix.
// Wire types (gen/ts) never leave the SDK except through `flux.raw`; convert.ts maps between the two.

/** Why a key was accepted or refused (proto enum Outcome without its OUTCOME_ prefix). */
export type Outcome =
  | "UNSPECIFIED"
  | "VALID"
  | "NOT_FOUND"
  | "MALFORMED"
  | "EXPIRED"
  | "REVOKED"
  | "DISABLED"
  | "RATE_LIMITED"
  | "INSUFFICIENT_SCOPE"
  | "IP_NOT_ALLOWED"
  | "USAGE_EXCEEDED";

/** Lifecycle state of a key (proto enum KeyState without its KEY_STATE_ prefix). */
export type KeyState = "UNSPECIFIED" | "ACTIVE" | "DISABLED" | "REVOKED" | "EXPIRED";

/** Bucket size of a usage series. */
export type Granularity = "HOUR" | "DAY";

/** A fixed-window budget: `requests` admitted per `windowSeconds`. */
export interface RateLimit {
  requests: number;
  windowSeconds: number;
}

/** A key's budget in its current window, as reported by validation. */
export interface RateLimitState {
  limit: number;
  remaining: number;
  /** When the window ends and the budget refills. */
  resetAt: Date | undefined;
  /** Milliseconds to wait before retrying; 0 unless the key was rate limited. */
  retryAfterMs: number;
}

/** How a credit balance refills: back to `amount` every `intervalSeconds`, or on `dayOfMonth` (1–31, 00:00 UTC). */
export interface CreditRefill {
  amount: number;
  intervalSeconds?: number;
  /** 31 means the last day of shorter months. */
  dayOfMonth?: number;
  /** When the balance was last refilled (or set); output only. */
  lastRefillAt?: Date;
}

/** A credit balance (0–10^15) that validations spend (`cost`, default 1), with an optional refill. */
export interface Credits {
  remaining: number;
  refill?: CreditRefill;
}

/** A balance after a validation. */
export interface CreditsState {
  remaining: number;
  /** Absent without refill. */
  nextRefillAt: Date | undefined;
}

/** Whose policy refused a validation (RATE_LIMITED and USAGE_EXCEEDED): the key's own or its organisation's. */
export type PolicyLevel = "KEY" | "ORGANIZATION";

/** The organisation's shared window and balance after a validation (absent when it has no policy). */
export interface OrganizationState {
  rateLimit: RateLimitState | undefined;
  credits: CreditsState | undefined;
}

/** Limits all of an organisation's keys share, on top of each key's own. */
export interface OrganizationPolicy {
  orgId: string;
  rateLimit: RateLimit | undefined;
  /** The shared balance as it is now. */
  credits: Credits | undefined;
  /** Absent if never set. */
  updatedAt: Date | undefined;
}

/** Fields every key carries, as stored by Flux. Never the secret. */
export interface ApiKeyFields {
  id: string;
  orgId: string;
  name: string;
  scopes: string[];
  /** Absent: unlimited. */
  rateLimit: RateLimit | undefined;
  /** Absent: never expires. */
  expiresAt: Date | undefined;
  metadata: Record<string, string>;
  /** CIDRs the end client's address must fall in (normalised, e.g. "203.0.113.0/24"); empty: any address. */
  allowedCidrs: string[];
  /** Absent: unmetered. `remaining` is the balance now. */
  credits?: Credits;
  enabled: boolean;
  state: KeyState;
  /** Tells keys apart without revealing them, e.g. "flux_…a1B2". */
  displayHint: string;
  createdAt: Date | undefined;
  updatedAt: Date | undefined;
  revokedAt: Date | undefined;
  rotatedAt: Date | undefined;
}

/** An API key. `hasScope` lives on the prototype, so JSON and spreads carry only the data. */
export class ApiKey implements ApiKeyFields {
  declare readonly id: string;
  declare readonly orgId: string;
  declare readonly name: string;
  declare readonly scopes: string[];
  declare readonly rateLimit: RateLimit | undefined;
  declare readonly expiresAt: Date | undefined;
  declare readonly metadata: Record<string, string>;
  declare readonly allowedCidrs: string[];
  declare readonly credits: Credits | undefined;
  declare readonly enabled: boolean;
  declare readonly state: KeyState;
  declare readonly displayHint: string;
  declare readonly createdAt: Date | undefined;
  declare readonly updatedAt: Date | undefined;
  declare readonly revokedAt: Date | undefined;
  declare readonly rotatedAt: Date | undefined;

  constructor(fields: ApiKeyFields) {
    Object.assign(this, fields);
  }

  hasScope(scope: string): boolean {
    return this.scopes.includes(scope);
  }
}

/** A key with its secret: returned only by create and rotate. Store the secret now; Flux never shows it again. */
export class CreatedApiKey extends ApiKey {
  declare readonly secret: string;

  constructor(fields: ApiKeyFields, secret: string) {
    super(fields);
    this.secret = secret;
  }
}

/** What `rotate` resolves to: the key with its new secret, and whether every replica has confirmed the rotation. */
export class RotatedApiKey extends CreatedApiKey {
  /**
   * How many server replicas (MongoDB with several Flux servers) had not confirmed the rotation when it answered;
   * always 0 on a single server. 0: no replica accepts the old secret any more (past the grace period). Otherwise the
   * rotation is saved all the same and this is still the only time the new secret is shown: keep it, and do not
   * retry (that would rotate again); those replicas stop accepting the old secret on their own within seconds.
   */
  declare readonly unconfirmedReplicas: number;

  constructor(fields: ApiKeyFields, secret: string, unconfirmedReplicas: number) {
    super(fields, secret);
    this.unconfirmedReplicas = unconfirmedReplicas;
  }
}

/** Fields a validating service learns about a key. */
export interface KeyInfoFields {
  id: string;
  orgId: string;
  name: string;
  scopes: string[];
  metadata: Record<string, string>;
  /** Absent: never expires. */
  expiresAt: Date | undefined;
  /** Absent when the key has no rate limit. */
  rateLimit: RateLimitState | undefined;
  /** The key's balance after this validation; absent when it has no credits. */
  credits?: CreditsState;
  /** The organisation's shared state after this validation; absent when it has no policy. */
  organization?: OrganizationState;
}

/** What `validate` resolves to. */
export class KeyInfo implements KeyInfoFields {
  declare readonly id: string;
  declare readonly orgId: string;
  declare readonly name: string;
  declare readonly scopes: string[];
  declare readonly metadata: Record<string, string>;
  declare readonly expiresAt: Date | undefined;
  declare readonly rateLimit: RateLimitState | undefined;
  declare readonly credits: CreditsState | undefined;
  declare readonly organization: OrganizationState | undefined;

  constructor(fields: KeyInfoFields) {
    Object.assign(this, fields);
  }

  hasScope(scope: string): boolean {
    return this.scopes.includes(scope);
  }
}

/** The whole answer of ValidateApiKey, for callers who want outcomes instead of errors (`check`). */
export interface ValidationResult {
  valid: boolean;
  outcome: Outcome;
  /** Present when the secret matched a key (absent for NOT_FOUND and MALFORMED). */
  key: KeyInfo | undefined;
  rateLimit: RateLimitState | undefined;
  /** Required scopes the key lacks (INSUFFICIENT_SCOPE only). */
  missingScopes: string[];
  /** The key's balance after the call (keys with credits). */
  credits?: CreditsState;
  /** The organisation's shared state (organisations with a policy). */
  organization?: OrganizationState;
  /** RATE_LIMITED and USAGE_EXCEEDED: whose policy refused. */
  refusedBy?: PolicyLevel;
}

export interface UsageBucket {
  startTime: Date | undefined;
  requests: number;
  valid: number;
  rateLimited: number;
  /** USAGE_EXCEEDED (not counted in otherErrors). */
  usageExceeded: number;
  otherErrors: number;
}

/** A key's validations in the current calendar month (UTC), and a time series. */
export interface Usage {
  id: string;
  periodStart: Date | undefined;
  requestsCurrentPeriod: number;
  errorsCurrentPeriod: number;
  /** errors / requests in the current period; 0 when there were none. */
  errorRate: number;
  /** The latest VALID validation; absent if never used. */
  lastUsedAt: Date | undefined;
  /** Count per outcome in the current period, e.g. { VALID: 3, RATE_LIMITED: 1 }. */
  outcomes: Partial<Record<Outcome, number>>;
  series: UsageBucket[];
  /** The key's scopes no validation required in the last `unusedScopeDays` (default 30): candidates to remove. */
  unusedScopes: string[];
  /** Each of the key's scopes with the latest validation that required it (undefined: never recorded). */
  scopeUses: { scope: string; lastRequiredAt: Date | undefined }[];
}

/** One key's traffic in an organisation's usage. */
export interface KeyUsageSummary {
  keyId: string;
  name: string;
  requests: number;
  errors: number;
  errorRate: number;
}

/** All of an organisation's keys' validations since `seriesStart`, and its top keys. */
export interface OrganizationUsage {
  orgId: string;
  requests: number;
  errors: number;
  /** errors / requests; 0 when there were none. */
  errorRate: number;
  /** Count per outcome, e.g. { VALID: 30, IP_NOT_ALLOWED: 2 }. */
  outcomes: Partial<Record<Outcome, number>>;
  series: UsageBucket[];
  /** Most validations first. */
  topKeysByRequests: KeyUsageSummary[];
  /** Highest error rate first, among keys with at least 10 validations. */
  topKeysByErrorRate: KeyUsageSummary[];
}

export interface Scope {
  name: string;
  description: string;
  createdAt: Date | undefined;
}

/** One page of `list`; pass `nextPageToken` back as `pageToken` for the next one. */
export interface ApiKeyPage {
  apiKeys: ApiKey[];
  /** Empty on the last page. */
  nextPageToken: string;
}
