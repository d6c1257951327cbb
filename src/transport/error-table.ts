// The one table from domain error reasons to gRPC codes, and the google.rpc details both transports send.
import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { type Duration, durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { type ErrorReason, FluxError, storeUnavailable } from "../domain/errors.js";
import { ERROR_BOUNDS } from "../domain/limits.js";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";

// Typed as a Record over every value of the proto enum ErrorReason (via domain/errors.ts): a reason added to
// error_reason.proto without a code here fails to compile.
export const CODE_OF: Record<ErrorReason, Code> = {
  ADMIN_KEY_MISSING: Code.Unauthenticated,
  ADMIN_KEY_INVALID: Code.Unauthenticated,
  AUTH_THROTTLED: Code.ResourceExhausted,
  WEBHOOK_ENDPOINT_NOT_FOUND: Code.NotFound,
  PERMISSION_DENIED: Code.PermissionDenied,
  INVALID_ARGUMENT: Code.InvalidArgument,
  UNKNOWN_SCOPE: Code.InvalidArgument,
  KEY_NOT_FOUND: Code.NotFound,
  SCOPE_NOT_FOUND: Code.NotFound,
  ADMIN_KEY_NOT_FOUND: Code.NotFound,
  KEY_REVOKED: Code.FailedPrecondition,
  SCOPE_IN_USE: Code.FailedPrecondition,
  VALIDATOR_SESSION_ENDED: Code.FailedPrecondition,
  STORE_UNAVAILABLE: Code.Unavailable,
  INTERNAL: Code.Internal,
};

export const ERROR_DOMAIN = "flux.apikeys.v1";

/** Any thrown value as a FluxError; the second value is true when it was unexpected and must be logged. */
export function toFluxError(err: unknown): [FluxError, boolean] {
  if (err instanceof FluxError) return [bounded(err), err.reason === "INTERNAL" || err.reason === "STORE_UNAVAILABLE"];
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

/**
 * The backstop on every error's size (services already name only a few values): the message and ErrorInfo
 * metadata are cut to ERROR_BOUNDS, so gRPC trailers stay well under 8 KB (grpcio's limit) whatever a service wrote.
 */
export function bounded(e: FluxError): FluxError {
  const message = cutUtf8(e.message, ERROR_BOUNDS.messageBytes);
  const entries = Object.entries(e.metadata);
  let total = 0;
  const metadata: Record<string, string> = {};
  for (const [k, v] of entries.slice(0, ERROR_BOUNDS.metadataEntries)) {
    const key = k.slice(0, ERROR_BOUNDS.metadataKeyLength);
    const room = ERROR_BOUNDS.metadataTotalLength - total - key.length;
    if (room <= 0) break;
    const value = v.slice(0, Math.min(ERROR_BOUNDS.metadataValueLength, room));
    metadata[key] = value;
    total += key.length + value.length;
  }
  const same = message === e.message && Object.keys(metadata).length === entries.length && entries.every(([k, v]) => metadata[k] === v);
  if (same) return e;
  const b = new FluxError(e.reason, message, metadata, e.retryAfterMs);
  (b as { cause?: unknown }).cause = (e as { cause?: unknown }).cause;
  return b;
}

/** At most maxBytes of UTF-8, cut at a character boundary, marked with "…" when cut. */
function cutUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s) <= maxBytes) return s;
  let out = "";
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes - 3) break;
    out += ch;
    bytes += n;
  }
  return `${out}…`;
}
