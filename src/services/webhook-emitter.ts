// Webhook events that are states noticed in memory, not changes in the audit log: key.rate_limited (first refusal
// in a window), credits.low / credits.exhausted (first time in a balance's refill period) from the validate path,
// and key.expiring from the expiry scan. The validate path only looks at its answer and, rarely, pushes an event
// into a bounded buffer: no I/O per call. The buffer is queued in batches every poll. Event ids are derived from
// what the event is about (key, window, period), so several replicas noticing the same thing queue it once.
import { pollWarnings } from "./poll-warnings.js";
import type { Logger } from "pino";
import type { Clock } from "../domain/clock.js";
import { periodStartMs } from "../domain/credits.js";
import type { ValidationResult } from "../domain/types.js";
import { derivedEventId, type WebhookEvent, type WebhookEventType } from "../domain/webhooks.js";
import type { WebhookStore } from "../store/webhook-types.js";
import { deliveriesFor } from "./webhook-feed.js";

/** What the validate path tells webhooks about its answers (services/validation-service.ts). */
export interface ValidationEvents {
  observe(r: ValidationResult): void;
}

/** A balance is low once a call leaves at most this share of its full amount (the refill amount, else as set). */
export const CREDITS_LOW_SHARE = 0.1;
const MAX_BUFFERED = 10_000;
const MAX_REMEMBERED = 100_000;

export class WebhookEmitter implements ValidationEvents {
  private readonly warn: ReturnType<typeof pollWarnings>;
  private buffer: WebhookEvent[] = [];
  /** Things already noticed (rate window, credit period) → until when the memory matters. */
  private readonly noticed = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  dropped = 0;

  constructor(
    private readonly store: WebhookStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly pollMs: number,
    private readonly onQueued: () => void,
  ) {
    this.warn = pollWarnings(log);
  }

  observe(r: ValidationResult): void {
    const key = r.key;
    if (!key) return;
    if (r.outcome === "RATE_LIMITED") {
      const window = r.refusedBy === "ORGANIZATION" ? r.organization?.rateLimit : r.rateLimit;
      const subject = r.refusedBy === "ORGANIZATION" ? `org:${key.orgId}` : key.id;
      const resetAtMs = window?.resetAtMs ?? 0;
      if (this.first(`rl:${subject}:${resetAtMs}`, resetAtMs)) {
        // The id's time is the window's start (its end for an organisation's window): the same on every replica.
        const windowStartMs = r.refusedBy === "ORGANIZATION" || !key.rateLimit ? resetAtMs : resetAtMs - key.rateLimit.windowSeconds * 1000;
        this.push("key.rate_limited", derivedEventId(windowStartMs, "key.rate_limited", subject, resetAtMs), this.clock.nowMs(), key.orgId, {
          key_id: key.id,
          org_id: key.orgId,
          refused_by: r.refusedBy ?? "KEY",
          limit: window?.limit ?? 0,
          reset_at: new Date(resetAtMs).toISOString(),
        });
      }
      return;
    }
    if (r.outcome === "USAGE_EXCEEDED") {
      const byOrg = r.refusedBy === "ORGANIZATION";
      const state = byOrg ? r.organization?.credits : r.credits;
      const subject = byOrg ? `org:${key.orgId}` : key.id;
      const period = byOrg ? (state?.nextRefillAtMs ?? 0) : key.credits ? `${key.credits.setAtMs}:${periodStartMs(key.credits, this.clock.nowMs())}` : "";
      this.credits("credits.exhausted", subject, String(period), key, state?.nextRefillAtMs, byOrg ? "ORGANIZATION" : "KEY", 0);
      return;
    }
    const c = key.credits;
    if (r.credits && c) {
      const full = c.refill?.amount ?? c.remaining;
      if (r.credits.remaining <= full * CREDITS_LOW_SHARE) {
        this.credits("credits.low", key.id, `${c.setAtMs}:${periodStartMs(c, this.clock.nowMs())}`, key, r.credits.nextRefillAtMs, "KEY", r.credits.remaining);
      }
    }
  }

  private credits(type: WebhookEventType, subject: string, period: string, key: NonNullable<ValidationResult["key"]>, nextRefillAtMs: number | undefined, level: string, remaining: number) {
    const until = nextRefillAtMs ?? this.clock.nowMs() + 86_400_000;
    if (!this.first(`${type}:${subject}:${period}`, until)) return;
    const now = this.clock.nowMs();
    const data: Record<string, string | number> = { key_id: key.id, org_id: key.orgId, level, remaining };
    if (nextRefillAtMs !== undefined) data.next_refill_at = new Date(nextRefillAtMs).toISOString();
    // The id's time is this replica's; the rest is the subject and period, which every replica derives alike.
    this.push(type, derivedEventId(periodFloor(period, now), type, subject, period), now, key.orgId, data);
  }

  /** Queued with an id fixed by its subject: a second push of the same event is a no-op in the queue. */
  push(type: WebhookEventType, id: string, atMs: number, orgId: string | undefined, data: WebhookEvent["data"]): void {
    if (this.buffer.length >= MAX_BUFFERED) {
      this.dropped++;
      return;
    }
    this.buffer.push({ id, type, atMs, orgId, data });
  }

  /** True the first time `what` is seen (remembered until `untilMs`). */
  private first(what: string, untilMs: number): boolean {
    const now = this.clock.nowMs();
    const seen = this.noticed.get(what);
    if (seen !== undefined && seen > now) return false;
    if (this.noticed.size >= MAX_REMEMBERED) {
      for (const [k, until] of this.noticed) if (until <= now) this.noticed.delete(k);
      if (this.noticed.size >= MAX_REMEMBERED) this.noticed.clear(); // a repeat notice is deduplicated by its id
    }
    this.noticed.set(what, Math.max(untilMs, now + 1000));
    return true;
  }

  /** Queues what was noticed since the last flush; a failed batch goes back to the buffer (bounded). */
  async flush(): Promise<number> {
    if (this.buffer.length === 0) return 0;
    const batch = this.buffer;
    this.buffer = [];
    try {
      const endpoints = await this.store.enabledEndpoints();
      const now = this.clock.nowMs();
      const rows = batch.flatMap((ev) => deliveriesFor(ev, endpoints, now, false));
      const n = rows.length ? await this.store.enqueue(rows) : 0;
      if (n > 0) this.onQueued();
      return n;
    } catch (err) {
      this.buffer = [...batch, ...this.buffer].slice(0, MAX_BUFFERED);
      throw err;
    }
  }

  start(): void {
    const tick = () => {
      this.flushing = this.flush()
        .then(() => {})
        .catch((err) => this.warn(err, "webhook events not queued; retried at the next poll"))
        .finally(() => {
          this.flushing = undefined;
          if (this.timer) (this.timer = setTimeout(tick, this.pollMs)).unref();
        });
    };
    (this.timer = setTimeout(tick, this.pollMs)).unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush().catch(() => {});
  }
}

/** The period's start when the period names one ("setAt:start"), else now: the id's time part. */
function periodFloor(period: string, nowMs: number): number {
  const start = Number(period.split(":")[1]);
  return Number.isFinite(start) && start > 0 ? start : nowMs;
}
