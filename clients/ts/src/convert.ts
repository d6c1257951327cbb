// Wire messages (gen/ts) → the SDK's value types: Timestamps become Dates, int64 bigints become numbers,
// enums become their names without prefix.
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { type ApiKey as WireApiKey, KeyState as WireKeyState, type Scope as WireScope } from "./gen/flux/apikeys/v1/api_key_pb.js";
import type { GetApiKeyUsageResponse, UsageBucket as WireUsageBucket } from "./gen/flux/apikeys/v1/usage_pb.js";
import type { GetOrganizationUsageResponse, KeyUsageSummary as WireKeyUsageSummary } from "./gen/flux/apikeys/v1/organization_pb.js";
import {
  type KeyInfo as WireKeyInfo,
  Outcome as WireOutcome,
  type RateLimitState as WireRateLimitState,
  type ValidateApiKeyResponse,
} from "./gen/flux/apikeys/v1/validation_pb.js";
import {
  ApiKey,
  type ApiKeyFields,
  CreatedApiKey,
  RotatedApiKey,
  KeyInfo,
  type KeyState,
  type KeyUsageSummary,
  type OrganizationUsage,
  type Outcome,
  type RateLimitState,
  type Scope,
  type Usage,
  type UsageBucket,
  type ValidationResult,
} from "./types.js";

export const toDate = (t: Timestamp | undefined): Date | undefined => (t ? timestampDate(t) : undefined);

/** int64 counts arrive as bigint; any realistic count is far below 2^53. */
export const toCount = (n: bigint | number): number => Number(n);

export function toOutcome(o: WireOutcome): Outcome {
  return (WireOutcome[o] as Outcome | undefined) ?? "UNSPECIFIED";
}

export function toKeyState(s: WireKeyState): KeyState {
  return (WireKeyState[s] as KeyState | undefined) ?? "UNSPECIFIED";
}

function apiKeyFields(k: WireApiKey): ApiKeyFields {
  return {
    id: k.id,
    orgId: k.orgId,
    name: k.name,
    scopes: [...k.scopes],
    rateLimit: k.rateLimit ? { requests: k.rateLimit.requests, windowSeconds: k.rateLimit.windowSeconds } : undefined,
    expiresAt: toDate(k.expiresAt),
    metadata: { ...k.metadata },
    allowedCidrs: [...k.allowedCidrs],
    enabled: k.enabled,
    state: toKeyState(k.state),
    displayHint: k.displayHint,
    createdAt: toDate(k.createdAt),
    updatedAt: toDate(k.updatedAt),
    revokedAt: toDate(k.revokedAt),
    rotatedAt: toDate(k.rotatedAt),
  };
}

/** Responses always carry the key; a missing one means a broken server, not an empty answer. */
function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new TypeError(`Flux answered without ${what}`);
  return value;
}

export const toApiKey = (k: WireApiKey | undefined): ApiKey => new ApiKey(apiKeyFields(required(k, "api_key")));

export const toCreatedApiKey = (k: WireApiKey | undefined, secret: string): CreatedApiKey =>
  new CreatedApiKey(apiKeyFields(required(k, "api_key")), secret);

export const toRotatedApiKey = (k: WireApiKey | undefined, secret: string, unconfirmedReplicas: number): RotatedApiKey =>
  new RotatedApiKey(apiKeyFields(required(k, "api_key")), secret, unconfirmedReplicas);

export function toRateLimitState(r: WireRateLimitState | undefined): RateLimitState | undefined {
  if (!r) return undefined;
  return { limit: r.limit, remaining: r.remaining, resetAt: toDate(r.resetAt), retryAfterMs: r.retryAfterMs };
}

export function toKeyInfo(k: WireKeyInfo, rateLimit: RateLimitState | undefined): KeyInfo {
  return new KeyInfo({
    id: k.id,
    orgId: k.orgId,
    name: k.name,
    scopes: [...k.scopes],
    metadata: { ...k.metadata },
    expiresAt: toDate(k.expiresAt),
    rateLimit,
  });
}

export function toValidationResult(res: ValidateApiKeyResponse): ValidationResult {
  const rateLimit = toRateLimitState(res.rateLimit);
  return {
    valid: res.valid,
    outcome: toOutcome(res.outcome),
    key: res.key ? toKeyInfo(res.key, rateLimit) : undefined,
    rateLimit,
    missingScopes: [...res.missingScopes],
  };
}

const toBucket = (b: WireUsageBucket): UsageBucket => ({
  startTime: toDate(b.startTime),
  requests: toCount(b.requests),
  valid: toCount(b.valid),
  rateLimited: toCount(b.rateLimited),
  otherErrors: toCount(b.otherErrors),
});

export function toUsage(res: GetApiKeyUsageResponse): Usage {
  const outcomes: Usage["outcomes"] = {};
  for (const o of res.outcomes) outcomes[toOutcome(o.outcome)] = toCount(o.count);
  return {
    id: res.id,
    periodStart: toDate(res.periodStart),
    requestsCurrentPeriod: toCount(res.requestsCurrentPeriod),
    errorsCurrentPeriod: toCount(res.errorsCurrentPeriod),
    errorRate: res.errorRate,
    lastUsedAt: toDate(res.lastUsedAt),
    outcomes,
    series: res.series.map(toBucket),
    unusedScopes: [...res.unusedScopes],
    scopeUses: res.scopeUses.map((s) => ({ scope: s.scope, lastRequiredAt: toDate(s.lastRequiredAt) })),
  };
}

const toKeySummary = (k: WireKeyUsageSummary): KeyUsageSummary => ({
  keyId: k.keyId,
  name: k.name,
  requests: toCount(k.requests),
  errors: toCount(k.errors),
  errorRate: k.errorRate,
});

export function toOrganizationUsage(res: GetOrganizationUsageResponse): OrganizationUsage {
  const outcomes: OrganizationUsage["outcomes"] = {};
  for (const o of res.outcomes) outcomes[toOutcome(o.outcome)] = toCount(o.count);
  return {
    orgId: res.orgId,
    requests: toCount(res.requests),
    errors: toCount(res.errors),
    errorRate: res.errorRate,
    outcomes,
    series: res.series.map(toBucket),
    topKeysByRequests: res.topKeysByRequests.map(toKeySummary),
    topKeysByErrorRate: res.topKeysByErrorRate.map(toKeySummary),
  };
}

export const toScope = (s: WireScope | undefined): Scope => {
  const scope = required(s, "scope");
  return { name: scope.name, description: scope.description, createdAt: toDate(scope.createdAt) };
};
