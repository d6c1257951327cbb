// The one table from domain error reasons to gRPC codes, and the google.rpc details both transports send.
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { type Duration, durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { type ErrorReason, FluxError, storeUnavailable } from "../domain/errors.js";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";

// Typed as a Record over every reason: adding a reason without a code fails to compile.
export const CODE_OF: Record<ErrorReason, Code> = {
  ADMIN_KEY_MISSING: Code.Unauthenticated,
  ADMIN_KEY_INVALID: Code.Unauthenticated,
  AUTH_THROTTLED: Code.ResourceExhausted,
  PERMISSION_DENIED: Code.PermissionDenied,
  INVALID_ARGUMENT: Code.InvalidArgument,
  UNKNOWN_SCOPE: Code.InvalidArgument,
  KEY_NOT_FOUND: Code.NotFound,
  SCOPE_NOT_FOUND: Code.NotFound,
  ADMIN_KEY_NOT_FOUND: Code.NotFound,
  KEY_REVOKED: Code.FailedPrecondition,
  SCOPE_IN_USE: Code.FailedPrecondition,
  STORE_UNAVAILABLE: Code.Unavailable,
  INTERNAL: Code.Internal,
};

export const ERROR_DOMAIN = "flux.apikeys.v1";

/** Any thrown value as a FluxError; the second value is true when it was unexpected and must be logged. */
export function toFluxError(err: unknown): [FluxError, boolean] {
  if (err instanceof FluxError) return [err, err.reason === "INTERNAL" || err.reason === "STORE_UNAVAILABLE"];
  if (isStoreOutage(err)) return [storeUnavailable(err), true];
  const e = new FluxError("INTERNAL", "internal error");
  (e as { cause?: unknown }).cause = err;
  return [e, true];
}

function isStoreOutage(err: unknown): boolean {
  const name = (err as { name?: string })?.name ?? "";
  const code = (err as { code?: string })?.code ?? "";
  return (
    /^Mongo(Network|ServerSelection|NotConnected|Topology|PoolClosed|NetworkTimeout)/.test(name) ||
    code === "SQLITE_BUSY" ||
    code === "SQLITE_IOERR"
  );
}

export interface ErrorDetail {
  desc: DescMessage;
  value: MessageShape<DescMessage>;
}

/** ErrorInfo always, RetryInfo when a retry helps. */
export function errorDetails(e: FluxError): ErrorDetail[] {
  const details: ErrorDetail[] = [
    { desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason: e.reason, domain: ERROR_DOMAIN, metadata: e.metadata }) },
  ];
  if (e.retryAfterMs !== undefined) {
    const retryDelay: Duration = durationFromMs(e.retryAfterMs);
    details.push({ desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay }) });
  }
  return details;
}
