// The raw generated clients over any Transport, with the admin key attached and every failure passed through
// toFluxError — so the facade and `flux.raw` throw the same typed errors.
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { AdminKeyService } from "./gen/flux/apikeys/v1/admin_key_service_pb.js";
import { ApiKeyService } from "./gen/flux/apikeys/v1/api_key_service_pb.js";
import { LocalValidationService } from "./gen/flux/apikeys/v1/local_validation_pb.js";
import { PingService } from "./gen/flux/apikeys/v1/ping_service_pb.js";
import { OrganizationService } from "./gen/flux/apikeys/v1/organization_pb.js";
import { toFluxError } from "./error-mapping.js";

/** The generated services, reachable for anything the facade lacks. */
export interface RawClients {
  apiKeys: Client<typeof ApiKeyService>;
  adminKeys: Client<typeof AdminKeyService>;
  ping: Client<typeof PingService>;
  organizations: Client<typeof OrganizationService>;
  /** The local validators' protocol (SubscribeKeys and its companions); see `flux.apiKeys.localValidator` in Node. */
  localValidation: Client<typeof LocalValidationService>;
}

function withAdminKey(header: HeadersInit | undefined, adminKey: string): Headers {
  const headers = new Headers(header);
  // A header set on the call itself wins: it lets one client act with another admin key. An empty key sends
  // none, so the server answers ADMIN_KEY_MISSING rather than ADMIN_KEY_INVALID.
  if (adminKey !== "" && !headers.has("authorization")) headers.set("authorization", `Bearer ${adminKey}`);
  return headers;
}

const rethrow = (err: unknown): never => {
  throw toFluxError(err);
};

/**
 * Wraps a transport so every call carries `authorization: Bearer <adminKey>` and fails only with FluxErrors.
 * Streaming calls (SubscribeKeys) are mapped when they start, not per message.
 */
export function authorizedTransport(transport: Transport, adminKey: string): Transport {
  return {
    unary(method, signal, timeoutMs, header, input, contextValues) {
      return transport.unary(method, signal, timeoutMs, withAdminKey(header, adminKey), input, contextValues).catch(rethrow);
    },
    stream(method, signal, timeoutMs, header, input, contextValues) {
      return transport.stream(method, signal, timeoutMs, withAdminKey(header, adminKey), input, contextValues).catch(rethrow);
    },
  };
}

/** Raw clients of every Flux service over `transport`, authorised with `adminKey`. */
export function createRawClients(transport: Transport, adminKey: string): RawClients {
  const authorized = authorizedTransport(transport, adminKey);
  return {
    apiKeys: createClient(ApiKeyService, authorized),
    adminKeys: createClient(AdminKeyService, authorized),
    ping: createClient(PingService, authorized),
    organizations: createClient(OrganizationService, authorized),
    localValidation: createClient(LocalValidationService, authorized),
  };
}
