// Reading the audit log (tenant rules, filters, paging) and keeping it: events older than the retention are pruned
// lazily (at start and then hourly, by event-id range: no TTL index, which FerretDB lacks); on MongoDB a sweep
// moves events that a crash left in changed documents (store/mongo/mongo-audit.ts).
import type { Logger } from "pino";
import { type AuditEvent, type AuditTargetType, EVENT_ID, eventIdFloor } from "../domain/audit.js";
import type { Clock } from "../domain/clock.js";
import { invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import type { Principal } from "../domain/types.js";
import type { AuditStore } from "../store/types.js";
import { requireManage } from "./access.js";

export interface AuditQueryInput {
  orgId: string;
  targetId: string;
  targetType?: AuditTargetType;
  actorId: string;
  startMs?: number;
  endMs?: number;
  pageSize: number;
  pageToken: string;
}

export const AUDIT_LIMITS = { targetIdLength: 100, actorIdLength: LIMITS.idLength, defaultPageSize: 50 } as const;

export interface AuditOptions {
  retentionDays: number;
  sweepMs: number;
  pruneEveryMs: number;
}

export const DEFAULT_AUDIT: AuditOptions = { retentionDays: 365, sweepMs: 1000, pruneEveryMs: 3_600_000 };

export class AuditService {
  private sweepTimer?: NodeJS.Timeout;
  private pruneTimer?: NodeJS.Timeout;

  constructor(
    private readonly store: AuditStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: AuditOptions = DEFAULT_AUDIT,
  ) {}

  async list(p: Principal, q: AuditQueryInput): Promise<{ events: AuditEvent[]; nextPageToken: string }> {
    requireManage(p);
    if (q.pageSize > LIMITS.pageSizeMax) throw invalidArgument(`page_size must be at most ${LIMITS.pageSizeMax}`, "page_size");
    if (q.targetId.length > AUDIT_LIMITS.targetIdLength) {
      throw invalidArgument(`target_id is longer than ${AUDIT_LIMITS.targetIdLength} characters`, "target_id");
    }
    if (q.actorId.length > AUDIT_LIMITS.actorIdLength) {
      throw invalidArgument(`actor_admin_key_id is longer than ${AUDIT_LIMITS.actorIdLength} characters`, "actor_admin_key_id");
    }
    if (q.startMs !== undefined && q.endMs !== undefined && q.endMs < q.startMs) {
      throw invalidArgument("end_time must not precede start_time", "end_time");
    }
    const cursor = q.pageToken ? decodePageToken(q.pageToken) : undefined;
    // An org-limited admin key asking about another org sees what an org without events shows.
    if (p.orgId !== undefined && q.orgId && q.orgId !== p.orgId) return { events: [], nextPageToken: "" };
    const limit = q.pageSize || AUDIT_LIMITS.defaultPageSize;
    let toId = q.endMs === undefined ? undefined : eventIdFloor(q.endMs);
    if (cursor && (!toId || cursor < toId)) toId = cursor;
    const events = await this.store.list({
      orgId: p.orgId ?? (q.orgId || undefined),
      targetId: q.targetId || undefined,
      targetType: q.targetType,
      actorId: q.actorId || undefined,
      fromId: q.startMs === undefined ? undefined : eventIdFloor(q.startMs),
      toId,
      limit: limit + 1,
    });
    const page = events.slice(0, limit);
    const last = page[page.length - 1];
    return { events: page, nextPageToken: events.length > limit && last ? Buffer.from(last.id).toString("base64url") : "" };
  }

  /** Deletes what is older than the retention; returns how many events went. */
  async prune(): Promise<number> {
    const cutoff = this.clock.nowMs() - this.opts.retentionDays * 86_400_000;
    const n = await this.store.prune(cutoff);
    if (n > 0) this.log.info({ events: n, retentionDays: this.opts.retentionDays }, "pruned audit events past their retention");
    return n;
  }

  private sweeping = false;

  /** One at a time: a slow sweep is not joined by the next tick's. */
  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    try {
      return await this.store.sweep();
    } finally {
      this.sweeping = false;
    }
  }

  start(): void {
    const quietly = (what: string, f: () => Promise<unknown>) => () =>
      void f().catch((err) => this.log.warn({ cause: (err as Error)?.message }, `audit ${what} failed; retried later`));
    quietly("prune", () => this.prune())();
    this.pruneTimer = setInterval(quietly("prune", () => this.prune()), this.opts.pruneEveryMs);
    this.sweepTimer = setInterval(quietly("sweep", () => this.sweep()), this.opts.sweepMs);
    this.pruneTimer.unref();
    this.sweepTimer.unref();
  }

  stop(): void {
    clearInterval(this.pruneTimer);
    clearInterval(this.sweepTimer);
  }
}

function decodePageToken(token: string): string {
  const id = Buffer.from(token, "base64url").toString();
  if (!EVENT_ID.test(id)) throw invalidArgument("page_token is not one this service issued", "page_token");
  return id;
}
