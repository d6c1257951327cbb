// The webhook store: endpoints (written with their audit events, like every change), the durable delivery queue,
// per-endpoint delivery leases and the feed's cursor. MongoDB and SQLite implement it.
import type { AuditEvent } from "../domain/audit.js";
import type { DeliveryRecord, WebhookEndpointRecord } from "../domain/webhooks.js";

export interface EndpointQuery {
  /** undefined: every endpoint; null: only those for all organisations; a string: that organisation's. */
  orgId?: string | null;
  limit: number;
  /** Endpoints strictly older than this (createdAtMs, id) position, for paging newest first. */
  after?: { createdAtMs: number; id: string };
}

export interface WebhookStore {
  /** Inserts the endpoint with its event (same transaction / same document write) unless its organisation (or the
   * endpoints for all) already has `maxPerOrg`: false then, nothing written. Atomic against concurrent inserts. */
  insertEndpoint(ep: WebhookEndpointRecord, event: AuditEvent, maxPerOrg: number): Promise<boolean>;
  getEndpoint(id: string): Promise<WebhookEndpointRecord | undefined>;
  listEndpoints(q: EndpointQuery): Promise<WebhookEndpointRecord[]>;
  /** Every enabled endpoint: the feed matches events against these. */
  enabledEndpoints(): Promise<WebhookEndpointRecord[]>;
  countEndpoints(orgId: string | undefined): Promise<number>;
  /** Replaces `before` with `after` when the stored endpoint is still `before` (same updatedAtMs); false otherwise. */
  replaceEndpoint(before: WebhookEndpointRecord, after: WebhookEndpointRecord, event: AuditEvent): Promise<boolean>;
  /** Deletes the endpoint when it is still `before`, with its event; its deliveries go after. False when it changed. */
  deleteEndpoint(before: WebhookEndpointRecord, event: AuditEvent): Promise<boolean>;

  /** Queues deliveries; one already queued (same endpoint and event) is left as it is. Returns how many were new. */
  enqueue(deliveries: DeliveryRecord[]): Promise<number>;
  /** Endpoints with a pending delivery due at `nowMs` (not necessarily their head: the dispatcher checks). */
  dueEndpoints(nowMs: number, limit: number): Promise<string[]>;
  /** The endpoint's pending delivery with the smallest event id: the only one that may be attempted. */
  head(endpointId: string): Promise<DeliveryRecord | undefined>;
  /** Writes an attempt's result (status, attempts, times, response). */
  saveAttempt(d: DeliveryRecord): Promise<void>;
  /** Moves the endpoint's other pending deliveries to at least `untilMs` (none may go before the waiting head), so a
   * backlog behind a failing receiver is not "due" at every poll. */
  deferQueue(endpointId: string, untilMs: number): Promise<void>;
  /** The endpoint's deliveries, newest event first, strictly before `beforeEventId` when given. */
  listDeliveries(endpointId: string, limit: number, beforeEventId?: string): Promise<DeliveryRecord[]>;
  pendingCount(): Promise<number>;
  /** Deletes delivered or failed deliveries of events older than `beforeMs`. */
  pruneDeliveries(beforeMs: number): Promise<number>;

  /** Takes (or renews) the endpoint's delivery lease until `untilMs` unless another owner holds an unexpired one. */
  acquireLease(endpointId: string, owner: string, nowMs: number, untilMs: number): Promise<boolean>;
  releaseLease(endpointId: string, owner: string): Promise<void>;

  /** The feed's cursor: every audit event with a smaller id has been queued. Moves only forward. */
  feedCursor(): Promise<string | undefined>;
  advanceFeedCursor(id: string): Promise<void>;
}
