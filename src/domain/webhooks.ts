// Webhooks: endpoints, queued deliveries, the closed list of event types, and the payload an event becomes.
// Payloads carry what the audit log shows (never secrets or digests); the signing secret never leaves the store
// except in the create/rotate answers.
import { createHash, randomBytes } from "node:crypto";
import { type AuditAction, type AuditEvent, eventIdFloor, type FieldValues } from "./audit.js";

export const WEBHOOK_EVENT_TYPES = [
  "key.created",
  "key.rotated",
  "key.revoked",
  "key.disabled",
  "key.enabled",
  "key.expiring",
  "key.rate_limited",
  "credits.low",
  "credits.exhausted",
  "leak.reported",
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const isWebhookEventType = (s: string): s is WebhookEventType => (WEBHOOK_EVENT_TYPES as readonly string[]).includes(s);

/** Audit actions that are webhook events; the rest (scopes, admin keys, updates of other fields) are not. */
export const EVENT_OF_ACTION: Partial<Record<AuditAction | "API_KEY_LEAK_REPORTED", WebhookEventType>> = {
  API_KEY_CREATED: "key.created",
  API_KEY_ROTATED: "key.rotated",
  API_KEY_REVOKED: "key.revoked",
  API_KEY_DISABLED: "key.disabled",
  API_KEY_ENABLED: "key.enabled",
  API_KEY_LEAK_REPORTED: "leak.reported",
};

export interface WebhookEndpointRecord {
  id: string;
  /** Absent: every organisation's events. */
  orgId?: string;
  url: string;
  eventTypes: WebhookEventType[];
  enabled: boolean;
  description: string;
  /** "whsec_" + base64 of 32 random bytes: HMAC needs the secret itself, so it is stored as is. */
  secret: string;
  /** Signs beside `secret` until previousSecretExpiresAtMs (a rotation's grace period). */
  previousSecret?: string;
  previousSecretExpiresAtMs?: number;
  createdAtMs: number;
  updatedAtMs: number;
}

export type DeliveryStatus = "PENDING" | "DELIVERED" | "FAILED";

/** One event queued for one endpoint; (endpointId, eventId) is unique, and eventId orders an endpoint's queue. */
export interface DeliveryRecord {
  endpointId: string;
  eventId: string;
  eventType: WebhookEventType;
  eventAtMs: number;
  /** The JSON body sent, fixed at enqueue so every attempt sends the same bytes. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAtMs: number;
  lastAttemptAtMs?: number;
  lastResponseCode: number;
  lastResponse: string;
}

/** An event about to be queued for every endpoint that wants it. */
export interface WebhookEvent {
  id: string;
  type: WebhookEventType;
  atMs: number;
  orgId?: string;
  data: FieldValues;
}

const ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
export function newEndpointId(): string {
  let s = "";
  for (const b of randomBytes(20)) s += ID_ALPHABET[b % 62];
  return `whe_${s}`;
}

export const ENDPOINT_ID = /^whe_[0-9A-Za-z]{20}$/;

export const newSigningSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

/** The webhook event an audit event stands for, if any. Data is the audit event's view: no secrets by construction. */
export function eventFromAudit(e: AuditEvent): WebhookEvent | undefined {
  const type = EVENT_OF_ACTION[e.action as keyof typeof EVENT_OF_ACTION];
  if (!type) return undefined;
  const data: FieldValues = { key_id: e.targetId, actor_admin_key_id: e.actorId, before: e.before, after: e.after };
  if (e.orgId) data.org_id = e.orgId;
  if (e.requestId) data.request_id = e.requestId;
  return { id: e.id, type, atMs: e.atMs, orgId: e.orgId, data };
}

/** Whether the endpoint receives the event. Changes (from the audit log) only when the endpoint existed at the time;
 * states noticed now (an expiry ahead, a window refused) whenever it exists when they are noticed. */
export function wants(ep: WebhookEndpointRecord, ev: WebhookEvent, sinceCreation = true): boolean {
  return ep.enabled && ep.eventTypes.includes(ev.type) && (ep.orgId === undefined || ep.orgId === ev.orgId) && (!sinceCreation || ev.atMs >= ep.createdAtMs);
}

/** The body every attempt sends: Standard Webhooks' {type, timestamp, data}. */
export const payloadOf = (ev: WebhookEvent): string => JSON.stringify({ type: ev.type, timestamp: new Date(ev.atMs).toISOString(), data: ev.data });

/**
 * An id fixed by what the event is about (e.g. a key's window), not by who notices it: replicas and repeated scans
 * that notice the same thing make the same id, so the queue's unique (endpoint, event) keeps one delivery.
 */
export function derivedEventId(atMs: number, ...parts: (string | number)[]): string {
  const h = createHash("sha256").update(parts.join("\u0000")).digest();
  // Events of one subject derived at one time keep the order of their types (credits.low before credits.exhausted).
  let s = String(RANK[String(parts[0])] ?? 0);
  for (let i = 0; s.length < 16; i++) s += BASE36[h[i]! % 36];
  return eventIdFloor(atMs) + s;
}
const BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz";
const RANK: Record<string, number> = { "credits.low": 1, "credits.exhausted": 2 };
