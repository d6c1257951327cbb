// Turns audit events into queued deliveries. The audit log is complete (no change without its event), so tailing
// it by id loses nothing as long as the tail looks back far enough: on MongoDB events become visible out of id
// order (replicas' ids interleave; a crashed writer's event is moved by a sweep seconds later). So:
//   - the store keeps a cursor: every event with a smaller id has been queued. A full pass re-reads everything from
//     the cursor, then moves it to min(pass start − lag, oldest open audit intent): an event whose change may still
//     land holds the cursor back however long it takes;
//   - quick passes in between read only past the highest id seen (the common case: latency of one poll);
//   - the queue's unique (endpoint, event) makes every re-read, and every replica doing the same, harmless.
// An endpoint that appears after an event was matched is matched against the events seen in the window.
import { pollWarnings } from "./poll-warnings.js";
import type { Logger } from "pino";
import { type AuditEvent, eventIdFloor } from "../domain/audit.js";
import type { Clock } from "../domain/clock.js";
import { type DeliveryRecord, eventFromAudit, payloadOf, type WebhookEndpointRecord, type WebhookEvent, wants } from "../domain/webhooks.js";
import type { AuditStore } from "../store/types.js";
import type { WebhookStore } from "../store/webhook-types.js";

export interface FeedOptions {
  pollMs: number;
  /** How far behind the newest event a full pass looks: bounds the id-order disorder it tolerates (clock skew too). */
  lagMs: number;
  /** How often a pass is a full one. */
  fullEveryMs: number;
  batch: number;
}

const QUICK_LOOKBACK_MS = 500;
const eventTimeMs = (id: string) => parseInt(id.slice(4, 14), 36);

export const DEFAULT_FEED: Omit<FeedOptions, "pollMs"> = { lagMs: 30_000, fullEveryMs: 2_000, batch: 500 };

export function deliveriesFor(ev: WebhookEvent, endpoints: Iterable<WebhookEndpointRecord>, nowMs: number, sinceCreation = true): DeliveryRecord[] {
  const out: DeliveryRecord[] = [];
  for (const ep of endpoints) {
    if (!wants(ep, ev, sinceCreation)) continue;
    out.push({ endpointId: ep.id, eventId: ev.id, eventType: ev.type, eventAtMs: ev.atMs, payload: payloadOf(ev), status: "PENDING", attempts: 0, nextAttemptAtMs: nowMs, lastResponseCode: 0, lastResponse: "" });
  }
  return out;
}

export class WebhookFeed {
  private readonly warn: ReturnType<typeof pollWarnings>;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  /** Events read since the cursor (null: not a webhook event), to match endpoints that show up later. */
  private readonly seen = new Map<string, WebhookEvent | null>();
  private highest?: string;
  private cursor?: string;
  private lastFullMs = -Infinity;
  /** Endpoints this feed has listed: one listed for the first time is matched against `seen` (its creation may have
   * been in flight when those events were read). An endpoint enabled again is not: it missed what happened meanwhile. */
  private readonly known = new Set<string>();

  constructor(
    private readonly audit: AuditStore,
    private readonly store: WebhookStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: FeedOptions,
    /** Called when something was queued. */
    private readonly onQueued: () => void,
  ) {
    this.warn = pollWarnings(log);
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.pass()
        .then(() => {})
        .catch((err) => this.warn(err, "webhook feed pass failed; retried at the next poll"))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) (this.timer = setTimeout(tick, this.opts.pollMs)).unref();
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass (full when due or asked). Exposed for tests. */
  async pass(full = performance.now() - this.lastFullMs >= this.opts.fullEveryMs): Promise<number> {
    const startedMs = this.clock.nowMs();
    // Open intents first: an event moved after this read is then found by the event read below.
    const pending = full ? await this.audit.oldestPendingId() : undefined;
    // The stored cursor is read on full passes only (quick ones start past it anyway): one read less per poll.
    if (full || this.cursor === undefined) this.cursor = (await this.store.feedCursor()) ?? eventIdFloor(startedMs - this.opts.lagMs);
    const cursor = this.cursor;
    // Quick passes look back half a second behind the newest id seen: ids of other replicas (or of a change stamped a
    // millisecond ahead) that become visible slightly out of order then cost no full pass's delay.
    const quickFrom = this.highest && eventIdFloor(eventTimeMs(this.highest) - QUICK_LOOKBACK_MS);
    let from = full || !quickFrom || quickFrom < cursor ? cursor : quickFrom;
    const highestBefore = this.highest;
    const fresh: WebhookEvent[] = [];
    for (;;) {
      const batch = await this.audit.after(from, this.opts.batch);
      for (const e of batch) this.note(e, fresh);
      if (batch.length < this.opts.batch) break;
      from = batch[batch.length - 1]!.id;
    }
    let queued = 0;
    try {
      if (fresh.length > 0 || full) queued += await this.match(fresh);
    } catch (err) {
      // Not queued: forget having read them, so the next pass reads them again.
      for (const ev of fresh) this.seen.delete(ev.id);
      this.highest = highestBefore;
      throw err;
    }
    if (full) {
      this.lastFullMs = performance.now();
      let next = eventIdFloor(startedMs - this.opts.lagMs);
      if (pending && pending.slice(0, next.length) < next) next = pending.slice(0, next.length);
      if (next > cursor) {
        await this.store.advanceFeedCursor(next);
        this.cursor = next;
      }
      for (const id of this.seen.keys()) if (id < next) this.seen.delete(id);
    }
    if (queued > 0) this.onQueued();
    return queued;
  }

  private note(e: AuditEvent, fresh: WebhookEvent[]): void {
    if (!this.highest || e.id > this.highest) this.highest = e.id;
    if (this.seen.has(e.id)) return;
    const ev = eventFromAudit(e) ?? null;
    this.seen.set(e.id, ev);
    if (ev) fresh.push(ev);
  }

  /** Queues the fresh events for every endpoint that wants them, and the seen ones for endpoints new to this feed. */
  private async match(fresh: WebhookEvent[]): Promise<number> {
    const endpoints = await this.store.enabledEndpoints();
    const now = this.clock.nowMs();
    const changed = endpoints.filter((ep) => !this.known.has(ep.id));
    const freshIds = new Set(fresh.map((e) => e.id));
    const rows: DeliveryRecord[] = [];
    for (const ev of fresh) rows.push(...deliveriesFor(ev, endpoints, now));
    if (changed.length > 0) {
      // Only what happened since the endpoint took its present form (created, or enabled again).
      for (const ev of this.seen.values()) if (ev && !freshIds.has(ev.id)) rows.push(...deliveriesFor(ev, changed.filter((ep) => ev.atMs >= ep.updatedAtMs), now));
    }
    const n = rows.length ? await this.store.enqueue(rows) : 0;
    for (const ep of changed) this.known.add(ep.id);
    return n;
  }
}
