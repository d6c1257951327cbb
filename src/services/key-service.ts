// The key lifecycle: create, read, list, update, rotate, revoke. Holds the rules; stores hold the data.
import type { Clock } from "../domain/clock.js";
import { FluxError, invalidArgument, storeUnavailable } from "../domain/errors.js";
import { API_KEY_PREFIX, type Digester, displayHint, generateSecret, newId } from "../domain/key-material.js";
import type { ApiKeyRecord, Principal, RateLimit } from "../domain/types.js";
import type { KeyStore, ScopeStore } from "../store/types.js";
import { canSee, requireManage, requireOrg, visibleOrNotFound } from "./access.js";
import { checkExpiry, checkMetadata, checkName, checkOrgId, checkRateLimit, checkScopes } from "./key-input.js";

export interface CreateKeyInput {
  orgId: string;
  name: string;
  scopes: string[];
  expiresAtMs?: number;
  rateLimit?: RateLimit;
  metadata: Record<string, string>;
}

export const UPDATABLE_FIELDS = ["name", "scopes", "rate_limit", "expires_at", "metadata", "enabled"] as const;
export type UpdatableField = (typeof UPDATABLE_FIELDS)[number];

export interface KeyPatch {
  name?: string;
  scopes?: string[];
  rateLimit?: RateLimit;
  expiresAtMs?: number;
  metadata?: Record<string, string>;
  enabled?: boolean;
}

/** Told about every change so caches can drop the key's old digests. */
export type KeyChangeListener = (before: ApiKeyRecord | undefined, after: ApiKeyRecord) => void | Promise<void>;

export const MAX_GRACE_PERIOD_SECONDS = 604_800;
const MAX_PAGE_SIZE = 1000;

export class KeyService {
  constructor(
    private readonly keys: KeyStore,
    private readonly scopes: ScopeStore,
    private readonly clock: Clock,
    private readonly digest: Digester,
    private readonly onChange: KeyChangeListener = () => {},
  ) {}

  async create(p: Principal, input: CreateKeyInput): Promise<{ key: ApiKeyRecord; secret: string }> {
    requireManage(p);
    checkOrgId(input.orgId);
    requireOrg(p, input.orgId);
    const name = checkName(input.name);
    const now = this.clock.nowMs();
    checkExpiry(input.expiresAtMs, now);
    checkRateLimit(input.rateLimit);
    checkMetadata(input.metadata);
    const scopes = await checkScopes(input.scopes, this.scopes);
    const secret = generateSecret(API_KEY_PREFIX);
    const key: ApiKeyRecord = {
      id: newId("key"),
      orgId: input.orgId,
      name,
      scopes,
      rateLimit: input.rateLimit,
      expiresAtMs: input.expiresAtMs,
      metadata: input.metadata,
      enabled: true,
      displayHint: displayHint(secret, API_KEY_PREFIX),
      createdAtMs: now,
      updatedAtMs: now,
      digest: this.digest(secret),
    };
    await this.keys.insert(key);
    await this.onChange(undefined, key);
    return { key, secret };
  }

  async get(p: Principal, id: string): Promise<ApiKeyRecord> {
    requireManage(p);
    return visibleOrNotFound(p, id, await this.keys.get(id));
  }

  async list(p: Principal, q: { orgId: string; pageSize: number; pageToken: string; includeRevoked: boolean }) {
    requireManage(p);
    if (q.pageSize > MAX_PAGE_SIZE) throw invalidArgument(`page_size must be at most ${MAX_PAGE_SIZE}`, "page_size");
    const limit = q.pageSize || 50;
    // An org-limited admin key listing another org sees what it would see for an org without keys.
    if (p.orgId !== undefined && q.orgId && q.orgId !== p.orgId) return { keys: [], nextPageToken: "" };
    const orgId = q.orgId || p.orgId;
    const after = q.pageToken ? decodePageToken(q.pageToken) : undefined;
    const keys = await this.keys.list({ orgId, includeRevoked: q.includeRevoked, limit: limit + 1, after });
    const page = keys.slice(0, limit);
    const last = page[page.length - 1];
    const nextPageToken = keys.length > limit && last ? encodePageToken(last) : "";
    return { keys: page.filter((k) => canSee(p, k)), nextPageToken };
  }

  async update(p: Principal, id: string, mask: string[], patch: KeyPatch): Promise<ApiKeyRecord> {
    requireManage(p);
    if (mask.length === 0) throw invalidArgument("update_mask must name at least one field", "update_mask");
    const unknown = mask.filter((f) => !(UPDATABLE_FIELDS as readonly string[]).includes(f));
    if (unknown.length) {
      throw invalidArgument(`update_mask has fields that cannot be updated: ${unknown.join(", ")} (allowed: ${UPDATABLE_FIELDS.join(", ")})`, "update_mask");
    }
    const fields = new Set(mask as UpdatableField[]);
    const name = fields.has("name") ? checkName(patch.name ?? "") : undefined;
    if (fields.has("rate_limit")) checkRateLimit(patch.rateLimit);
    if (fields.has("expires_at")) checkExpiry(patch.expiresAtMs, this.clock.nowMs());
    if (fields.has("metadata")) checkMetadata(patch.metadata ?? {});
    const scopes = fields.has("scopes") ? await checkScopes(patch.scopes ?? [], this.scopes) : undefined;
    return this.change(p, id, (k) => {
      if (name !== undefined) k.name = name;
      if (scopes !== undefined) k.scopes = scopes;
      if (fields.has("rate_limit")) k.rateLimit = patch.rateLimit;
      if (fields.has("expires_at")) k.expiresAtMs = patch.expiresAtMs;
      if (fields.has("metadata")) k.metadata = patch.metadata ?? {};
      if (fields.has("enabled")) k.enabled = patch.enabled ?? false;
    });
  }

  async rotate(p: Principal, id: string, gracePeriodSeconds: number): Promise<{ key: ApiKeyRecord; secret: string }> {
    requireManage(p);
    if (gracePeriodSeconds < 0 || gracePeriodSeconds > MAX_GRACE_PERIOD_SECONDS) {
      throw invalidArgument(`grace_period_seconds must be 0–${MAX_GRACE_PERIOD_SECONDS}`, "grace_period_seconds");
    }
    const secret = generateSecret(API_KEY_PREFIX);
    const key = await this.change(p, id, (k, now) => {
      if (gracePeriodSeconds > 0) {
        k.previousDigest = k.digest;
        k.previousDigestExpiresAtMs = now + gracePeriodSeconds * 1000;
      } else {
        delete k.previousDigest;
        delete k.previousDigestExpiresAtMs;
      }
      k.digest = this.digest(secret);
      k.displayHint = displayHint(secret, API_KEY_PREFIX);
      k.rotatedAtMs = now;
    });
    return { key, secret };
  }

  async revoke(p: Principal, id: string): Promise<ApiKeyRecord> {
    requireManage(p);
    const current = visibleOrNotFound(p, id, await this.keys.get(id));
    if (current.revokedAtMs !== undefined) return current; // revoking twice is harmless
    return this.change(p, id, (k, now) => {
      k.revokedAtMs = now;
      delete k.previousDigest;
      delete k.previousDigestExpiresAtMs;
    }, true);
  }

  /** Read-modify-write with an optimistic check on updatedAtMs (no transactions needed). */
  private async change(p: Principal, id: string, apply: (k: ApiKeyRecord, nowMs: number) => void, allowRevoked = false) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = visibleOrNotFound(p, id, await this.keys.get(id));
      if (before.revokedAtMs !== undefined && !allowRevoked) {
        throw new FluxError("KEY_REVOKED", `API key ${JSON.stringify(id)} is revoked and cannot be changed`, { id });
      }
      const after: ApiKeyRecord = { ...before, scopes: [...before.scopes], metadata: { ...before.metadata } };
      const now = Math.max(this.clock.nowMs(), before.updatedAtMs + 1);
      apply(after, now);
      after.updatedAtMs = now;
      if (await this.keys.replace(before, after)) {
        await this.onChange(before, after);
        return after;
      }
    }
    throw storeUnavailable(new Error(`key ${id} kept changing under concurrent updates`));
  }
}

function encodePageToken(k: ApiKeyRecord): string {
  return Buffer.from(JSON.stringify([k.createdAtMs, k.id])).toString("base64url");
}

function decodePageToken(token: string): { createdAtMs: number; id: string } {
  try {
    const [createdAtMs, id] = JSON.parse(Buffer.from(token, "base64url").toString());
    if (typeof createdAtMs === "number" && typeof id === "string") return { createdAtMs, id };
  } catch {
    // fall through
  }
  throw invalidArgument("page_token is not one this service issued", "page_token");
}
