// Local validators' sessions in this process (LocalValidationService, proto header rules 1–3): opens a session with
// a snapshot, fans every key and organisation change out to the sessions that can see it, in order, and holds the
// change until each has acknowledged it, or was cut off and is certainly stale. Holds no key state: a session costs
// its queued messages (a snapshot is read one chunk at a time, the next only once the stream took the last).
import { createHmac, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { FluxError } from "../domain/errors.js";
import type { ApiKeyRecord, Principal } from "../domain/types.js";
import type { KeyStore, OrgPolicyStore } from "../store/types.js";
import { ADMIN_KEY_TOKEN, KEY_TOKEN } from "./change-outbox.js";
import { REAL_TIME, type SyncTime } from "./replica-sync.js";
import { type LocalOrg, sessionEnded, type ValidatorEvent, type ValidatorMessage, ValidatorSession } from "./validator-session.js";

export interface ValidatorSettings {
  heartbeatMs: number;
  staleAfterMs: number;
  ackTimeoutMs: number;
  maxSessions: number;
}

export const DEFAULT_VALIDATOR_SETTINGS: ValidatorSettings = { heartbeatMs: 250, staleAfterMs: 1500, ackTimeoutMs: 1000, maxSessions: 1000 };

/** What `limits` (leases, usage) needs of a session. */
export interface ValidatorSessionView {
  id: string;
  orgId?: string;
  adminKeyId: string;
}

export interface ValidatorHubHooks {
  /** False while this replica cannot vouch for its own feed (MongoDB: see ReplicaSync.isFresh): acknowledgements fail. */
  isFresh?: () => boolean;
  onSessions?: (n: number) => void;
  onCutOff?: (reason: CutOffReason) => void;
  /** Seconds a change waited for this process's sessions. */
  onWait?: (seconds: number) => void;
  /** A session ended (any reason): its leases and report memory can go (services/validator-usage.ts). */
  onEnded?: (sessionId: string) => void;
}

export type CutOffReason = "ack_timeout" | "admin_key_revoked" | "closed" | "client_gone" | "feed_gap" | "server_stopping" | "queue_full" | "session_limit";

export const SNAPSHOT_CHUNK = 1000;
/** A session whose stream leaves this many messages untaken is cut off: a reader that stopped must not grow memory. */
const MAX_QUEUED = 10_000;

/** ValidatorSession.pepper_id: lets a validator check it holds the server's pepper without learning it. */
export const pepperIdOf = (pepper: string) => createHmac("sha256", pepper).update("flux-pepper-id").digest("base64url");

export class ValidatorHub {
  /** Set when FLUX_KEY_PEPPER is: digests are HMAC-SHA-256 with it. */
  pepperId?: string;
  private readonly sessions = new Map<string, ValidatorSession>();
  /** Changes are read and pushed one delivery at a time, so every session sees them in the order they arrived. */
  private order: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly keys: Pick<KeyStore, "get" | "list">,
    private readonly orgs: Pick<OrgPolicyStore, "get" | "list">,
    private readonly log: Logger,
    readonly settings: ValidatorSettings = DEFAULT_VALIDATOR_SETTINGS,
    private readonly hooks: ValidatorHubHooks = {},
    private readonly time: SyncTime = REAL_TIME,
  ) {}

  start(): void {
    const tickMs = Math.max(10, Math.min(50, Math.floor(this.settings.heartbeatMs / 4)));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  /** Ends every session (the server is stopping): streams end now instead of holding the drain. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const s of [...this.sessions.values()]) this.cutOff(s, "server_stopping", "the server is stopping");
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Opens a session: its messages (session, snapshot, then changes and heartbeats) until it ends. */
  subscribe(p: Principal, validatorName: string, signal?: AbortSignal): { session: ValidatorSession; messages: AsyncGenerator<ValidatorMessage> } {
    requireLocalValidation(p);
    if (this.sessions.size >= this.settings.maxSessions) {
      // Past the bound a validator answers over the network and retries with backoff, as after any ended session.
      this.hooks.onCutOff?.("session_limit");
      throw sessionEnded(`this server holds its maximum of ${this.settings.maxSessions} validator sessions`);
    }
    const s = new ValidatorSession(`vs_${randomBytes(12).toString("base64url")}`, p.adminKeyId, p.orgId, validatorName, this.time.now());
    this.sessions.set(s.id, s);
    this.hooks.onSessions?.(this.sessions.size);
    s.push({ kind: "session" }, false);
    this.log.info({ session: s.id, validator: s.name, adminKeyId: s.adminKeyId, orgId: s.orgId }, "validator session opened");
    void this.sendSnapshot(s).catch((err) => this.cutOff(s, "feed_gap", "the snapshot could not be read", err));
    const hub = this;
    const messages = (async function* () {
      try {
        yield* s.messages(() => hub.time.now(), signal);
      } finally {
        // The client went away (or the stream ended): nobody can acknowledge for it any more.
        hub.cutOff(s, "client_gone", "the stream ended");
      }
    })();
    return { session: s, messages };
  }

  /** The session `sessionId` of this principal's admin key; VALIDATOR_SESSION_ENDED when unknown here or ended. */
  session(sessionId: string, p: Principal): ValidatorSessionView {
    return this.live(sessionId, p);
  }

  /** AcknowledgeKeyChanges: records the validator's applied seq; answers the seq it must have applied to be fresh. */
  async acknowledge(sessionId: string, p: Principal, appliedSeq: number): Promise<number> {
    this.live(sessionId, p);
    // A replica that cannot vouch for its feed must not extend its validators' freshness (see ReplicaSync): wait for
    // its next poll, at most as long as the answer could still make the validator fresh.
    const fresh = this.hooks.isFresh;
    if (fresh && !fresh()) {
      const deadline = this.time.now() + this.settings.staleAfterMs;
      while (!fresh() && this.time.now() < deadline) await this.time.sleep(10);
      if (!fresh()) throw new FluxError("STORE_UNAVAILABLE", "this server's change feed is behind; validate over the network until it recovers", {}, 1000);
    }
    // Checked again after the wait: the session may have ended meanwhile.
    return this.live(sessionId, p).acknowledge(appliedSeq, this.time.now());
  }

  /** ReportLocalUsage with closing = true: the session ends (its validator stops answering locally). */
  onClosing(sessionId: string): void {
    const s = this.sessions.get(sessionId);
    if (s) this.cutOff(s, "closed", "the validator closed it");
  }

  /**
   * Delivers a change (the feed's tokens: digests, "key:<id>", "org:<id>", "adm:<id>") to every session that can see
   * it; resolves once each acknowledged it or was cut off and is stale. Never rejects.
   */
  deliver(tokens: string[]): Promise<void> | undefined {
    const keyIds = tokens.filter((t) => t.startsWith(KEY_TOKEN)).map((t) => t.slice(KEY_TOKEN.length));
    const orgIds = tokens.filter((t) => t.startsWith("org:")).map((t) => t.slice(4));
    const adminIds = tokens.filter((t) => t.startsWith(ADMIN_KEY_TOKEN)).map((t) => t.slice(ADMIN_KEY_TOKEN.length));
    // No session here: nothing to tell or wait for (a session opened later reads the change in its snapshot).
    if (this.sessions.size === 0 || keyIds.length + orgIds.length + adminIds.length === 0) return undefined;
    const started = this.time.now();
    const pushed = (this.order = this.order.then(async () => {
      const waits: Promise<void>[] = [];
      for (const id of adminIds) {
        for (const s of this.sessions.values()) if (s.adminKeyId === id) waits.push(this.cutOff(s, "admin_key_revoked", "its admin key was revoked"));
      }
      const events: { orgId: string; event: ValidatorEvent }[] = [];
      try {
        for (const id of keyIds) {
          const key = await this.keys.get(id);
          if (key) events.push({ orgId: key.orgId, event: { kind: "key", key } });
        }
        for (const id of orgIds) events.push({ orgId: id, event: { kind: "org", org: await this.orgState(id) } });
      } catch (err) {
        // The change cannot be told: every session that might see it must resync rather than miss it.
        for (const s of this.sessions.values()) waits.push(this.cutOff(s, "feed_gap", "a change could not be read", err));
        return waits;
      }
      const now = this.time.now();
      for (const s of this.sessions.values()) {
        for (const e of events) {
          const wait = s.canSee(e.orgId) ? s.change(e.event, now) : undefined;
          if (wait) waits.push(wait);
        }
      }
      return waits;
    }));
    return pushed.then(
      (waits) => Promise.all(waits as Promise<void>[]).then(() => this.hooks.onWait?.((this.time.now() - started) / 1000)),
      () => undefined,
    );
  }

  /** Something changed that cannot be named (a gap in the change log): every session resyncs. */
  resetAll(why: string): Promise<void> {
    return Promise.all([...this.sessions.values()].map((s) => this.cutOff(s, "feed_gap", why))).then(() => undefined);
  }

  private live(sessionId: string, p: Principal): ValidatorSession {
    requireLocalValidation(p);
    const s = this.sessions.get(sessionId);
    if (!s || s.adminKeyId !== p.adminKeyId) throw sessionEnded("no such session on this server");
    if (s.ended) throw s.ended;
    return s;
  }

  /** Sends the snapshot one chunk at a time, reading the next only once the stream took the previous. */
  private async sendSnapshot(s: ValidatorSession): Promise<void> {
    const orgs = await this.remoteOrgs(s.orgId);
    let after: { createdAtMs: number; id: string } | undefined;
    for (;;) {
      const page: ApiKeyRecord[] = await this.keys.list({ orgId: s.orgId, includeRevoked: true, limit: SNAPSHOT_CHUNK, after });
      if (s.ended) return;
      const last = page[page.length - 1];
      const complete = page.length < SNAPSHOT_CHUNK;
      s.push({ kind: "snapshot", keys: page, orgs: complete ? orgs : [], complete }, complete);
      if (complete) return s.snapshotDone();
      after = { createdAtMs: last!.createdAtMs, id: last!.id };
      await s.drained(1); // the next chunk is read once the stream took all but one message
    }
  }

  private async remoteOrgs(orgId: string | undefined): Promise<LocalOrg[]> {
    const policies = orgId === undefined ? await this.orgs.list() : [await this.orgs.get(orgId)].filter((p) => p !== undefined);
    return policies.filter((p) => p.rateLimit || p.credits).map((p) => ({ orgId: p.orgId, validateRemotely: true }));
  }

  private async orgState(orgId: string): Promise<LocalOrg> {
    const p = await this.orgs.get(orgId);
    return { orgId, validateRemotely: !!(p?.rateLimit || p?.credits) };
  }

  /** Heartbeats where the stream was silent, and cut-offs of sessions that did not acknowledge in time. The timer
   * calls it (tests call it directly). */
  tick(): void {
    const now = this.time.now();
    const { heartbeatMs, ackTimeoutMs, staleAfterMs } = this.settings;
    for (const s of this.sessions.values()) {
      const oldest = s.oldestUnacknowledgedAt();
      if (oldest !== undefined && now - oldest > ackTimeoutMs) {
        this.cutOff(s, "ack_timeout", `no acknowledgement within ${ackTimeoutMs} ms`);
      } else if (s.snapshotTakenAt !== undefined && now - Math.max(s.snapshotTakenAt, s.lastAckAnswerAt) > ackTimeoutMs + staleAfterMs) {
        // It stopped acknowledging (a hung process keeps its connection): stale anyway, so end it and free the slot.
        this.cutOff(s, "ack_timeout", `no acknowledgement for ${ackTimeoutMs + staleAfterMs} ms`);
      } else if (s.queued > MAX_QUEUED) {
        this.cutOff(s, "queue_full", "its stream stopped taking messages");
      } else if (!s.snapshotting && s.queued === 0 && now - s.lastTakenAt >= heartbeatMs * 0.9) {
        s.push({ kind: "heartbeat" }, false);
      }
    }
  }

  private cutOff(s: ValidatorSession, reason: CutOffReason, why: string, cause?: unknown): Promise<void> {
    if (!s.ended) {
      s.end(sessionEnded(why), this.time.now(), this.settings.staleAfterMs, (ms) => this.time.sleep(ms));
      this.sessions.delete(s.id);
      this.hooks.onSessions?.(this.sessions.size);
      this.hooks.onEnded?.(s.id);
      if (reason !== "client_gone" && reason !== "closed" && reason !== "server_stopping") this.hooks.onCutOff?.(reason);
      const entry = { session: s.id, validator: s.name, reason, ...(cause ? { cause: (cause as Error)?.name } : {}) };
      if (reason === "ack_timeout" || reason === "feed_gap" || reason === "queue_full") this.log.warn(entry, "validator session cut off");
      else this.log.info(entry, "validator session ended");
    }
    return s.stale!;
  }
}

export function requireLocalValidation(p: Principal): void {
  if (!p.localValidation) {
    throw new FluxError("PERMISSION_DENIED", "this admin key has no local_validation right (create one with local_validation = true)");
  }
}
