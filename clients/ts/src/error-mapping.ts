// The one function that turns any transport failure into the SDK's typed errors: by the google.rpc.ErrorInfo
// `reason` the server attaches (grpc-status-details-bin on gRPC, error details on Connect), else by status code.
import { Code, ConnectError } from "@connectrpc/connect";
import type { ErrorReason as ErrorReasonEnum } from "./gen/flux/apikeys/v1/error_reason_pb.js";
import { ErrorInfoSchema, RetryInfoSchema } from "./gen/google/rpc/error_details_pb.js";
import {
  AuthenticationError,
  FailedPreconditionError,
  FluxError,
  type FluxErrorInit,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ThrottledError,
  UnavailableError,
  UnknownScopeError,
} from "./errors.js";
import { tlsHandshakeFailure } from "./tls-errors.js";

/**
 * Every reason the server sends (domain "flux.apikeys.v1"): the names of the proto enum ErrorReason
 * (error_reason.proto) without their ERROR_REASON_ prefix, derived from the generated enum, never listed by hand.
 */
export type ErrorReason = Exclude<keyof typeof ErrorReasonEnum, "UNSPECIFIED">;

type ErrorClass = new (message: string, init: FluxErrorInit) => FluxError;

// Closed table: a reason added to the proto enum without a class here fails to compile.
const CLASS_OF_REASON: Record<ErrorReason, ErrorClass> = {
  ADMIN_KEY_MISSING: AuthenticationError,
  ADMIN_KEY_INVALID: AuthenticationError,
  AUTH_THROTTLED: ThrottledError,
  PERMISSION_DENIED: PermissionDeniedError,
  INVALID_ARGUMENT: InvalidArgumentError,
  UNKNOWN_SCOPE: UnknownScopeError,
  KEY_NOT_FOUND: NotFoundError,
  VALIDATOR_SESSION_ENDED: FailedPreconditionError,
  SCOPE_NOT_FOUND: NotFoundError,
  ADMIN_KEY_NOT_FOUND: NotFoundError,
  WEBHOOK_ENDPOINT_NOT_FOUND: NotFoundError,
  KEY_REVOKED: FailedPreconditionError,
  SCOPE_IN_USE: FailedPreconditionError,
  STORE_UNAVAILABLE: UnavailableError,
  INTERNAL: InternalError,
};

// For failures without a known reason: proxies, a server of another version, or no server at all.
const CLASS_OF_CODE: Partial<Record<Code, ErrorClass>> = {
  [Code.Unauthenticated]: AuthenticationError,
  [Code.PermissionDenied]: PermissionDeniedError,
  [Code.InvalidArgument]: InvalidArgumentError,
  [Code.NotFound]: NotFoundError,
  [Code.FailedPrecondition]: FailedPreconditionError,
  [Code.Unavailable]: UnavailableError,
  [Code.Internal]: InternalError,
};

const isKnownReason = (reason: string): reason is ErrorReason => Object.hasOwn(CLASS_OF_REASON, reason);

/** "NOT_FOUND" for Code.NotFound: the reason of a failure that carried no ErrorInfo. */
export function codeName(code: Code): string {
  return (Code[code] ?? "Unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * Turns anything a call threw into a FluxError subclass. Idempotent: a FluxError is returned as is.
 * The original error stays reachable as `cause`.
 */
export function toFluxError(err: unknown): FluxError {
  if (err instanceof FluxError) return err;
  const ce = ConnectError.from(err);
  const tls = tlsHandshakeFailure(err);
  if (tls) return new UnavailableError(tls, { code: Code.Unavailable, reason: "UNAVAILABLE", metadata: {}, retryAfterMs: undefined, cause: err });
  const info = ce.findDetails(ErrorInfoSchema)[0];
  const retry = ce.findDetails(RetryInfoSchema)[0]?.retryDelay;
  const reason = info?.reason || codeName(ce.code);
  const cls = (isKnownReason(reason) ? CLASS_OF_REASON[reason] : undefined) ?? CLASS_OF_CODE[ce.code] ?? FluxError;
  return new cls(ce.rawMessage || codeName(ce.code), {
    code: ce.code,
    reason,
    metadata: info?.metadata ?? {},
    retryAfterMs: retry ? Number(retry.seconds) * 1000 + Math.round(retry.nanos / 1e6) : undefined,
    cause: err,
  });
}
