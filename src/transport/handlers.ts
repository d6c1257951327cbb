// Transport-neutral handlers: authenticate, map wire → domain, call a service, map domain → wire. Both adapters
// (grpc-js and connect-node) serve exactly these functions.
import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { Deps } from "../deps.js";
import { invalidArgument } from "../domain/errors.js";
import { LIMITS } from "../domain/limits.js";
import { checkId, checkOrgId, checkPageToken, checkScopeName, checkScopeNames } from "../services/key-input.js";
import type { ApiKeyRecord, Principal } from "../domain/types.js";
import { clientAddress } from "../services/auth-throttle.js";
import { randomUUID } from "node:crypto";
import { isClientIp } from "../domain/cidr.js";
import { callerAddress } from "../services/audit-trail.js";
import { AuditService } from "../../gen/ts/flux/apikeys/v1/audit_pb.js";
import { ApiKeyService } from "../../gen/ts/flux/apikeys/v1/api_key_service_pb.js";
import { AdminKeyService } from "../../gen/ts/flux/apikeys/v1/admin_key_service_pb.js";
import { PingService } from "../../gen/ts/flux/apikeys/v1/ping_service_pb.js";
import { Granularity } from "../../gen/ts/flux/apikeys/v1/usage_pb.js";
import type { ValidateApiKeyRequest } from "../../gen/ts/flux/apikeys/v1/validation_pb.js";
import { webhookHandlers } from "./webhook-handlers.js";
import { createOrganizationHandlers, OrganizationService } from "./organization-handlers.js";
import { localValidationHandlers } from "./local-validation-handlers.js";
import { adminKeyToWire, apiKeyToWire, auditEventToWire, creditsFromWire, targetTypeFromWire, msOf, rateLimitFromWire, scopeToWire, usageToWire, validationToWire } from "./mappers.js";

export interface CallContext {
  authorization: string | undefined;
  /** From the x-request-id header when the caller sent one. */
  requestId?: string;
  /** The client's address (transport peer string), for throttling failed admin-key attempts. */
  peer?: string;
  /** Server-streaming calls: aborts when the client goes away. */
  signal?: AbortSignal;
}

export type ServiceHandlers<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends { methodKind: "server_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? (req: MessageShape<I>, ctx: CallContext) => AsyncIterable<MessageInitShape<O>>
    : S["method"][K] extends { input: infer I extends DescMessage; output: infer O extends DescMessage }
      ? (req: MessageShape<I>, ctx: CallContext) => Promise<MessageInitShape<O>>
      : never;
};

export interface ServedService<S extends DescService = DescService> {
  service: S;
  /** A method without a handler answers UNIMPLEMENTED on both transports. */
  handlers: Partial<ServiceHandlers<S>>;
  /** Hot methods: the answer without a promise when everything is in memory, else undefined and the handler runs.
   * One that throws has changed nothing: the handler runs and answers the error. */
  now?: Partial<Record<keyof S["method"], NowHandler>>;
}

export type NowHandler = (req: never, ctx: CallContext) => unknown;

const requireId = (id: string, field = "id") => checkId(id, field);

/** clientAddress per peer string, remembered: a connection's calls share their peer, and parsing it is regex work. */
const addresses = new Map<string, string | undefined>();
function addressOf(peer: string | undefined): string | undefined {
  if (peer === undefined) return undefined;
  let a = addresses.get(peer);
  if (a === undefined && !addresses.has(peer)) {
    if (addresses.size >= 10_000) addresses.clear();
    addresses.set(peer, (a = clientAddress(peer)));
  }
  return a;
}

function checkValidateRequest(req: ValidateApiKeyRequest): void {
  checkScopeNames(req.requiredScopes, "required_scopes", LIMITS.requiredScopes);
  if (req.clientIp !== "" && !isClientIp(req.clientIp)) {
    throw invalidArgument(`client_ip must be one IPv4 or IPv6 address (at most ${LIMITS.clientIpLength} characters)`, "client_ip");
  }
}

const PONG = {};

export function createServedServices(deps: Deps): ServedService[] {
  const { auth, keys, validation, scopes, usage, adminKeys, audit, clock, ledger } = deps.services;
  const who = (ctx: CallContext): Promise<Principal> => auth.authenticate(ctx.authorization, addressOf(ctx.peer));
  /** For calls that change something: the principal with the call's request id (assigned when the caller sent none,
   * and then logged with the call too) and address, for the audit event. */
  const actor = async (ctx: CallContext): Promise<Principal> => {
    const p = await who(ctx);
    ctx.requestId ??= randomUUID();
    return { ...p, call: { requestId: ctx.requestId, callerAddress: callerAddress(ctx.peer) } };
  };
  const now = () => clock.nowMs();
  /** A key as answered: a metered key shows its live balance (the ledger's), not the one it was set to. */
  const withBalance = async (k: ApiKeyRecord) => apiKeyToWire(k, now(), k.credits && (await ledger.balance(k.id, k.credits)));

  const apiKeys: ServiceHandlers<typeof ApiKeyService> = {
    async createApiKey(req, ctx) {
      const { key, secret } = await keys.create(await actor(ctx), {
        orgId: req.orgId,
        name: req.name,
        scopes: req.scopes,
        expiresAtMs: msOf(req.expiresAt),
        rateLimit: rateLimitFromWire(req.rateLimit),
        credits: creditsFromWire(req.credits),
        metadata: req.metadata,
        allowedCidrs: req.allowedCidrs,
      });
      return { apiKey: apiKeyToWire(key, now()), secret };
    },
    async validateApiKey(req, ctx) {
      checkValidateRequest(req);
      return validationToWire(await validation.validate(await who(ctx), req.key, req.requiredScopes, req.cost ?? 1, req.clientIp));
    },
    async rotateApiKey(req, ctx) {
      const { key, secret, unconfirmedReplicas } = await keys.rotate(await actor(ctx), requireId(req.id), req.gracePeriodSeconds);
      return { apiKey: apiKeyToWire(key, now()), secret, unconfirmedReplicas };
    },
    async updateApiKey(req, ctx) {
      const k = req.apiKey;
      if (!k) throw invalidArgument("api_key is required", "api_key");
      if ((req.updateMask?.paths.length ?? 0) > LIMITS.updateMaskPaths) {
        throw invalidArgument(`update_mask names at most ${LIMITS.updateMaskPaths} paths`, "update_mask");
      }
      const key = await keys.update(await actor(ctx), requireId(k.id, "api_key.id"), req.updateMask?.paths ?? [], {
        name: k.name,
        scopes: k.scopes,
        rateLimit: rateLimitFromWire(k.rateLimit),
        expiresAtMs: msOf(k.expiresAt),
        metadata: k.metadata,
        enabled: k.enabled,
        credits: creditsFromWire(k.credits),
        allowedCidrs: k.allowedCidrs,
      });
      return { apiKey: await withBalance(key) };
    },
    async getApiKey(req, ctx) {
      return { apiKey: await withBalance(await keys.get(await who(ctx), requireId(req.id))) };
    },
    async listApiKeys(req, ctx) {
      if (req.orgId) checkOrgId(req.orgId);
      checkPageToken(req.pageToken);
      const page = await keys.list(await who(ctx), {
        orgId: req.orgId,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        includeRevoked: req.includeRevoked,
      });
      return { apiKeys: await Promise.all(page.keys.map(withBalance)), nextPageToken: page.nextPageToken };
    },
    async revokeApiKey(req, ctx) {
      return { apiKey: apiKeyToWire(await keys.revoke(await actor(ctx), requireId(req.id)), now()) };
    },
    async getApiKeyUsage(req, ctx) {
      const granularity = req.granularity === Granularity.HOUR ? "HOUR" : "DAY";
      return usageToWire(await usage.get(await who(ctx), requireId(req.id), granularity, msOf(req.seriesStart), req.unusedScopeDays));
    },
    async defineScope(req, ctx) {
      const s = req.scope;
      if (!s) throw invalidArgument("scope is required", "scope");
      return { scope: scopeToWire(await scopes.define(await actor(ctx), s.name, s.description)) };
    },
    async listScopes(_req, ctx) {
      return { scopes: (await scopes.list(await who(ctx))).map(scopeToWire) };
    },
    async deleteScope(req, ctx) {
      await scopes.delete(await actor(ctx), checkScopeName(req.name, "name"));
      return {};
    },
  };

  const admin: ServiceHandlers<typeof AdminKeyService> = {
    async createAdminKey(req, ctx) {
      const { key, secret } = await adminKeys.create(await actor(ctx), { name: req.name, orgId: req.orgId, validateOnly: req.validateOnly, localValidation: req.localValidation });
      return { adminKey: adminKeyToWire(key), secret };
    },
    async listAdminKeys(_req, ctx) {
      return { adminKeys: (await adminKeys.list(await who(ctx))).map(adminKeyToWire) };
    },
    async revokeAdminKey(req, ctx) {
      return { adminKey: adminKeyToWire(await adminKeys.revoke(await actor(ctx), requireId(req.id))) };
    },
  };

  const auditLog: ServiceHandlers<typeof AuditService> = {
    async listAuditEvents(req, ctx) {
      if (req.orgId) checkOrgId(req.orgId);
      checkPageToken(req.pageToken);
      const page = await audit.list(await who(ctx), {
        orgId: req.orgId,
        targetId: req.targetId,
        targetType: targetTypeFromWire(req.targetType),
        actorId: req.actorAdminKeyId,
        startMs: msOf(req.startTime),
        endMs: msOf(req.endTime),
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return { events: page.events.map(auditEventToWire), nextPageToken: page.nextPageToken };
    },
  };

  const ping: ServiceHandlers<typeof PingService> = {
    async ping() {
      return {};
    },
  };

  // The same answers as validateApiKey and ping, when the admin key, the API key and its window are in memory.
  const validateNow = (req: ValidateApiKeyRequest, ctx: CallContext) => {
    const p = auth.authenticateNow(ctx.authorization, addressOf(ctx.peer));
    if (!p) return undefined;
    checkValidateRequest(req);
    const r = validation.validateNow(p, req.key, req.requiredScopes, req.cost ?? 1, req.clientIp);
    return r && validationToWire(r);
  };

  return [
    { service: ApiKeyService, handlers: apiKeys, now: { validateApiKey: validateNow } },
    { service: AdminKeyService, handlers: admin },
    { service: PingService, handlers: ping, now: { ping: () => PONG } },
    { service: AuditService, handlers: auditLog },
    webhookHandlers(deps.services.webhooks.service, who, actor, now),
    { service: OrganizationService, handlers: createOrganizationHandlers(deps, who, actor) },
    localValidationHandlers(deps, who),
  ] as ServedService[];
}
