// WebhookService handlers and their wire mappers: authenticate, map, call services/webhook-service.ts, map back.
import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import type { Principal } from "../domain/types.js";
import type { DeliveryRecord, WebhookEndpointRecord } from "../domain/webhooks.js";
import { checkId, checkPageToken } from "../services/key-input.js";
import type { WebhookService } from "../services/webhook-service.js";
import {
  type WebhookDelivery,
  WebhookDeliverySchema,
  WebhookDeliveryStatus,
  type WebhookEndpoint,
  WebhookEndpointSchema,
  WebhookService as WebhookServiceDesc,
} from "../../gen/ts/flux/apikeys/v1/webhook_pb.js";
import type { CallContext, ServedService, ServiceHandlers } from "./handlers.js";

const ts = (ms: number | undefined): Timestamp | undefined => (ms === undefined ? undefined : timestampFromMs(ms));

export const endpointToWire = (e: WebhookEndpointRecord, nowMs: number): WebhookEndpoint =>
  create(WebhookEndpointSchema, {
    id: e.id,
    orgId: e.orgId ?? "",
    url: e.url,
    eventTypes: e.eventTypes,
    enabled: e.enabled,
    description: e.description,
    createTime: ts(e.createdAtMs),
    updateTime: ts(e.updatedAtMs),
    previousSecretExpireTime: e.previousSecret && (e.previousSecretExpiresAtMs ?? 0) > nowMs ? ts(e.previousSecretExpiresAtMs) : undefined,
  });

export const deliveryToWire = (d: DeliveryRecord): WebhookDelivery =>
  create(WebhookDeliverySchema, {
    eventId: d.eventId,
    eventType: d.eventType,
    status: WebhookDeliveryStatus[d.status],
    attempts: d.attempts,
    lastResponseCode: d.lastResponseCode,
    lastResponse: d.lastResponse,
    nextAttemptTime: d.status === "PENDING" ? ts(d.nextAttemptAtMs) : undefined,
    eventTime: ts(d.eventAtMs),
    lastAttemptTime: ts(d.lastAttemptAtMs),
  });

export function webhookHandlers(
  webhooks: WebhookService,
  who: (ctx: CallContext) => Promise<Principal>,
  actor: (ctx: CallContext) => Promise<Principal>,
  now: () => number,
): ServedService<typeof WebhookServiceDesc> {
  const requireEndpoint = (e: WebhookEndpoint | undefined) => {
    if (!e) throw invalidArgument("endpoint is required", "endpoint");
    return e;
  };
  const handlers: ServiceHandlers<typeof WebhookServiceDesc> = {
    async createWebhookEndpoint(req, ctx) {
      const e = requireEndpoint(req.endpoint);
      const { endpoint, secret } = await webhooks.create(await actor(ctx), {
        orgId: e.orgId || undefined,
        url: e.url,
        eventTypes: e.eventTypes,
        description: e.description,
        enabled: !req.disabled,
      });
      return { endpoint: endpointToWire(endpoint, now()), secret };
    },
    async getWebhookEndpoint(req, ctx) {
      return { endpoint: endpointToWire(await webhooks.get(await who(ctx), checkId(req.id)), now()) };
    },
    async listWebhookEndpoints(req, ctx) {
      checkPageToken(req.pageToken);
      const page = await webhooks.list(await who(ctx), { orgId: req.orgId, pageSize: req.pageSize, pageToken: req.pageToken });
      return { endpoints: page.endpoints.map((e) => endpointToWire(e, now())), nextPageToken: page.nextPageToken };
    },
    async updateWebhookEndpoint(req, ctx) {
      const e = requireEndpoint(req.endpoint);
      const paths = req.updateMask?.paths ?? [];
      if (paths.length > LIMITS.updateMaskPaths) throw invalidArgument(`update_mask names at most ${LIMITS.updateMaskPaths} paths`, "update_mask");
      const endpoint = await webhooks.update(await actor(ctx), checkId(e.id, "endpoint.id"), paths, {
        url: e.url,
        eventTypes: e.eventTypes,
        description: e.description,
        enabled: e.enabled,
      });
      return { endpoint: endpointToWire(endpoint, now()) };
    },
    async deleteWebhookEndpoint(req, ctx) {
      await webhooks.delete(await actor(ctx), checkId(req.id));
      return {};
    },
    async rotateWebhookSecret(req, ctx) {
      const { endpoint, secret } = await webhooks.rotateSecret(await actor(ctx), checkId(req.id), req.gracePeriodSeconds);
      return { endpoint: endpointToWire(endpoint, now()), secret };
    },
    async listWebhookDeliveries(req, ctx) {
      checkPageToken(req.pageToken);
      const page = await webhooks.deliveries(await who(ctx), checkId(req.endpointId, "endpoint_id"), req.pageSize, req.pageToken);
      return { deliveries: page.deliveries.map(deliveryToWire), nextPageToken: page.nextPageToken };
    },
  };
  return { service: WebhookServiceDesc, handlers };
}
