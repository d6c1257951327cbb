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
  | "IP_NOT_ALLOWED";

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
}

export interface UsageBucket {
  startTime: Date | undefined;
  requests: number;
  valid: number;
  rateLimited: number;
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
