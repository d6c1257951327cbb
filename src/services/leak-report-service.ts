// Leak reports from secret scanners (GitHub's secret-scanning partner program and the like): which reported tokens
// are live keys, and what happens to them. Signatures are checked before this (leak-signature.ts); here every
// token is looked up by digest only, and a live key gets its API_KEY_LEAK_REPORTED audit event, then is revoked or
// disabled through the key service (so every live replica refuses it before the answer) or only reported. Admin keys
// (fluxadm_…) are looked up too, for reporters whose pattern covers them: a live one is revoked.
import { hash } from "node:crypto";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { AuditEvent } from "../domain/audit.js";
import { newEventId } from "../domain/audit.js";
import type { Clock } from "../domain/clock.js";
import { storeUnavailable } from "../domain/errors.js";
import { ADMIN_KEY_PREFIX, API_KEY_PREFIX, type Digester, isWellFormed } from "../domain/key-material.js";
import { LIMITS } from "../domain/limits.js";
import type { ApiKeyRecord, Principal } from "../domain/types.js";
import type { AdminKeyStore, KeyStore } from "../store/types.js";
import type { AdminKeyService } from "./admin-key-service.js";
import type { KeyService } from "./key-service.js";

export type LeakAction = "revoke" | "disable" | "report";
export type LeakLabel = "true_positive" | "false_positive";

/** One reported token, as GitHub sends it. */
export interface LeakEntry {
  token: string;
  type: string;
  url: string;
  source: string;
}

/** GitHub's answer shape: the token's SHA-256 (hex), never which key or organisation it belonged to. */
export interface LeakVerdict {
  token_hash: string;
  token_type: string;
  label: LeakLabel;
}

export class InvalidLeakReport extends Error {}

/** Parses and bounds a report (a JSON array of {token, type, url, source}) before anything is looked up. Unknown
 * fields are ignored: reporters add fields over time, and refusing them would drop real leaks. */
export function parseLeakReport(body: Uint8Array): LeakEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw new InvalidLeakReport("the body is not JSON (UTF-8)");
  }
  if (!Array.isArray(doc)) throw new InvalidLeakReport("the body must be a JSON array of {token, type, url, source}");
  if (doc.length > LIMITS.leakReportTokens) throw new InvalidLeakReport(`at most ${LIMITS.leakReportTokens} tokens per report`);
  return doc.map((e: Record<string, unknown>, i) => {
    if (typeof e !== "object" || e === null || Array.isArray(e)) throw new InvalidLeakReport(`entry ${i} is not an object`);
    const str = (field: string, max: number, required: boolean): string => {
      const v = e[field];
      if (v === undefined || v === null) {
        if (required) throw new InvalidLeakReport(`entry ${i} lacks "${field}"`);
        return "";
      }
      if (typeof v !== "string") throw new InvalidLeakReport(`entry ${i}: "${field}" must be a string`);
      if (v.length > max) throw new InvalidLeakReport(`entry ${i}: "${field}" is longer than ${max} characters`);
      return v;
    };
    // A token too long to be ours is answered false_positive (like ValidateApiKey's MALFORMED), not refused.
    return { token: str("token", LIMITS.leakReportBytes, true), type: str("type", LIMITS.leakFieldLength, true), url: str("url", LIMITS.leakUrlLength, false), source: str("source", LIMITS.leakFieldLength, false) };
  });
}

export interface LeakReportOptions {
  action: LeakAction;
  /** Reports per reporter address per minute; 0: unlimited. */
  reportsPerMinute: number;
  onToken?: (label: LeakLabel) => void;
  /** A live key was found and handled (ids only: never the token). */
  onLeak?: (info: { kind: "api_key" | "admin_key"; keyId: string; orgId?: string; action: LeakAction; confirmed: boolean; requestId?: string }) => void;
  /** Set: leaked admin keys are looked up and revoked too. */
  adminKeys?: { store: Pick<AdminKeyStore, "findByDigest">; service: Pick<AdminKeyService, "revoke"> };
}

/** Who sent the report: the public key that signed it and where it came from. */
export interface Reporter {
  keyId: string;
  address?: string;
  requestId?: string;
}

const CONCURRENCY = 4;

export class LeakReportService {
  private readonly limiter?: RateLimiterMemory;

  constructor(
    private readonly keys: KeyStore,
    private readonly keyService: KeyService,
    private readonly digest: Digester,
    private readonly clock: Clock,
    private readonly opts: LeakReportOptions,
  ) {
    if (opts.reportsPerMinute > 0) this.limiter = new RateLimiterMemory({ points: opts.reportsPerMinute, duration: 60 });
  }

  /** Counts a report from this address; returns the ms to wait when it is one too many (checked before the body is read). */
  async admit(address: string | undefined): Promise<number | undefined> {
    if (!this.limiter) return undefined;
    try {
      await this.limiter.consume(address ?? "unknown");
      return undefined;
    } catch (err) {
      if (err instanceof RateLimiterRes) return Math.max(1, err.msBeforeNext);
      throw err;
    }
  }

  /** One verdict per entry, in order. A token reported twice in one report is handled once. */
  async report(reporter: Reporter, entries: LeakEntry[]): Promise<LeakVerdict[]> {
    const actor: Principal = {
      adminKeyId: `leak-report:${reporter.keyId}`.slice(0, LIMITS.idLength),
      validateOnly: false,
      call: { requestId: reporter.requestId, callerAddress: reporter.address },
    };
    const first = new Map<string, LeakEntry>();
    for (const e of entries) if (!first.has(e.token)) first.set(e.token, e);
    const unique = [...first.values()];
    const labels = new Map<string, LeakLabel>();
    // After a failure no worker starts another token, and the answer waits for those in flight: nothing the report
    // does happens after its error is answered (a retry then finds what this one left).
    let next = 0;
    let failure: { err: unknown } | undefined;
    const worker = async () => {
      while (!failure && next < unique.length) {
        const e = unique[next++]!;
        try {
          labels.set(e.token, await this.handle(actor, e));
        } catch (err) {
          failure ??= { err };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, unique.length) }, worker));
    if (failure) throw failure.err;
    return entries.map((e) => ({ token_hash: hash("sha256", e.token, "hex"), token_type: e.type, label: labels.get(e.token)! }));
  }

  private async handle(actor: Principal, e: LeakEntry): Promise<LeakLabel> {
    const label = e.token.startsWith(ADMIN_KEY_PREFIX) ? await this.handleAdminKey(actor, e.token) : await this.handleApiKey(actor, e);
    this.opts.onToken?.(label);
    return label;
  }

  private async handleApiKey(actor: Principal, e: LeakEntry): Promise<LeakLabel> {
    const key = await this.liveKey(e.token);
    if (!key) return "false_positive";
    await this.recordLeak(actor, key.id, e);
    const confirmed = await this.act(actor, key.id);
    this.opts.onLeak?.({ kind: "api_key", keyId: key.id, orgId: key.orgId, action: this.opts.action, confirmed, requestId: actor.call?.requestId });
    return "true_positive";
  }

  /** An admin key has no disabled state and acts on every key it may manage: a live one is revoked unless the
   * setting is "report". Its ADMIN_KEY_REVOKED event names the reporter as the actor; "report" only logs. */
  private async handleAdminKey(actor: Principal, token: string): Promise<LeakLabel> {
    const admin = this.opts.adminKeys;
    if (!admin || token.length > LIMITS.keyLength || !isWellFormed(token, ADMIN_KEY_PREFIX)) return "false_positive";
    const d = this.digest(token);
    const key = await admin.store.findByDigest(d);
    if (!key || key.revokedAtMs !== undefined) return "false_positive";
    let confirmed = true;
    if (this.opts.action !== "report") {
      try {
        await admin.service.revoke(actor, key.id);
      } catch (err) {
        if ((await admin.store.findByDigest(d))?.revokedAtMs === undefined) throw err;
        confirmed = false; // saved, not confirmed everywhere: see act()
      }
    }
    this.opts.onLeak?.({ kind: "admin_key", keyId: key.id, orgId: key.orgId, action: this.opts.action === "report" ? "report" : "revoke", confirmed, requestId: actor.call?.requestId });
    return "true_positive";
  }

  /** The key this token is a live secret of: its current secret, or a rotated-out one still in its grace period, of
   * a key not revoked. Disabled and expired keys count: UpdateApiKey can bring either back. */
  private async liveKey(token: string): Promise<ApiKeyRecord | undefined> {
    if (token.length > LIMITS.keyLength || !isWellFormed(token, API_KEY_PREFIX)) return undefined;
    const d = this.digest(token);
    const key = await this.keys.findByDigest(d);
    if (!key || key.revokedAtMs !== undefined) return undefined;
    const inGrace = key.previousDigest === d && (key.previousDigestExpiresAtMs ?? 0) > this.clock.nowMs();
    return key.digest === d || inGrace ? key : undefined;
  }

  /** The report's own event, written with a touch of the key (updatedAtMs) as every audited change is. First, so a
   * failure after it leaves the key live and a retried report finds it again; a replay records the report again. */
  private async recordLeak(actor: Principal, id: string, e: LeakEntry): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await this.keys.get(id);
      if (!before) return;
      const now = Math.max(this.clock.nowMs(), before.updatedAtMs + 1);
      const after: ApiKeyRecord = { ...before, updatedAtMs: now };
      const event: AuditEvent = {
        id: newEventId(now),
        atMs: now,
        action: "API_KEY_LEAK_REPORTED",
        orgId: before.orgId,
        targetType: "API_KEY",
        targetId: id,
        actorId: actor.adminKeyId,
        before: {},
        after: { type: e.type, url: e.url, source: e.source, action: this.opts.action },
      };
      if (actor.call?.requestId) event.requestId = actor.call.requestId;
      if (actor.call?.callerAddress) event.callerAddress = actor.call.callerAddress;
      if (await this.keys.replace(before, after, event)) return;
    }
    throw storeUnavailable(new Error(`key ${id} kept changing under concurrent updates`));
  }

  /** Revokes or disables the key as configured; true when every live replica confirmed. A change that is saved but
   * not confirmed still counts (the replica that did not confirm stops trusting its cache within 2 s): answering an
   * error would make the reporter retry and hear false_positive for a key that was live. */
  private async act(actor: Principal, id: string): Promise<boolean> {
    const action = this.opts.action;
    if (action === "report") return true;
    try {
      if (action === "revoke") await this.keyService.revoke(actor, id);
      else if ((await this.keys.get(id))?.enabled) await this.keyService.update(actor, id, ["enabled"], { enabled: false });
      return true;
    } catch (err) {
      const now = await this.keys.get(id);
      const done = now && (now.revokedAtMs !== undefined || (action === "disable" && !now.enabled));
      if (done) return false;
      throw err;
    }
  }
}
