// Domain records ↔ wire messages. The only place both kinds of types meet.
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { AdminKeyRecord, ApiKeyRecord, Outcome as DomainOutcome, RateLimit, RateLimitState as DomainRateLimitState, ScopeRecord, ValidationResult } from "../domain/types.js";
import { keyState } from "../domain/types.js";
import type { AuditEvent as DomainAuditEvent, AuditTargetType as DomainTargetType } from "../domain/audit.js";
import type { KeyUsage, UsageBucket } from "../services/usage-service.js";
import type { KeySummary, OrganizationUsage } from "../services/organization-usage-service.js";
import { type GetOrganizationUsageResponse, GetOrganizationUsageResponseSchema } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import { AuditAction, type AuditEvent, AuditEventSchema, AuditTargetType } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { type AdminKey, AdminKeySchema, type ApiKey, ApiKeySchema, type Credits as WireCredits, KeyState, type RateLimit as WireRateLimit, type Scope, ScopeSchema } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import type { Credits, CreditsState, OrganizationState } from "../domain/credits.js";
import { OrganizationPolicySchema } from "../../gen/ts/flux/apikeys/v1/organization_pb.js";
import type { CreditsInput } from "../services/key-service.js";
import { type GetApiKeyUsageResponse, GetApiKeyUsageResponseSchema } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import {
  type CreditsState as WireCreditsState,
  type KeyInfo,
  KeyInfoSchema,
  type OrganizationState as WireOrganizationState,
  Outcome,
  PolicyLevel,
  type RateLimitState,
  type ValidateApiKeyResponse,
} from "../../gen/ts/flux/apikeys/v1/validation_pb.js";

const ts = (ms: number | undefined): Timestamp | undefined => (ms === undefined ? undefined : timestampFromMs(ms));
export const msOf = (t: Timestamp | undefined): number | undefined => (t ? timestampMs(t) : undefined);

export const rateLimitFromWire = (r: WireRateLimit | undefined): RateLimit | undefined =>
  r ? { requests: r.requests, windowSeconds: r.windowSeconds } : undefined;

/** Credits as the caller sent them; numbers past 2^53 stay out of range (and are refused by checkCredits). */
export function creditsFromWire(c: WireCredits | undefined): CreditsInput | undefined {
  if (!c) return undefined;
  const out: CreditsInput = { remaining: Number(c.remaining) };
  const r = c.refill;
  if (r) {
    out.refill = { amount: Number(r.amount) };
    if (r.schedule.case === "intervalSeconds") out.refill.intervalSeconds = r.schedule.value;
    else if (r.schedule.case === "dayOfMonth") out.refill.dayOfMonth = r.schedule.value;
  }
  return out;
}

/** A policy's credits with the live balance (`remaining`, from the ledger) and when it was last refilled or set. */
export function creditsToWire(c: Credits | undefined, live?: { remaining: number; periodStartMs?: number }) {
  if (!c) return undefined;
  const r = c.refill;
  return {
    remaining: BigInt(live?.remaining ?? c.remaining),
    refill: r && {
      amount: BigInt(r.amount),
      schedule: r.intervalSeconds ? { case: "intervalSeconds" as const, value: r.intervalSeconds } : { case: "dayOfMonth" as const, value: r.dayOfMonth ?? 1 },
      lastRefillAt: ts(live?.periodStartMs ?? c.setAtMs),
    },
  };
}

/** An organisation's policy as answered; an organisation without one is just its id. */
export function orgPolicyToWire(p: { orgId: string; rateLimit?: RateLimit; credits?: Credits; updatedAtMs?: number }, liveCredits?: { remaining: number; periodStartMs?: number }) {
  return create(OrganizationPolicySchema, {
    orgId: p.orgId,
    rateLimit: p.rateLimit,
    credits: creditsToWire(p.credits, liveCredits),
    updatedAt: ts(p.updatedAtMs),
  });
}

export function apiKeyToWire(k: ApiKeyRecord, nowMs: number, liveCredits?: { remaining: number; periodStartMs?: number }): ApiKey {
  return create(ApiKeySchema, {
    id: k.id,
    orgId: k.orgId,
    name: k.name,
    scopes: k.scopes,
    rateLimit: k.rateLimit,
    credits: creditsToWire(k.credits, liveCredits),
    expiresAt: ts(k.expiresAtMs),
    metadata: k.metadata,
    enabled: k.enabled,
    allowedCidrs: k.allowedCidrs ?? [],
    state: KeyState[keyState(k, nowMs)],
    displayHint: k.displayHint,
    createdAt: ts(k.createdAtMs),
    updatedAt: ts(k.updatedAtMs),
    revokedAt: ts(k.revokedAtMs),
    rotatedAt: ts(k.rotatedAtMs),
  });
}

export const scopeToWire = (s: ScopeRecord): Scope =>
  create(ScopeSchema, { name: s.name, description: s.description, createdAt: ts(s.createdAtMs) });

export const adminKeyToWire = (k: AdminKeyRecord): AdminKey =>
  create(AdminKeySchema, {
    id: k.id,
    name: k.name,
    orgId: k.orgId ?? "",
    validateOnly: k.validateOnly,
    localValidation: k.localValidation === true,
    displayHint: k.displayHint,
    createdAt: ts(k.createdAtMs),
    revokedAt: ts(k.revokedAtMs),
  });

export const outcomeToWire = (o: DomainOutcome): Outcome => Outcome[o];

/**
 * Key records are never changed in place (a change writes a new record), so a key's KeyInfo is built once per
 * record: the hot codec (hot-codec.ts) caches its bytes and JSON by this object.
 */
const keyInfos = new WeakMap<ApiKeyRecord, KeyInfo>();
function keyInfoOf(k: ApiKeyRecord): KeyInfo {
  let info = keyInfos.get(k);
  if (!info) {
    info = create(KeyInfoSchema, { id: k.id, orgId: k.orgId, name: k.name, scopes: k.scopes, metadata: k.metadata, expiresAt: ts(k.expiresAtMs) });
    keyInfos.set(k, info);
  }
  return info;
}

/** The hot path's answer, built as protobuf-es's create() would build it, without walking the schema per call. */
export function validationToWire(r: ValidationResult): ValidateApiKeyResponse {
  const m: ValidateApiKeyResponse = {
    $typeName: "flux.apikeys.v1.ValidateApiKeyResponse",
    valid: r.outcome === "VALID",
    outcome: Outcome[r.outcome],
    missingScopes: r.missingScopes,
    refusedBy: r.refusedBy ? PolicyLevel[r.refusedBy] : PolicyLevel.UNSPECIFIED,
  };
  if (r.key) m.key = keyInfoOf(r.key);
  if (r.rateLimit) m.rateLimit = rateStateToWire(r.rateLimit);
  if (r.credits) m.credits = creditsStateToWire(r.credits);
  if (r.organization) m.organization = orgStateToWire(r.organization);
  return m;
}

function rateStateToWire(l: DomainRateLimitState): RateLimitState {
  const rateLimit: RateLimitState = { $typeName: "flux.apikeys.v1.RateLimitState", limit: l.limit, remaining: l.remaining, retryAfterMs: l.retryAfterMs };
  if (l.resetAtMs !== undefined) rateLimit.resetAt = wireTs(l.resetAtMs);
  return rateLimit;
}

function creditsStateToWire(c: CreditsState): WireCreditsState {
  const w: WireCreditsState = { $typeName: "flux.apikeys.v1.CreditsState", remaining: BigInt(c.remaining) };
  if (c.nextRefillAtMs !== undefined) w.nextRefillAt = wireTs(c.nextRefillAtMs);
  return w;
}

function orgStateToWire(o: OrganizationState): WireOrganizationState {
  const w: WireOrganizationState = { $typeName: "flux.apikeys.v1.OrganizationState" };
  if (o.rateLimit) w.rateLimit = rateStateToWire(o.rateLimit);
  if (o.credits) w.credits = creditsStateToWire(o.credits);
  return w;
}

/** As timestampFromMs(ms) builds it. */
const wireTs = (ms: number): Timestamp => ({ $typeName: "google.protobuf.Timestamp", seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 });

export function usageToWire(u: KeyUsage): GetApiKeyUsageResponse {
  return create(GetApiKeyUsageResponseSchema, {
    id: u.id,
    periodStart: ts(u.periodStartMs),
    requestsCurrentPeriod: BigInt(u.requests),
    errorsCurrentPeriod: BigInt(u.errors),
    errorRate: u.errorRate,
    lastUsedAt: ts(u.lastUsedAtMs),
    outcomes: u.outcomes.map((o) => ({ outcome: Outcome[o.outcome], count: BigInt(o.count) })),
    series: u.series.map(bucketToWire),
    unusedScopes: u.unusedScopes,
    scopeUses: u.scopeUses.map((s) => ({ scope: s.scope, lastRequiredAt: ts(s.lastRequiredAtMs) })),
  });
}

const bucketToWire = (b: UsageBucket) => ({
  startTime: ts(b.startMs),
  requests: BigInt(b.requests),
  valid: BigInt(b.valid),
  rateLimited: BigInt(b.rateLimited),
  otherErrors: BigInt(b.otherErrors),
  usageExceeded: BigInt(b.usageExceeded),
});

const keySummaryToWire = (s: KeySummary) => ({ keyId: s.keyId, name: s.name, requests: BigInt(s.requests), errors: BigInt(s.errors), errorRate: s.errorRate });

export function organizationUsageToWire(u: OrganizationUsage): GetOrganizationUsageResponse {
  return create(GetOrganizationUsageResponseSchema, {
    orgId: u.orgId,
    requests: BigInt(u.requests),
    errors: BigInt(u.errors),
    errorRate: u.errorRate,
    outcomes: u.outcomes.map((o) => ({ outcome: Outcome[o.outcome], count: BigInt(o.count) })),
    series: u.series.map(bucketToWire),
    topKeysByRequests: u.topByRequests.map(keySummaryToWire),
    topKeysByErrorRate: u.topByErrorRate.map(keySummaryToWire),
  });
}

export const auditEventToWire = (e: DomainAuditEvent): AuditEvent =>
  create(AuditEventSchema, {
    id: e.id,
    time: ts(e.atMs),
    action: AuditAction[e.action],
    orgId: e.orgId ?? "",
    targetType: AuditTargetType[e.targetType],
    targetId: e.targetId,
    actorAdminKeyId: e.actorId,
    requestId: e.requestId ?? "",
    callerAddress: e.callerAddress ?? "",
    updateMask: e.updateMask ?? [],
    before: e.before,
    after: e.after,
  });

export const targetTypeFromWire = (t: AuditTargetType): DomainTargetType | undefined =>
  t === AuditTargetType.UNSPECIFIED ? undefined : (AuditTargetType[t] as DomainTargetType);
