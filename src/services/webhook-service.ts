// Webhook endpoints: who may manage which (org-limited admin keys their org's; endpoints for all orgs only
// unrestricted keys; another org's endpoint answers like a missing one), the bounds, the target check, secrets shown
// once, and the delivery log. Every change is written with its audit event.
import type { Clock } from "../domain/clock.js";
import { describeSome, FluxError, invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import type { Principal } from "../domain/types.js";
import {
  type DeliveryRecord,
  ENDPOINT_ID,
  isWebhookEventType,
  newEndpointId,
  newSigningSecret,
  WEBHOOK_EVENT_TYPES,
  type WebhookEndpointRecord,
  type WebhookEventType,
} from "../domain/webhooks.js";
import { createSecretBox, type SecretBox } from "../domain/secret-box.js";
import type { WebhookStore } from "../store/webhook-types.js";
import { requireManage, requireOrg, requireUnrestricted } from "./access.js";
import { auditEvent } from "./audit-trail.js";
import { checkOrgId } from "./key-input.js";
import { checkTarget } from "./webhook-targets.js";

export interface EndpointInput {
  orgId?: string;
  url: string;
  eventTypes: string[];
  description: string;
  enabled: boolean;
}

export const UPDATABLE = ["url", "event_types", "enabled", "description"] as const;
const DEFAULT_PAGE = 50;

export const endpointNotFound = (id: string) =>
  ENDPOINT_ID.test(id)
    ? new FluxError("WEBHOOK_ENDPOINT_NOT_FOUND", `webhook endpoint ${JSON.stringify(id)} not found`, { id })
    : new FluxError("WEBHOOK_ENDPOINT_NOT_FOUND", "webhook endpoint not found (ids look like whe_…)");

export class WebhookService {
  constructor(
    private readonly store: WebhookStore,
    private readonly clock: Clock,
    private readonly allowPrivate: boolean,
    /** Seals signing secrets for the store (domain/secret-box.ts); the caller gets them in clear, once. */
    private readonly box: SecretBox = createSecretBox(undefined),
  ) {}

  async create(p: Principal, input: EndpointInput): Promise<{ endpoint: WebhookEndpointRecord; secret: string }> {
    requireManage(p);
    if (input.orgId) {
      checkOrgId(input.orgId);
      requireOrg(p, input.orgId);
    } else requireUnrestricted(p);
    const eventTypes = checkEventTypes(input.eventTypes);
    const description = checkDescription(input.description);
    const url = await checkTarget(input.url, this.allowPrivate);
    if ((await this.store.countEndpoints(input.orgId)) >= LIMITS.webhookEndpointsPerOrg) throw tooMany();
    const now = this.clock.nowMs();
    const secret = newSigningSecret();
    const endpoint: WebhookEndpointRecord = { id: newEndpointId(), url, eventTypes, enabled: input.enabled, description, secret: this.box.seal(secret), createdAtMs: now, updatedAtMs: now };
    if (input.orgId) endpoint.orgId = input.orgId;
    if (!(await this.store.insertEndpoint(endpoint, this.event(p, "WEBHOOK_ENDPOINT_CREATED", undefined, endpoint, now), LIMITS.webhookEndpointsPerOrg))) throw tooMany();
    return { endpoint, secret };
  }

  async get(p: Principal, id: string): Promise<WebhookEndpointRecord> {
    requireManage(p);
    return this.visible(p, id);
  }

  async list(p: Principal, q: { orgId: string; pageSize: number; pageToken: string }): Promise<{ endpoints: WebhookEndpointRecord[]; nextPageToken: string }> {
    requireManage(p);
    if (q.orgId) checkOrgId(q.orgId);
    if (q.pageSize > LIMITS.pageSizeMax) throw invalidArgument(`page_size must be at most ${LIMITS.pageSizeMax}`, "page_size");
    const after = q.pageToken ? decodeToken(q.pageToken) : undefined;
    if (p.orgId !== undefined && q.orgId && q.orgId !== p.orgId) return { endpoints: [], nextPageToken: "" };
    const limit = q.pageSize || DEFAULT_PAGE;
    const rows = await this.store.listEndpoints({ orgId: p.orgId ?? (q.orgId || undefined), limit: limit + 1, after });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { endpoints: page, nextPageToken: rows.length > limit && last ? encodeToken(last) : "" };
  }

  async update(p: Principal, id: string, mask: string[], input: EndpointInput): Promise<WebhookEndpointRecord> {
    requireManage(p);
    if (mask.length === 0) throw invalidArgument(`update_mask must name at least one of ${UPDATABLE.join(", ")}`, "update_mask");
    const unknown = mask.filter((m) => !(UPDATABLE as readonly string[]).includes(m));
    if (unknown.length) throw invalidArgument(`update_mask may name only ${UPDATABLE.join(", ")}; not ${describeSome(unknown)}`, "update_mask");
    const changes: Partial<WebhookEndpointRecord> = {};
    if (mask.includes("event_types")) changes.eventTypes = checkEventTypes(input.eventTypes);
    if (mask.includes("description")) changes.description = checkDescription(input.description);
    if (mask.includes("enabled")) changes.enabled = input.enabled;
    if (mask.includes("url")) changes.url = await checkTarget(input.url, this.allowPrivate);
    return this.change(p, id, "WEBHOOK_ENDPOINT_UPDATED", (before, now) => ({ ...before, ...changes, updatedAtMs: now }), [...new Set(mask)]);
  }

  async delete(p: Principal, id: string): Promise<void> {
    requireManage(p);
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await this.visible(p, id);
      const now = this.clock.nowMs();
      if (await this.store.deleteEndpoint(before, this.event(p, "WEBHOOK_ENDPOINT_DELETED", before, undefined, now))) return;
    }
    throw new FluxError("STORE_UNAVAILABLE", "the endpoint kept changing under concurrent calls; retry", {}, 100);
  }

  async rotateSecret(p: Principal, id: string, gracePeriodSeconds: number): Promise<{ endpoint: WebhookEndpointRecord; secret: string }> {
    requireManage(p);
    if (!Number.isInteger(gracePeriodSeconds) || gracePeriodSeconds < 0 || gracePeriodSeconds > LIMITS.gracePeriodSecondsMax) {
      throw invalidArgument(`grace_period_seconds must be 0–${LIMITS.gracePeriodSecondsMax}`, "grace_period_seconds");
    }
    const secret = newSigningSecret();
    const endpoint = await this.change(p, id, "WEBHOOK_SECRET_ROTATED", (before, now) => {
      const after: WebhookEndpointRecord = { ...before, secret: this.box.seal(secret), updatedAtMs: now };
      delete after.previousSecret;
      delete after.previousSecretExpiresAtMs;
      if (gracePeriodSeconds > 0) Object.assign(after, { previousSecret: before.secret, previousSecretExpiresAtMs: now + gracePeriodSeconds * 1000 });
      return after;
    });
    return { endpoint, secret };
  }

  async deliveries(p: Principal, endpointId: string, pageSize: number, pageToken: string): Promise<{ deliveries: DeliveryRecord[]; nextPageToken: string }> {
    requireManage(p);
    if (pageSize > LIMITS.pageSizeMax) throw invalidArgument(`page_size must be at most ${LIMITS.pageSizeMax}`, "page_size");
    let before: string | undefined;
    if (pageToken) {
      before = Buffer.from(pageToken, "base64url").toString();
      if (!/^evt_[0-9a-z]{26}$/.test(before)) throw invalidArgument("page_token is not one this service issued", "page_token");
    }
    await this.visible(p, endpointId);
    const limit = pageSize || DEFAULT_PAGE;
    const rows = await this.store.listDeliveries(endpointId, limit + 1, before);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { deliveries: page, nextPageToken: rows.length > limit && last ? Buffer.from(last.eventId).toString("base64url") : "" };
  }

  /** The endpoint when the principal may see it; else the same NOT_FOUND a missing id gets. */
  private async visible(p: Principal, id: string): Promise<WebhookEndpointRecord> {
    const ep = await this.store.getEndpoint(id);
    if (!ep || (p.orgId !== undefined && ep.orgId !== p.orgId)) throw endpointNotFound(id);
    return ep;
  }

  /** Read, change, write if unchanged meanwhile (optimistic, like keys); the event goes with the write. */
  private async change(
    p: Principal,
    id: string,
    action: "WEBHOOK_ENDPOINT_UPDATED" | "WEBHOOK_SECRET_ROTATED",
    f: (before: WebhookEndpointRecord, now: number) => WebhookEndpointRecord,
    updateMask?: string[],
  ): Promise<WebhookEndpointRecord> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await this.visible(p, id);
      const now = this.clock.nowMs();
      const after = f(before, Math.max(now, before.updatedAtMs + 1)); // a new version even within one ms
      if (await this.store.replaceEndpoint(before, after, this.event(p, action, before, after, now, updateMask))) return after;
    }
    throw new FluxError("STORE_UNAVAILABLE", "the endpoint kept changing under concurrent calls; retry", {}, 100);
  }

  private event(p: Principal, action: Parameters<typeof auditEvent>[1]["action"], before: WebhookEndpointRecord | undefined, after: WebhookEndpointRecord | undefined, atMs: number, updateMask?: string[]) {
    const ep = (after ?? before)!;
    return auditEvent(p, { action, targetType: "WEBHOOK_ENDPOINT", targetId: ep.id, orgId: ep.orgId, atMs, before, after, updateMask });
  }
}

const tooMany = () => invalidArgument(`an organisation has at most ${LIMITS.webhookEndpointsPerOrg} webhook endpoints (and so do endpoints for all)`, "endpoint.org_id");

function checkEventTypes(types: string[]): WebhookEventType[] {
  const unique = [...new Set(types)];
  if (unique.length === 0) throw invalidArgument(`event_types must name at least one of ${WEBHOOK_EVENT_TYPES.join(", ")}`, "endpoint.event_types");
  if (unique.length > LIMITS.webhookEventTypes) throw invalidArgument(`event_types holds at most ${LIMITS.webhookEventTypes} types`, "endpoint.event_types");
  const bad = unique.filter((t) => !isWebhookEventType(t));
  if (bad.length) throw invalidArgument(`unknown event type(s) ${describeSome(bad)}; known: ${WEBHOOK_EVENT_TYPES.join(", ")}`, "endpoint.event_types");
  return unique as WebhookEventType[];
}

function checkDescription(d: string): string {
  if (d.length > LIMITS.webhookDescriptionLength) throw invalidArgument(`description is longer than ${LIMITS.webhookDescriptionLength} characters`, "endpoint.description");
  return d;
}

const encodeToken = (ep: WebhookEndpointRecord) => Buffer.from(`${ep.createdAtMs}:${ep.id}`).toString("base64url");
function decodeToken(token: string): { createdAtMs: number; id: string } {
  const m = /^(\d{1,16}):(whe_[0-9A-Za-z]{20})$/.exec(Buffer.from(token, "base64url").toString());
  if (!m) throw invalidArgument("page_token is not one this service issued", "page_token");
  return { createdAtMs: Number(m[1]), id: m[2]! };
}
