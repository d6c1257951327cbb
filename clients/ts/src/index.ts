// Core of @flux/sdk, safe in any JavaScript runtime (no node: imports, no transport implementation):
// build a client with Flux.fromTransport(transport, adminKey). The node.ts and web.ts entries add Flux.init defaults.
export { Flux, type FluxConstructorOptions, type FluxTransportOptions } from "./flux.js";
export { ApiKeys } from "./api-keys.js";
export { Organizations } from "./organizations.js";
export { authorizedTransport, createRawClients, type RawClients } from "./raw-client.js";
export { codeName, type ErrorReason, toFluxError } from "./error-mapping.js";
export { refusalError } from "./validation.js";
export {
  AuthenticationError,
  FailedPreconditionError,
  FluxError,
  type FluxErrorInit,
  InsufficientScopeError,
  InternalError,
  InvalidArgumentError,
  InvalidKeyError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitedError,
  ThrottledError,
  UnavailableError,
  UnknownScopeError,
  UsageExceededError,
} from "./errors.js";
export {
  ApiKey,
  type ApiKeyFields,
  type ApiKeyPage,
  CreatedApiKey,
  RotatedApiKey,
  type Granularity,
  KeyInfo,
  type KeyInfoFields,
  type KeyState,
  type Outcome,
  type RateLimit,
  type RateLimitState,
  type Scope,
  type KeyUsageSummary,
  type OrganizationUsage,
  type CreditRefill,
  type Credits,
  type CreditsState,
  type OrganizationPolicy,
  type OrganizationState,
  type PolicyLevel,
  type Usage,
  type UsageBucket,
  type ValidationResult,
} from "./types.js";
export type {
  CreateApiKeyInput,
  ListApiKeysInput,
  RotateOptions,
  UpdateApiKeyInput,
  OrganizationUsageOptions,
  OrganizationPolicyInput,
  UsageOptions,
  ValidateOptions,
} from "./requests.js";
// Status codes of FluxError.code (the gRPC numbering).
export { Code } from "@connectrpc/connect";
