// Domain records shared by services and stores. Wire types live in gen/ts; stored documents in each store.
import type { CallInfo } from "./audit.js";
import type { Credits, CreditsState, OrganizationState, PolicyLevel } from "./credits.js";

export interface RateLimit {
  requests: number;
  windowSeconds: number;
}

export interface ApiKeyRecord {
  id: string;
  orgId: string;
  name: string;
  scopes: string[];
  rateLimit?: RateLimit;
  /** A balance validations spend; absent: unmetered. The live balance is the ledger's (services/credit-ledger.ts). */
  credits?: Credits;
  /** Normalised CIDRs (domain/cidr.ts) the end client's address must fall in; absent (never empty) means any. */
  allowedCidrs?: string[];
  expiresAtMs?: number;
  metadata: Record<string, string>;
  enabled: boolean;
  displayHint: string;
  createdAtMs: number;
  updatedAtMs: number;
  revokedAtMs?: number;
  rotatedAtMs?: number;
  /** Digest of the current secret. Never leaves the store/service layer. */
  digest: string;
  /** Digest of the secret replaced by a rotation with a grace period, valid until previousDigestExpiresAtMs. */
  previousDigest?: string;
  previousDigestExpiresAtMs?: number;
}

/** Every digest that currently maps to the key: its secret's and, during a grace period, the previous one's. */
export function keyDigests(k: ApiKeyRecord): string[] {
  return k.previousDigest ? [k.digest, k.previousDigest] : [k.digest];
}

export type KeyState = "ACTIVE" | "DISABLED" | "REVOKED" | "EXPIRED";

export function keyState(k: ApiKeyRecord, nowMs: number): KeyState {
  if (k.revokedAtMs !== undefined) return "REVOKED";
  if (k.expiresAtMs !== undefined && k.expiresAtMs <= nowMs) return "EXPIRED";
  return k.enabled ? "ACTIVE" : "DISABLED";
}

export interface ScopeRecord {
  name: string;
  description: string;
  createdAtMs: number;
}

export interface AdminKeyRecord {
  id: string;
  name: string;
  orgId?: string;
  validateOnly: boolean;
  /** May hold a local validator's session (LocalValidationService); absent (rows from before it): false. */
  localValidation?: boolean;
  displayHint: string;
  digest: string;
  createdAtMs: number;
  revokedAtMs?: number;
}

/** Who is calling: derived from the admin key on every request. */
export interface Principal {
  adminKeyId: string;
  /** The call's request id and address, for the audit log (domain/audit.ts). */
  call?: CallInfo;
  /** Set when the admin key may only see this organisation. */
  orgId?: string;
  validateOnly: boolean;
  /** The admin key's local-validation right (LocalValidationService); the bootstrap key has none. */
  localValidation?: boolean;
}

export const OUTCOMES = [
  "VALID",
  "NOT_FOUND",
  "MALFORMED",
  "EXPIRED",
  "REVOKED",
  "DISABLED",
  "RATE_LIMITED",
  "INSUFFICIENT_SCOPE",
  "USAGE_EXCEEDED",
  "IP_NOT_ALLOWED",
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface RateLimitState {
  limit: number;
  remaining: number;
  resetAtMs: number;
  retryAfterMs: number;
}

export interface ValidationResult {
  outcome: Outcome;
  key?: ApiKeyRecord;
  rateLimit?: RateLimitState;
  missingScopes: string[];
  /** The key's balance after the call (keys with credits). */
  credits?: CreditsState;
  /** The organisation's shared state (organisations with a policy). */
  organization?: OrganizationState;
  /** RATE_LIMITED and USAGE_EXCEEDED: whose policy refused. */
  refusedBy?: PolicyLevel;
}

/** Limits shared by every key of an organisation, on top of each key's own. */
export interface OrgPolicy {
  orgId: string;
  rateLimit?: RateLimit;
  credits?: Credits;
  updatedAtMs: number;
}
