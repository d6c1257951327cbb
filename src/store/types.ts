// One interface per concern; MongoDB (store/mongo) and the embedded SQLite store (store/embedded) implement each.
import type { AuditEvent, AuditTargetType } from "../domain/audit.js";
import type { StoredBalance } from "../domain/credits.js";
import type { AdminKeyRecord, ApiKeyRecord, OrgPolicy, Outcome, ScopeRecord } from "../domain/types.js";
import type { RateWindowStore } from "../services/leased-rate-limiter.js";
import type { WebhookStore } from "./webhook-types.js";

export interface ListKeysQuery {
  orgId?: string;
  includeRevoked: boolean;
  limit: number;
  /** Keys strictly older than this (createdAtMs, id) position, for paging newest first. */
  after?: { createdAtMs: number; id: string };
  /** Only keys whose expiry lies in (fromMs, toMs]: the expiring-key scan reads these, not every key. */
  expiringBetween?: { fromMs: number; toMs: number };
}

export interface KeyStore {
  /** `event`, when given, is stored with the key in the same write (see store/mongo/mongo-audit.ts). */
  insert(key: ApiKeyRecord, event?: AuditEvent): Promise<void>;
  get(id: string): Promise<ApiKeyRecord | undefined>;
  /** Finds the key whose current or grace-period previous digest is `digest`. */
  findByDigest(digest: string): Promise<ApiKeyRecord | undefined>;
  /** Replaces `before` with `after` when the stored key is still `before` (same updatedAtMs); false when someone changed it meanwhile. */
  replace(before: ApiKeyRecord, after: ApiKeyRecord, event?: AuditEvent): Promise<boolean>;
  list(q: ListKeysQuery): Promise<ApiKeyRecord[]>;
  /** Number of non-revoked keys carrying the scope. */
  countWithScope(scope: string): Promise<number>;
}

/** Builds the event of a change from the state it changes (undefined: nothing would change, nothing is written). */
export type EventFor<T> = (before: T | undefined) => AuditEvent | undefined;

export interface ScopeStore {
  upsert(scope: ScopeRecord, audit?: EventFor<ScopeRecord>): Promise<ScopeRecord>;
  list(): Promise<ScopeRecord[]>;
  /** Names among `names` that are not defined. */
  missing(names: string[]): Promise<string[]>;
  delete(name: string, audit?: EventFor<ScopeRecord>): Promise<boolean>;
}

export interface AdminKeyStore {
  insert(key: AdminKeyRecord, event?: AuditEvent): Promise<void>;
  /** Inserts the key unless one with its id exists (atomically: of replicas racing, one wins); false when one did. */
  insertIfAbsent(key: AdminKeyRecord, event?: AuditEvent): Promise<boolean>;
  findByDigest(digest: string): Promise<AdminKeyRecord | undefined>;
  list(): Promise<AdminKeyRecord[]>;
  /** Revokes the key unless it is revoked already (then only returns it); the event goes with the revocation. */
  revoke(id: string, atMs: number, audit?: EventFor<AdminKeyRecord>): Promise<AdminKeyRecord | undefined>;
  count(): Promise<number>;
}

/** One row of usage: validations of one key (or "_unknown") with one outcome in one hour. */
export interface UsageIncrement {
  keyId: string;
  /** The key's organisation; absent for "_unknown". */
  orgId?: string;
  hourStartMs: number;
  outcome: Outcome;
  count: number;
}

export interface UsageRow {
  hourStartMs: number;
  counts: Partial<Record<Outcome, number>>;
}

/** A key's usage row with its key id, as an organisation's roll-up reads it. */
export interface KeyUsageRow extends UsageRow {
  keyId: string;
}

/** When a validation last required one of a key's scopes. */
export interface ScopeUse {
  keyId: string;
  scope: string;
  atMs: number;
}

export interface UsageStore {
  /** Adds counts (upsert + increment) and moves last-used forward; one batch per flush. */
  apply(increments: UsageIncrement[], lastUsed: Map<string, number>): Promise<void>;
  hours(keyId: string, fromMs: number, toMs: number): Promise<UsageRow[]>;
  lastUsedAt(keyId: string): Promise<number | undefined>;
  /** Every usage row of the organisation's keys in [fromMs, toMs): one indexed range read on (org, hour). */
  orgHours(orgId: string, fromMs: number, toMs: number): Promise<KeyUsageRow[]>;
  /** Moves each (key, scope)'s last-required time forward (never back). */
  applyScopeUses(uses: ScopeUse[]): Promise<void>;
  /** The key's scopes with their last-required times, for those ever recorded. */
  scopeUses(keyId: string): Promise<Map<string, number>>;
}

/** A key's rate window as kept across restarts. The count is absolute, so writing a window again is idempotent. */
export interface StoredWindow {
  keyId: string;
  startMs: number;
  endMs: number;
  count: number;
}

/** The embedded store's rate windows: counted in memory, written here per flush. Synchronous, like better-sqlite3. */
export interface RateWindowRows {
  /** The key's stored window, if any: one read by key id. */
  get(keyId: string): StoredWindow | undefined;
  /** Writes the windows in one transaction. */
  save(windows: StoredWindow[]): void;
  /** Deletes the windows that ended at or before nowMs; returns how many. */
  prune(nowMs: number): number;
}

/** Credit balances (keys' and organisations'), spent in leased chunks by services/credit-ledger.ts. */
export interface CreditBalanceStore {
  get(subject: string): Promise<StoredBalance | undefined>;
  /** Writes `next` when the stored balance is still `expected` (undefined: none stored); false when another writer won. */
  compareAndSet(expected: StoredBalance | undefined, next: StoredBalance): Promise<boolean>;
  /** Returns unused points to the balance of that epoch and refill period (a no-op once it is another). */
  giveBack(subject: string, epoch: number, periodStartMs: number, points: number): Promise<void>;
}

/** Organisation policies: one record per organisation that ever had one. */
export interface OrgPolicyStore {
  get(orgId: string): Promise<OrgPolicy | undefined>;
  /** Every stored policy (one per organisation that ever had one): local validators' snapshots read it. */
  list(): Promise<OrgPolicy[]>;
  /** Writes `after` when the stored policy is still `before` (undefined: none stored), with its event; false when another writer won. */
  replace(before: OrgPolicy | undefined, after: OrgPolicy, event?: AuditEvent): Promise<boolean>;
}

export interface AuditQuery {
  orgId?: string;
  targetId?: string;
  targetType?: AuditTargetType;
  actorId?: string;
  /** Event ids in [fromId, toId): time ranges, since ids sort by time (domain/audit.ts). */
  fromId?: string;
  toId?: string;
  limit: number;
}

/** Recorded changes, newest first. Events are written by the stores above, with their changes. */
export interface AuditStore {
  list(q: AuditQuery): Promise<AuditEvent[]>;
  /** Deletes events older than `beforeMs`; returns how many. */
  prune(beforeMs: number): Promise<number>;
  /** MongoDB: moves events a crash left in changed documents into the log (idempotent). Embedded: nothing to do. */
  sweep(): Promise<number>;
  /** Events with ids greater than `afterId` (all when undefined), oldest first, at most `limit`: the webhook feed's read. */
  after(afterId: string | undefined, limit: number): Promise<AuditEvent[]>;
  /** The smallest id of an event whose change may still land or be moved into the log (MongoDB's open intents). */
  oldestPendingId(): Promise<string | undefined>;
}

export interface Stores {
  kind: "mongodb" | "embedded";
  audit: AuditStore;
  keys: KeyStore;
  scopes: ScopeStore;
  adminKeys: AdminKeyStore;
  usage: UsageStore;
  webhooks: WebhookStore;
  /** Embedded only (MongoDB's windows are shared documents, see store/mongo/mongo-rate-windows.ts). */
  rateWindows?: RateWindowRows;
  balances: CreditBalanceStore;
  orgPolicies: OrgPolicyStore;
  /** Embedded with FLUX_WORKERS ≥ 2: the replica rules' stores over SQLite (MongoDB builds its own in deps.ts). */
  replicaParts?: ReplicaParts;
  close(): Promise<void>;
}

/** What several processes sharing one store need beyond the stores above (services/replica-sync.ts and friends). */
export interface ReplicaParts {
  changeLog: ChangeLogStore;
  outbox: ChangeOutboxStore;
  windows: RateWindowStore;
}

/** One change to a key, as the digests under which replicas may have cached it. */
export interface KeyChange {
  seq: number;
  digests: string[];
  atMs: number;
}

/** A replica's heartbeat as stored. `beat` is opaque: readers only compare it with what they saw before. */
export interface ReplicaBeat {
  replicaId: string;
  appliedSeq: number;
  beat: string;
}

/** The shared log through which replicas drop stale cache entries, and their acknowledgements (MongoDB only). */
export interface ChangeLogStore {
  /** Appends a change and returns its sequence number (1, 2, 3, … across all replicas). */
  publish(digests: string[], atMs: number): Promise<number>;
  /** The highest sequence number allocated (possibly not yet written). */
  latestSeq(): Promise<number>;
  /** Changes past `seq`, in order, at most `limit`: one range read. */
  after(seq: number, limit: number): Promise<KeyChange[]>;
  /** Records what this replica has applied and changes its beat. */
  heartbeat(replicaId: string, appliedSeq: number): Promise<void>;
  replicas(): Promise<ReplicaBeat[]>;
  leave(replicaId: string): Promise<void>;
  /** Removes a dead replica's record unless it beat since `beat` was read. */
  forget(replicaId: string, beat: string): Promise<void>;
  /** Deletes changes up to and including `seq`. */
  prune(seq: number): Promise<void>;
}

/** Invalidations not yet known to be in the change log: written before a key changes, removed once published. */
export interface ChangeOutboxStore {
  add(digests: string[]): Promise<string>;
  list(limit: number): Promise<{ id: string; digests: string[] }[]>;
  remove(id: string): Promise<void>;
}
