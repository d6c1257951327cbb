// Domain records ↔ wire messages. The only place both kinds of types meet.
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import type { AdminKeyRecord, ApiKeyRecord, Outcome as DomainOutcome, RateLimit, ScopeRecord, ValidationResult } from "../domain/types.js";
import { keyState } from "../domain/types.js";
import type { AuditEvent as DomainAuditEvent, AuditTargetType as DomainTargetType } from "../domain/audit.js";
import type { KeyUsage } from "../services/usage-service.js";
import { AuditAction, type AuditEvent, AuditEventSchema, AuditTargetType } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { type AdminKey, AdminKeySchema, type ApiKey, ApiKeySchema, KeyState, type RateLimit as WireRateLimit, type Scope, ScopeSchema } from "../../gen/ts/flux/apikeys/v1/api_key_pb.js";
import { type GetApiKeyUsageResponse, GetApiKeyUsageResponseSchema } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import { type KeyInfo, KeyInfoSchema, Outcome, PolicyLevel, type RateLimitState, type ValidateApiKeyResponse } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";

const ts = (ms: number | undefined): Timestamp | undefined => (ms === undefined ? undefined : timestampFromMs(ms));
export const msOf = (t: Timestamp | undefined): number | undefined => (t ? timestampMs(t) : undefined);

export const rateLimitFromWire = (r: WireRateLimit | undefined): RateLimit | undefined =>
  r ? { requests: r.requests, windowSeconds: r.windowSeconds } : undefined;

export function apiKeyToWire(k: ApiKeyRecord, nowMs: number): ApiKey {
  return create(ApiKeySchema, {
    id: k.id,
    orgId: k.orgId,
    name: k.name,
    scopes: k.scopes,
    rateLimit: k.rateLimit,
    expiresAt: ts(k.expiresAtMs),
    metadata: k.metadata,
    enabled: k.enabled,
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
    refusedBy: PolicyLevel.UNSPECIFIED,
  };
  if (r.key) m.key = keyInfoOf(r.key);
  const l = r.rateLimit;
  if (l) {
    const rateLimit: RateLimitState = { $typeName: "flux.apikeys.v1.RateLimitState", limit: l.limit, remaining: l.remaining, retryAfterMs: l.retryAfterMs };
    // As timestampFromMs(l.resetAtMs) builds it.
    if (l.resetAtMs !== undefined) rateLimit.resetAt = { $typeName: "google.protobuf.Timestamp", seconds: BigInt(Math.floor(l.resetAtMs / 1000)), nanos: (l.resetAtMs % 1000) * 1_000_000 };
    m.rateLimit = rateLimit;
  }
  return m;
}

export function usageToWire(u: KeyUsage): GetApiKeyUsageResponse {
  return create(GetApiKeyUsageResponseSchema, {
    id: u.id,
    periodStart: ts(u.periodStartMs),
    requestsCurrentPeriod: BigInt(u.requests),
    errorsCurrentPeriod: BigInt(u.errors),
    errorRate: u.errorRate,
    lastUsedAt: ts(u.lastUsedAtMs),
    outcomes: u.outcomes.map((o) => ({ outcome: Outcome[o.outcome], count: BigInt(o.count) })),
    series: u.series.map((b) => ({
      startTime: ts(b.startMs),
      requests: BigInt(b.requests),
      valid: BigInt(b.valid),
      rateLimited: BigInt(b.rateLimited),
      otherErrors: BigInt(b.otherErrors),
    })),
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
