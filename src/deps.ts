// Composition root: stores → services. Nothing else decides which implementation backs what.
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { type Clock, systemClock } from "./domain/clock.js";
import { createDigester } from "./domain/key-material.js";
import { Metrics } from "./metrics.js";
import { AdminAuth } from "./services/admin-auth.js";
import { AdminKeyService } from "./services/admin-key-service.js";
import { AuditService, DEFAULT_AUDIT } from "./services/audit-service.js";
import { AuthThrottle } from "./services/auth-throttle.js";
import { adminKeyToken, type ChangeFeed, localChangeFeed, OutboxChangeFeed, unconfirmed } from "./services/change-outbox.js";
import { DEFAULT_VALIDATOR_SETTINGS, pepperIdOf, ValidatorHub } from "./services/validator-hub.js";
import { KeyCache } from "./services/key-cache.js";
import { CreditLedger } from "./services/credit-ledger.js";
import { OrgPolicyCache } from "./services/org-policy-cache.js";
import { OrgPolicyService } from "./services/org-policy-service.js";
import { KeyService } from "./services/key-service.js";
import { LeakReportService } from "./services/leak-report-service.js";
import { ReporterKeys } from "./services/leak-signature.js";
import { LeasedRateLimiter } from "./services/leased-rate-limiter.js";
import { DEFAULT_SYNC, ReplicaSync, type ReplicaSyncOptions } from "./services/replica-sync.js";
import { ScopeService } from "./services/scope-service.js";
import { guardStore, guardStores, StoreHealth } from "./services/store-health.js";
import { UsageRecorder } from "./services/usage-recorder.js";
import { UsageService } from "./services/usage-service.js";
import { OrganizationUsageService } from "./services/organization-usage-service.js";
import { ValidationService } from "./services/validation-service.js";
import { ValidatorLeases, type WindowGrants } from "./services/validator-leases.js";
import { ValidatorUsage } from "./services/validator-usage.js";
import { WindowCounter } from "./services/window-counter.js";
import { createWebhooks, type Webhooks, type WebhookSettings } from "./services/webhooks.js";
import { type EmbeddedOptions, openEmbeddedStores } from "./store/embedded/embedded-stores.js";
import { MongoChangeLogStore } from "./store/mongo/mongo-change-log.js";
import { MongoChangeOutboxStore } from "./store/mongo/mongo-change-outbox.js";
import { MongoRateWindowStore } from "./store/mongo/mongo-rate-windows.js";
import { isMongoOutage, type MongoStores, openMongoStores } from "./store/mongo/mongo-stores.js";
import type { Stores } from "./store/types.js";

export interface Deps {
  stores: Stores;
  metrics: Metrics;
  services: {
    auth: AdminAuth;
    keys: KeyService;
    validation: ValidationService;
    scopes: ScopeService;
    usage: UsageService;
    organizationUsage: OrganizationUsageService;
    adminKeys: AdminKeyService;
    audit: AuditService;
    recorder: UsageRecorder;
    cache: KeyCache;
    /** Credit balances of keys and organisations, spent from leases. */
    ledger: CreditLedger;
    orgPolicies: OrgPolicyService;
    /** Present on MongoDB, where several replicas may share the store. */
    sync?: ReplicaSync;
    clock: Clock;
    /** Present when FLUX_LEAK_REPORTER_KEYS is set: POST /v1/leaks/report (transport/leak-report-route.ts). */
    leaks?: { service: LeakReportService; keys: ReporterKeys };
    webhooks: Webhooks;
    /** Local validators' sessions held by this process (LocalValidationService). */
    validators: ValidatorHub;
    /** Local validators' leases (LeaseLimits) and usage reports (ReportLocalUsage). */
    local: { leases: ValidatorLeases; usage: ValidatorUsage };
  };
  close(): Promise<void>;
}

export type StoreSettings = Pick<Config, "FLUX_MONGODB_URI" | "FLUX_MONGODB_DB" | "FLUX_DATA_DIR">;

export async function openStores(c: StoreSettings, embedded?: EmbeddedOptions): Promise<Stores> {
  return c.FLUX_MONGODB_URI ? openMongoStores(c.FLUX_MONGODB_URI, c.FLUX_MONGODB_DB) : openEmbeddedStores(c.FLUX_DATA_DIR, undefined, embedded);
}

export async function createDeps(
  config: Pick<Config, "FLUX_ADMIN_KEY" | "FLUX_KEY_PEPPER" | "FLUX_USAGE_FLUSH_MS" | "FLUX_MONGODB_DB" | "FLUX_KEY_CACHE_SIZE"> &
    Partial<Pick<Config, "FLUX_KEY_CACHE_MAX_AGE_MS" | "FLUX_AUTH_FAILURES_PER_MINUTE" | "FLUX_AUDIT_RETENTION_DAYS">> &
    Partial<Pick<Config, "FLUX_LEAK_REPORTER_KEYS" | "FLUX_LEAK_ACTION" | "FLUX_LEAK_REPORTS_PER_MINUTE">> &
    Partial<Pick<Config, "FLUX_VALIDATOR_HEARTBEAT_MS" | "FLUX_VALIDATOR_STALE_AFTER_MS" | "FLUX_VALIDATOR_ACK_TIMEOUT_MS" | "FLUX_VALIDATOR_MAX_SESSIONS">> &
    WebhookSettings,
  stores: Stores,
  log: Logger,
  clock: Clock = systemClock,
  syncOptions: Partial<ReplicaSyncOptions> = DEFAULT_SYNC,
): Promise<Deps> {
  const digest = createDigester(config.FLUX_KEY_PEPPER);
  const metrics = new Metrics();
  // MongoDB: a replica that knows its store is unreachable answers UNAVAILABLE at once (see store-health.ts).
  const health = stores.kind === "mongodb" ? storeHealthFor(stores as MongoStores, log) : undefined;
  if (health) stores = guardStores(stores, health);
  const recorder = new UsageRecorder(stores.usage, clock, {
    flushIntervalMs: config.FLUX_USAGE_FLUSH_MS,
    onFlushError: (err, lost) => {
      metrics.storeErrors.inc();
      log.error({ lost, cause: (err as Error)?.message }, "usage flush failed; counts dropped");
    },
    onFlushed: (_rows, ms) => metrics.flushes.observe(ms / 1000),
  });
  // Embedded: one process, exact in-memory windows, written to the store once per flush interval and on close.
  const windowsOnDisk = stores.rateWindows && new WindowCounter(clock, {
    rows: stores.rateWindows,
    flushIntervalMs: config.FLUX_USAGE_FLUSH_MS,
    flushChunk: 100, // ~0.5 ms of writes at a time between calls (issue 13: validate p99 within 1 ms of the no-op's)
    onFlushError: (err, windows) => {
      metrics.storeErrors.inc();
      log.error({ windows, cause: (err as Error)?.message }, "rate window flush failed; retried at the next flush");
    },
  });
  // MongoDB: windows shared by every replica, spent from leases, with an in-memory window of the same size per
  // replica while MongoDB fails (per replica by design: never written).
  // Shared windows: MongoDB's documents, or the workers' SQLite rows (N processes on one data directory).
  const sharedWindows = stores.kind === "mongodb" ? guardStore(new MongoRateWindowStore((stores as MongoStores).db), health!, { reads: ["take"] }) : stores.replicaParts?.windows;
  const localWindows = windowsOnDisk ?? new WindowCounter(clock);
  const limiter = !sharedWindows
    ? localWindows
    : stores.kind === "mongodb"
      ? new LeasedRateLimiter(sharedWindows, clock, new WindowCounter(clock))
      : new LeasedRateLimiter(sharedWindows, clock); // workers: shared windows, no per-process insurance
  // Local validators lease from the same windows: the shared ones, else this process's counter.
  const windowGrants: WindowGrants = sharedWindows ?? {
    take: async (id, limit, points) => localWindows.lease(id, limit, points),
    giveBack: async (id, startMs, points) => localWindows.giveBack(id, startMs, points),
  };
  // Credits fail closed: no call is admitted without its debit stored (UNAVAILABLE at once while MongoDB is down).
  const ledger = new CreditLedger(health ? guardStore(stores.balances, health, { reads: ["get"] }) : stores.balances, clock);
  let sync: ReplicaSync | undefined;
  const isFresh = () => sync?.isFresh() ?? true;
  const maxAgeMs = config.FLUX_KEY_CACHE_MAX_AGE_MS ?? 30_000;
  const auth = new AdminAuth(stores.adminKeys, digest, clock, config.FLUX_ADMIN_KEY, {
    maxAgeMs: Math.min(5000, maxAgeMs),
    isFresh,
    throttle: new AuthThrottle({ failures: config.FLUX_AUTH_FAILURES_PER_MINUTE ?? 20, windowSeconds: 60, onThrottled: () => metrics.authThrottled.inc() }),
    onFailure: () => metrics.authFailures.inc(),
  });
  const cache = new KeyCache(stores.keys, clock, { maxEntries: config.FLUX_KEY_CACHE_SIZE, negativeTtlMs: 2000, maxAgeMs, isFresh });
  // Organisation policies: cached like keys, invalidated through the same feed ("org:<id>" tokens beside digests).
  const orgCache = new OrgPolicyCache(stores.orgPolicies, clock, { maxEntries: config.FLUX_KEY_CACHE_SIZE, maxAgeMs, isFresh });
  const caches = {
    invalidate: (d: string[]) => (cache.invalidate(d), auth.invalidate(d), orgCache.invalidate(d)),
    clear: () => (cache.clear(), auth.clear(), orgCache.clear()),
  };
  // Local validators held here; on MongoDB an acknowledgement needs this replica's feed fresh with stale-after to spare.
  const v = DEFAULT_VALIDATOR_SETTINGS;
  const validatorSettings = {
    heartbeatMs: config.FLUX_VALIDATOR_HEARTBEAT_MS ?? v.heartbeatMs,
    staleAfterMs: config.FLUX_VALIDATOR_STALE_AFTER_MS ?? v.staleAfterMs,
    ackTimeoutMs: config.FLUX_VALIDATOR_ACK_TIMEOUT_MS ?? v.ackTimeoutMs,
    maxSessions: config.FLUX_VALIDATOR_MAX_SESSIONS ?? v.maxSessions,
  };
  const validators = new ValidatorHub(stores.keys, stores.orgPolicies, log, validatorSettings, {
    isFresh: () => sync?.isFresh(validatorSettings.staleAfterMs) ?? true,
    ...metrics.validatorHooks(),
    onEnded: (id) => services.local.usage.endSession(id), // only ever called once `services` exists
  });
  if (config.FLUX_KEY_PEPPER) validators.pepperId = pepperIdOf(config.FLUX_KEY_PEPPER);
  const feedStaleMs = { ...DEFAULT_SYNC, ...syncOptions }.staleMs;
  if ((stores.kind === "mongodb" || stores.replicaParts) && validatorSettings.staleAfterMs > feedStaleMs - 250) {
    // An acknowledgement needs the replica's feed fresh for stale-after more (replica-sync.ts): leave it room.
    throw new Error(`FLUX_VALIDATOR_STALE_AFTER_MS (${validatorSettings.staleAfterMs}) must be at most ${feedStaleMs - 250} with replicas (MongoDB, FLUX_WORKERS)`);
  }
  // Embedded: one process owns the store, so dropping local entries (and waiting for this process's validators) is
  // enough. MongoDB: every replica must, through the change log, with an outbox so that no failure between the write
  // and the publish loses an invalidation; each replica reports a change applied once its validators hold it.
  let feed: ChangeFeed = localChangeFeed(caches, validators);
  let outbox: OutboxChangeFeed | undefined;
  if (stores.kind === "mongodb") {
    const db = (stores as MongoStores).db;
    sync = new ReplicaSync(new MongoChangeLogStore(db), caches, log, syncOptions);
    sync.setValidators(validators);
    await sync.start();
    feed = outbox = new OutboxChangeFeed(new MongoChangeOutboxStore(db), sync, caches, log);
    outbox.start();
  } else if (stores.replicaParts) {
    // Embedded with FLUX_WORKERS ≥ 2: each worker process is a replica of the same rules, over SQLite tables.
    sync = new ReplicaSync(stores.replicaParts.changeLog, caches, log, syncOptions);
    sync.setValidators(validators); // a worker's local validators acknowledge before it reports a change applied
    await sync.start();
    feed = outbox = new OutboxChangeFeed(stores.replicaParts.outbox, sync, caches, log);
    outbox.start();
  }
  const keys = new KeyService(stores.keys, stores.scopes, clock, digest, feed);
  const webhooks = createWebhooks(stores, clock, log, metrics.registry, config);
  const adminKeys = new AdminKeyService(stores.adminKeys, (k) => publishAndConfirm(feed, [k.digest, adminKeyToken(k.id)]), clock, digest);
  const services = {
    auth,
    keys,
    validation: new ValidationService(cache, limiter, recorder, clock, digest, (o) => metrics.outcome(o), ledger, orgCache, webhooks.emitter),
    orgPolicies: new OrgPolicyService(stores.orgPolicies, clock, feed),
    scopes: new ScopeService(stores.scopes, stores.keys, clock),
    usage: new UsageService(stores.keys, stores.usage, recorder, clock),
    organizationUsage: new OrganizationUsageService(stores.keys, stores.usage, recorder, clock),
    adminKeys,
    // Reads answer UNAVAILABLE at once during an outage, like every other store call; the background jobs just wait.
    audit: new AuditService(health ? guardStore(stores.audit, health, { pass: ["sweep", "prune"] }) : stores.audit, clock, log, { ...DEFAULT_AUDIT, retentionDays: config.FLUX_AUDIT_RETENTION_DAYS ?? DEFAULT_AUDIT.retentionDays }),
    recorder,
    cache,
    ledger,
    sync,
    clock,
    validators,
    leaks: config.FLUX_LEAK_REPORTER_KEYS ? leakReports(config.FLUX_LEAK_REPORTER_KEYS, config, stores, keys, adminKeys, digest, clock, metrics, log) : undefined,
    webhooks,
    local: localLimits(stores, windowGrants, ledger, recorder, clock, metrics, webhooks, log),
  };
  recorder.start();
  windowsOnDisk?.start();
  services.audit.start();
  services.webhooks.start();
  validators.start();
  const deps: Deps = {
    stores,
    metrics,
    services,
    async close() {
      validators.stop();
      health?.close();
      outbox?.stop();
      services.audit.stop();
      await services.webhooks.stop();
      await sync?.stop();
      await recorder.close();
      await ledger.close(); // unused leases back to the shared balances
      await windowsOnDisk?.close();
      await stores.close();
    },
  };
  metrics.watch(deps);
  return deps;
}

function localLimits(stores: Stores, windows: WindowGrants, ledger: CreditLedger, recorder: UsageRecorder, clock: Clock, metrics: Metrics, webhooks: Webhooks, log: Logger) {
  const leases = new ValidatorLeases(stores.keys, windows, ledger, clock);
  const usage = new ValidatorUsage(stores.keys, leases, recorder, clock, {
    onOutcome: (o, n) => (metrics.outcome(o, n), metrics.localValidations.inc({ outcome: o }, n)),
    events: webhooks.emitter,
    onLostReturn: (err) => {
      metrics.storeErrors.inc();
      log.warn({ cause: (err as Error)?.message }, "a local validator's returned lease could not be written; dropped (under-admission only)");
    },
    onIgnored: (n) => log.debug({ entries: n }, "local usage for keys the session cannot see ignored"),
  });
  return { leases, usage };
}

function leakReports(
  path: string,
  config: Partial<Pick<Config, "FLUX_LEAK_ACTION" | "FLUX_LEAK_REPORTS_PER_MINUTE">>,
  stores: Stores,
  keys: KeyService,
  adminKeys: AdminKeyService,
  digest: (s: string) => string,
  clock: Clock,
  metrics: Metrics,
  log: Logger,
) {
  const action = config.FLUX_LEAK_ACTION ?? "revoke";
  return {
    keys: new ReporterKeys(path, (message) => log.error({ file: path, problem: message }, "FLUX_LEAK_REPORTER_KEYS changed and is unusable: keeping the previous keys")),
    service: new LeakReportService(stores.keys, keys, digest, clock, {
      action,
      reportsPerMinute: config.FLUX_LEAK_REPORTS_PER_MINUTE ?? 60,
      onToken: (label) => metrics.leakTokens.inc({ label }),
      onLeak: (i) => log.warn(i, "leak report: a live key was reported"),
      adminKeys: { store: stores.adminKeys, service: adminKeys },
    }),
  };
}

/** After a write whose digests were not known before it (an admin key revoked by id): publish, wait, confirm. */
async function publishAndConfirm(feed: ChangeFeed, digests: string[]): Promise<void> {
  const report = await (await feed.prepare(digests)).publish();
  if (!report.published || report.unconfirmedReplicas > 0) throw unconfirmed(report);
}

function storeHealthFor(stores: MongoStores, log: Logger): StoreHealth {
  const health = new StoreHealth({
    probe: () => stores.ping(),
    isOutage: isMongoOutage,
    onChange: (up, detail) =>
      up
        ? log.warn({ downMs: Math.round(detail as number) }, "store reachable again")
        : log.error({ cause: (detail as Error)?.message }, "store unreachable: answering UNAVAILABLE at once until it answers again"),
  });
  stores.onUnreachable((cause) => health.markDown(cause));
  return health;
}
