// Domain errors: every failure a service reports has a stable reason; transport/error-table.ts maps reasons to gRPC codes.
import { ERROR_VALUES_SHOWN } from "./limits.js";

export type ErrorReason =
  | "ADMIN_KEY_MISSING"
  | "ADMIN_KEY_INVALID"
  | "AUTH_THROTTLED"
  | "PERMISSION_DENIED"
  | "INVALID_ARGUMENT"
  | "UNKNOWN_SCOPE"
  | "KEY_NOT_FOUND"
  | "SCOPE_NOT_FOUND"
  | "ADMIN_KEY_NOT_FOUND"
  | "KEY_REVOKED"
  | "SCOPE_IN_USE"
  | "STORE_UNAVAILABLE"
  | "INTERNAL";

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
