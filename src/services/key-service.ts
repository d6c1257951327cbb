// The key lifecycle: create, read, list, update, rotate, revoke. Holds the rules; stores hold the data.
import type { Clock } from "../domain/clock.js";
import { LIMITS } from "../domain/limits.js";
import { FluxError, invalidArgument, storeUnavailable } from "../domain/errors.js";
import { API_KEY_PREFIX, type Digester, displayHint, generateSecret, newId } from "../domain/key-material.js";
import { type ApiKeyRecord, keyDigests, type Principal, type RateLimit } from "../domain/types.js";
import type { KeyStore, ScopeStore } from "../store/types.js";
import type { AuditAction } from "../domain/audit.js";
import { canSee, requireManage, requireOrg, visibleOrNotFound } from "./access.js";
import { auditEvent } from "./audit-trail.js";
import { type ChangeFeed, type ChangeReport, keyToken, localChangeFeed, unconfirmed } from "./change-outbox.js";
import type { CreditRefill } from "../domain/credits.js";
import { checkCredits, checkExpiry, checkMetadata, checkName, checkOrgId, checkRateLimit, checkScopes } from "./key-input.js";
import { normaliseCidrs } from "../domain/cidr.js";

/** Credits as a caller sets them: the balance now and the refill; the service stamps when they were set. */
export interface CreditsInput {
  remaining: number;
  refill?: CreditRefill;
}

export interface CreateKeyInput {
  orgId: string;
  name: string;
  scopes: string[];
  expiresAtMs?: number;
  rateLimit?: RateLimit;
  credits?: CreditsInput;
  metadata: Record<string, string>;
  /** CIDRs as the caller wrote them; normalised (or refused) before anything is written. */
  allowedCidrs?: string[];
}

export const UPDATABLE_FIELDS = ["name", "scopes", "rate_limit", "expires_at", "metadata", "enabled", "credits", "allowed_cidrs"] as const;
export type UpdatableField = (typeof UPDATABLE_FIELDS)[number];

export interface KeyPatch {
  name?: string;
  scopes?: string[];
  rateLimit?: RateLimit;
  expiresAtMs?: number;
  metadata?: Record<string, string>;
  enabled?: boolean;
  /** With mask path "credits": sets the balance (and refill); absent clears them. */
  credits?: CreditsInput;
  allowedCidrs?: string[];
}

export interface RotateResult {
  key: ApiKeyRecord;
  secret: string;
  /** Replicas not known to refuse the old secret yet (0 normally). The rotation is saved either way. */
  unconfirmedReplicas: number;
}

export const MAX_GRACE_PERIOD_SECONDS = LIMITS.gracePeriodSecondsMax;
const MAX_PAGE_SIZE = LIMITS.pageSizeMax;

export class KeyService {
  constructor(
    private readonly keys: KeyStore,
    private readonly scopes: ScopeStore,
    private readonly clock: Clock,
    private readonly digest: Digester,
    /** Makes each change's invalidation durable before the write and publishes it after (see change-outbox.ts). */
    private readonly feed: ChangeFeed = localChangeFeed({ invalidate() {}, clear() {} }),
  ) {}

  async create(p: Principal, input: CreateKeyInput): Promise<{ key: ApiKeyRecord; secret: string }> {
    requireManage(p);
    checkOrgId(input.orgId);
    requireOrg(p, input.orgId);
    const name = checkName(input.name);
    const now = this.clock.nowMs();
    checkExpiry(input.expiresAtMs, now);
    checkRateLimit(input.rateLimit);
    checkCredits(input.credits);
    checkMetadata(input.metadata);
    const allowedCidrs = normaliseCidrs(input.allowedCidrs ?? []);
    const scopes = await checkScopes(input.scopes, this.scopes);
    const secret = generateSecret(API_KEY_PREFIX);
    const key: ApiKeyRecord = {
      id: newId("key"),
      orgId: input.orgId,
      name,
      scopes,
      rateLimit: input.rateLimit,
      credits: input.credits && { ...input.credits, setAtMs: now },
      allowedCidrs: allowedCidrs.length ? allowedCidrs : undefined,
      expiresAtMs: input.expiresAtMs,
      metadata: input.metadata,
      enabled: true,
      displayHint: displayHint(secret, API_KEY_PREFIX),
      createdAtMs: now,
      updatedAtMs: now,
      digest: this.digest(secret),
    };
    await this.keys.insert(key, auditEvent(p, { action: "API_KEY_CREATED", targetType: "API_KEY", targetId: key.id, orgId: key.orgId, atMs: now, after: key }));
    this.feed.created([key.digest, keyToken(key.id)]); // no replica waited for: none can have cached a fresh random digest
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
    if (fields.has("credits")) checkCredits(patch.credits);
    if (fields.has("expires_at")) checkExpiry(patch.expiresAtMs, this.clock.nowMs());
    if (fields.has("metadata")) checkMetadata(patch.metadata ?? {});
    const cidrs = fields.has("allowed_cidrs") ? normaliseCidrs(patch.allowedCidrs ?? []) : undefined;
    const scopes = fields.has("scopes") ? await checkScopes(patch.scopes ?? [], this.scopes) : undefined;
    const action = (b: ApiKeyRecord, a: ApiKeyRecord): AuditAction =>
      b.enabled === a.enabled ? "API_KEY_UPDATED" : a.enabled ? "API_KEY_ENABLED" : "API_KEY_DISABLED";
    return this.confirmed(await this.change(p, id, { action, updateMask: mask }, (k, now) => {
      if (name !== undefined) k.name = name;
      if (scopes !== undefined) k.scopes = scopes;
      if (fields.has("rate_limit")) k.rateLimit = patch.rateLimit;
      if (fields.has("expires_at")) k.expiresAtMs = patch.expiresAtMs;
      if (fields.has("metadata")) k.metadata = patch.metadata ?? {};
      if (fields.has("enabled")) k.enabled = patch.enabled ?? false;
      // A new epoch: the ledger replaces the stored balance with this one on its next use (credit-ledger.ts).
      if (fields.has("credits")) k.credits = patch.credits && { ...patch.credits, setAtMs: now };
      if (cidrs?.length) k.allowedCidrs = cidrs;
      else if (cidrs) delete k.allowedCidrs;
    }));
  }

  /** Never loses the new secret: once the rotation is saved, the answer carries it, with the replicas not yet confirmed. */
  async rotate(p: Principal, id: string, gracePeriodSeconds: number): Promise<RotateResult> {
    requireManage(p);
    if (gracePeriodSeconds < 0 || gracePeriodSeconds > MAX_GRACE_PERIOD_SECONDS) {
      throw invalidArgument(`grace_period_seconds must be 0–${MAX_GRACE_PERIOD_SECONDS}`, "grace_period_seconds");
    }
    const secret = generateSecret(API_KEY_PREFIX);
    const { key, report } = await this.change(p, id, { action: "API_KEY_ROTATED" }, (k, now) => {
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
    return { key, secret, unconfirmedReplicas: report.unconfirmedReplicas };
  }

  async revoke(p: Principal, id: string): Promise<ApiKeyRecord> {
    requireManage(p);
    const current = visibleOrNotFound(p, id, await this.keys.get(id));
    if (current.revokedAtMs !== undefined) {
      // A retry: the first attempt may have saved the revocation and failed to publish it. Publish again and wait.
      return this.confirmed({ key: current, report: await (await this.feed.prepare([...keyDigests(current), keyToken(id)])).publish() });
    }
    return this.confirmed(
      await this.change(p, id, { action: "API_KEY_REVOKED" }, (k, now) => {
        k.revokedAtMs = now;
        delete k.previousDigest;
        delete k.previousDigestExpiresAtMs;
      }, true),
    );
  }

  private confirmed({ key, report }: { key: ApiKeyRecord; report: ChangeReport }): ApiKeyRecord {
    if (!report.published || report.unconfirmedReplicas > 0) throw unconfirmed(report);
    return key;
  }

  /** Read-modify-write with an optimistic check on updatedAtMs (no transactions needed), its invalidation made
   * durable before the write (every digest is known beforehand: rotate computes the new one first), and its audit
   * event written with it (only the attempt that wins the optimistic check leaves one). */
  private async change(
    p: Principal,
    id: string,
    audit: { action: AuditAction | ((before: ApiKeyRecord, after: ApiKeyRecord) => AuditAction); updateMask?: string[] },
    apply: (k: ApiKeyRecord, nowMs: number) => void,
    allowRevoked = false,
  ) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = visibleOrNotFound(p, id, await this.keys.get(id));
      if (before.revokedAtMs !== undefined && !allowRevoked) {
        throw new FluxError("KEY_REVOKED", `API key ${JSON.stringify(id)} is revoked and cannot be changed`, { id });
      }
      const after: ApiKeyRecord = { ...before, scopes: [...before.scopes], metadata: { ...before.metadata } };
      const now = Math.max(this.clock.nowMs(), before.updatedAtMs + 1);
      apply(after, now);
      after.updatedAtMs = now;
      const action = typeof audit.action === "function" ? audit.action(before, after) : audit.action;
      const event = auditEvent(p, { action, targetType: "API_KEY", targetId: id, orgId: after.orgId, atMs: now, before, after, updateMask: audit.updateMask });
      // "key:<id>" tells local validators which key to send again (digests alone would not name a rotated-out one).
      const pending = await this.feed.prepare([...new Set([...keyDigests(before), ...keyDigests(after)]), keyToken(id)]);
      // A failed write keeps its outbox entry: the write may have landed, and republishing is harmless.
      if (await this.keys.replace(before, after, event)) return { key: after, report: await pending.publish() };
      await pending.cancel();
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
