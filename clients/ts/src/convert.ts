// Wire messages (gen/ts) → the SDK's value types: Timestamps become Dates, int64 bigints become numbers,
// enums become their names without prefix.
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { type ApiKey as WireApiKey, type Credits as WireCredits, KeyState as WireKeyState, type Scope as WireScope } from "./gen/flux/apikeys/v1/api_key_pb.js";
import type { OrganizationPolicy as WireOrganizationPolicy } from "./gen/flux/apikeys/v1/organization_pb.js";
import type { GetApiKeyUsageResponse, UsageBucket as WireUsageBucket } from "./gen/flux/apikeys/v1/usage_pb.js";
import type { GetOrganizationUsageResponse, KeyUsageSummary as WireKeyUsageSummary } from "./gen/flux/apikeys/v1/organization_pb.js";
import {
  type CreditsState as WireCreditsState,
  type KeyInfo as WireKeyInfo,
  type OrganizationState as WireOrganizationState,
  Outcome as WireOutcome,
  PolicyLevel as WirePolicyLevel,
  type RateLimitState as WireRateLimitState,
  type ValidateApiKeyResponse,
} from "./gen/flux/apikeys/v1/validation_pb.js";
import {
  ApiKey,
  type ApiKeyFields,
  CreatedApiKey,
  type Credits,
  type CreditsState,
  type OrganizationPolicy,
  type OrganizationState,
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
    credits: toCredits(k.credits),
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

export function toCredits(c: WireCredits | undefined): Credits | undefined {
  if (!c) return undefined;
  const r = c.refill;
  if (!r) return { remaining: toCount(c.remaining) };
  const refill: NonNullable<Credits["refill"]> = { amount: toCount(r.amount), lastRefillAt: toDate(r.lastRefillAt) };
  if (r.schedule.case === "intervalSeconds") refill.intervalSeconds = r.schedule.value;
  if (r.schedule.case === "dayOfMonth") refill.dayOfMonth = r.schedule.value;
  return { remaining: toCount(c.remaining), refill };
}

const toCreditsState = (c: WireCreditsState | undefined): CreditsState | undefined =>
  c && { remaining: toCount(c.remaining), nextRefillAt: toDate(c.nextRefillAt) };

const toOrganizationState = (o: WireOrganizationState | undefined): OrganizationState | undefined =>
  o && { rateLimit: toRateLimitState(o.rateLimit), credits: toCreditsState(o.credits) };

export const toOrganizationPolicy = (p: WireOrganizationPolicy | undefined): OrganizationPolicy => {
  const w = required(p, "policy");
  return {
    orgId: w.orgId,
    rateLimit: w.rateLimit ? { requests: w.rateLimit.requests, windowSeconds: w.rateLimit.windowSeconds } : undefined,
    credits: toCredits(w.credits),
    updatedAt: toDate(w.updatedAt),
  };
};

export function toKeyInfo(k: WireKeyInfo, rateLimit: RateLimitState | undefined, res?: ValidateApiKeyResponse): KeyInfo {
  return new KeyInfo({
    id: k.id,
    orgId: k.orgId,
    name: k.name,
    scopes: [...k.scopes],
    metadata: { ...k.metadata },
    expiresAt: toDate(k.expiresAt),
    rateLimit,
    credits: toCreditsState(res?.credits),
    organization: toOrganizationState(res?.organization),
  });
}

export function toValidationResult(res: ValidateApiKeyResponse): ValidationResult {
  const rateLimit = toRateLimitState(res.rateLimit);
  return {
    valid: res.valid,
    outcome: toOutcome(res.outcome),
    key: res.key ? toKeyInfo(res.key, rateLimit, res) : undefined,
    rateLimit,
    missingScopes: [...res.missingScopes],
    credits: toCreditsState(res.credits),
    organization: toOrganizationState(res.organization),
    refusedBy: res.refusedBy === WirePolicyLevel.UNSPECIFIED ? undefined : ((WirePolicyLevel[res.refusedBy] as "KEY" | "ORGANIZATION" | undefined) ?? undefined),
  };
}

const toBucket = (b: WireUsageBucket): UsageBucket => ({
  startTime: toDate(b.startTime),
  requests: toCount(b.requests),
  valid: toCount(b.valid),
  rateLimited: toCount(b.rateLimited),
  usageExceeded: toCount(b.usageExceeded),
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
