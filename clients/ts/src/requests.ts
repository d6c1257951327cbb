// The facade's inputs and their translation into wire requests; update masks are derived from the fields given.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
  CreateApiKeyRequestSchema,
  ListApiKeysRequestSchema,
  UpdateApiKeyRequestSchema,
} from "./gen/flux/apikeys/v1/api_key_service_pb.js";
import { Granularity as WireGranularity, type GetApiKeyUsageRequestSchema } from "./gen/flux/apikeys/v1/usage_pb.js";
import type { GetOrganizationUsageRequestSchema, UpdateOrganizationPolicyRequestSchema } from "./gen/flux/apikeys/v1/organization_pb.js";
import type { Credits, Granularity, RateLimit } from "./types.js";

export interface CreateApiKeyInput {
  /** The organisation the key belongs to. */
  orgId: string;
  /** A human-readable name, 1–200 characters. */
  name: string;
  /** Each must be defined first (`defineScope`). */
  scopes?: string[];
  /** null / absent: no expiry. Must lie in the future. */
  expiresAt?: Date | null;
  /** null / absent: unlimited. */
  rateLimit?: RateLimit | null;
  /** Free-form labels returned on validation (at most 32 entries). */
  metadata?: Record<string, string>;
  /** IPv4/IPv6 CIDRs or addresses (at most 100) the end client must come from; absent or empty: any address. */
  allowedCidrs?: string[];
  /** null / absent: unmetered. A balance validations spend, optionally refilled. */
  credits?: Credits | null;
}

/** Only the fields given (not undefined) change; null clears rateLimit or expiresAt. */
export interface UpdateApiKeyInput {
  name?: string;
  scopes?: string[];
  rateLimit?: RateLimit | null;
  expiresAt?: Date | null;
  metadata?: Record<string, string>;
  enabled?: boolean;
  /** Replaces the allowlist; [] removes it. */
  allowedCidrs?: string[];
  /** Sets the balance (and refill) anew; null makes the key unmetered. */
  credits?: Credits | null;
}

/** The organisation's shared limits to set: a field given (null clears it) changes, an absent one stays. */
export interface OrganizationPolicyInput {
  rateLimit?: RateLimit | null;
  credits?: Credits | null;
}

export interface ListApiKeysInput {
  /** Only this organisation's keys; all visible keys when absent. */
  orgId?: string;
  /** 1–1000, default 50. */
  pageSize?: number;
  /** `nextPageToken` of the previous page. */
  pageToken?: string;
  includeRevoked?: boolean;
}

export interface ValidateOptions {
  /** Scopes the key must all carry; any missing rejects with InsufficientScopeError. */
  requiredScopes?: string[];
  /** The end client's IPv4 or IPv6 address; a key with allowed CIDRs refuses it (IP_NOT_ALLOWED) outside them or absent. */
  clientIp?: string;
  /** Credits this call spends (0–1,000,000; default 1). 0 reads the balance without spending. */
  cost?: number;
}

export interface RotateOptions {
  /** Keeps the old secret valid this many seconds (default 0: it stops at once; max 604800). */
  gracePeriodSeconds?: number;
}

export interface UsageOptions {
  /** Bucket size of the series; DAY by default. */
  granularity?: Granularity;
  /** Start of the series; 24 hours (HOUR) or 30 days (DAY) ago by default. */
  seriesStart?: Date;
  /** Window of `unusedScopes` in days, 1–365 (default 30). */
  unusedScopeDays?: number;
}

export interface OrganizationUsageOptions {
  /** Bucket size of the series; DAY by default. */
  granularity?: Granularity;
  /** Start of the series and totals; 24 hours (HOUR) or 30 days (DAY) ago by default. */
  seriesStart?: Date;
  /** Keys per top list, 1–100 (default 10). */
  topKeys?: number;
}

const timestamp = (d: Date | null | undefined) => (d ? timestampFromDate(d) : undefined);

export function createRequest(input: CreateApiKeyInput): MessageInitShape<typeof CreateApiKeyRequestSchema> {
  return {
    orgId: input.orgId,
    name: input.name,
    scopes: input.scopes ?? [],
    expiresAt: timestamp(input.expiresAt),
    rateLimit: input.rateLimit ?? undefined,
    metadata: input.metadata ?? {},
    allowedCidrs: input.allowedCidrs ?? [],
    credits: creditsRequest(input.credits),
  };
}

/** The wire form of a balance: uint64s as bigint, the refill schedule as its oneof. */
export function creditsRequest(c: Credits | null | undefined) {
  if (!c) return undefined;
  const r = c.refill;
  const schedule =
    r?.dayOfMonth !== undefined ? { case: "dayOfMonth" as const, value: r.dayOfMonth } : r?.intervalSeconds !== undefined ? { case: "intervalSeconds" as const, value: r.intervalSeconds } : { case: undefined };
  return { remaining: BigInt(c.remaining), refill: r && { amount: BigInt(r.amount), schedule } };
}

export function organizationPolicyRequest(orgId: string, input: OrganizationPolicyInput): MessageInitShape<typeof UpdateOrganizationPolicyRequestSchema> {
  const paths = [...(input.rateLimit !== undefined ? ["rate_limit"] : []), ...(input.credits !== undefined ? ["credits"] : [])];
  return { policy: { orgId, rateLimit: input.rateLimit ?? undefined, credits: creditsRequest(input.credits) }, updateMask: { paths } };
}

// Facade field → update_mask path (the proto's snake_case names).
const MASK_PATH: Record<keyof UpdateApiKeyInput, string> = {
  name: "name",
  scopes: "scopes",
  rateLimit: "rate_limit",
  expiresAt: "expires_at",
  metadata: "metadata",
  enabled: "enabled",
  allowedCidrs: "allowed_cidrs",
  credits: "credits",
};

export function updateRequest(id: string, input: UpdateApiKeyInput): MessageInitShape<typeof UpdateApiKeyRequestSchema> {
  const fields = (Object.keys(MASK_PATH) as (keyof UpdateApiKeyInput)[]).filter((f) => input[f] !== undefined);
  return {
    apiKey: {
      id,
      name: input.name,
      scopes: input.scopes,
      rateLimit: input.rateLimit ?? undefined,
      expiresAt: timestamp(input.expiresAt),
      metadata: input.metadata,
      enabled: input.enabled,
      allowedCidrs: input.allowedCidrs,
      credits: creditsRequest(input.credits),
    },
    updateMask: { paths: fields.map((f) => MASK_PATH[f]) },
  };
}

export function listRequest(input: ListApiKeysInput = {}): MessageInitShape<typeof ListApiKeysRequestSchema> {
  return {
    orgId: input.orgId ?? "",
    pageSize: input.pageSize ?? 0,
    pageToken: input.pageToken ?? "",
    includeRevoked: input.includeRevoked ?? false,
  };
}

export function usageRequest(id: string, options: UsageOptions = {}): MessageInitShape<typeof GetApiKeyUsageRequestSchema> {
  return {
    id,
    granularity: options.granularity ? WireGranularity[options.granularity] : WireGranularity.UNSPECIFIED,
    seriesStart: timestamp(options.seriesStart),
    unusedScopeDays: options.unusedScopeDays ?? 0,
  };
}

export function organizationUsageRequest(orgId: string, options: OrganizationUsageOptions = {}): MessageInitShape<typeof GetOrganizationUsageRequestSchema> {
  return {
    orgId,
    granularity: options.granularity ? WireGranularity[options.granularity] : WireGranularity.UNSPECIFIED,
    seriesStart: timestamp(options.seriesStart),
    topKeys: options.topKeys ?? 0,
  };
}
