// Domain errors: every failure a service reports has a stable reason; transport/error-table.ts maps reasons to gRPC codes.
import type { ErrorReason as ErrorReasonEnum } from "../../gen/ts/flux/apikeys/v1/error_reason_pb.js";
import { ERROR_VALUES_SHOWN } from "./limits.js";

/**
 * A reason as sent in google.rpc.ErrorInfo.reason: the name of a value of the proto enum ErrorReason
 * (proto/flux/apikeys/v1/error_reason.proto, the only list) without its ERROR_REASON_ prefix. Derived from the
 * generated enum, so a reason exists here exactly when it exists in the proto.
 */
export type ErrorReason = Exclude<keyof typeof ErrorReasonEnum, "UNSPECIFIED">;

export class FluxError extends Error {
  constructor(
    readonly reason: ErrorReason,
    message: string,
    /** Safe to show callers: never secrets. */
    readonly metadata: Record<string, string> = {},
    /** Set when retrying after this many ms may help. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "FluxError";
  }
}

export const invalidArgument = (message: string, field?: string) =>
  new FluxError("INVALID_ARGUMENT", message, field ? { field } : {});

/** Echoes the id only when it is shaped like one: a secret pasted as an id is never repeated back. */
export const keyNotFound = (id: string) =>
  /^key_[0-9A-Za-z]{20}$/.test(id)
    ? new FluxError("KEY_NOT_FOUND", `API key ${JSON.stringify(id)} not found`, { id })
    : new FluxError("KEY_NOT_FOUND", "API key not found (ids look like key_…)");

/** Wraps a database failure without leaking its text (it may echo documents). */
export const storeUnavailable = (cause: unknown) => {
  const e = new FluxError("STORE_UNAVAILABLE", "the key store is unavailable; retry shortly", {}, 1000);
  (e as { cause?: unknown }).cause = cause;
  return e;
};

/** At most ERROR_VALUES_SHOWN values, each cut short, for messages and metadata: an error stays small however many there were. */
export function someOf(values: readonly string[], eachMax = 48): string[] {
  return values.slice(0, ERROR_VALUES_SHOWN).map((v) => (v.length > eachMax ? `${v.slice(0, eachMax)}…` : v));
}

/** `"a", "b", "c" and 97 more` */
export function describeSome(values: readonly string[], eachMax = 48): string {
  const shown = someOf(values, eachMax).map((v) => JSON.stringify(v)).join(", ");
  const rest = values.length - Math.min(values.length, ERROR_VALUES_SHOWN);
  return rest > 0 ? `${shown} and ${rest} more` : shown;
}
