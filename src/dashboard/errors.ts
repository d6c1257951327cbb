// Turns any failure into a sentence a person can act on. Branches on the ErrorInfo reason, never on message text;
// the server's own message is kept as detail because it names the offending field or value.
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../gen/ts/google/rpc/error_details_pb.js";
import type { ErrorReason } from "../domain/errors.js";

export interface Problem {
  /** What went wrong and what to do, in plain words. */
  message: string;
  /** The server's message, when it adds something. */
  detail?: string;
  /** The stable reason (or gRPC code) for support and tests. */
  reason: string;
}

// Closed over the proto enum ErrorReason (through the domain type): a reason added to the proto without a sentence
// here fails to compile.
export const BY_REASON: Record<ErrorReason, string | ((meta: Record<string, string>) => string)> = {
  ADMIN_KEY_MISSING: "Sign in with an admin key first.",
  ADMIN_KEY_INVALID: "The server did not accept this admin key. Check that it was pasted completely and has not been revoked.",
  AUTH_THROTTLED: "Too many failed sign-in attempts from this address. Wait a minute, then try again with a valid admin key.",
  PERMISSION_DENIED: "This admin key is not allowed to do that.",
  INVALID_ARGUMENT: "The server rejected the request.",
  UNKNOWN_SCOPE: (m) => `Unknown scope${m.scopes?.includes(",") ? "s" : ""}: ${m.scopes ?? "?"}. Define scopes in Settings before giving them to keys.`,
  KEY_NOT_FOUND: "This key does not exist, or this admin key cannot see it.",
  SCOPE_NOT_FOUND: "That scope is not defined (it may have been deleted already).",
  ADMIN_KEY_NOT_FOUND: "That admin key does not exist.",
  WEBHOOK_ENDPOINT_NOT_FOUND: "That webhook endpoint does not exist (it may have been deleted).",
  KEY_REVOKED: "This key is revoked: it can no longer be changed, enabled or rotated.",
  VALIDATOR_SESSION_ENDED: "The local validator's session ended; it subscribes again.",
  SCOPE_IN_USE: "This scope is still carried by at least one key. Remove it from those keys (or revoke them) first.",
  STORE_UNAVAILABLE: "The key store is unavailable right now. Try again in a moment.",
  INTERNAL: "The server hit an internal error. Try again; if it persists, check the server log.",
};

const BY_CODE: Partial<Record<Code, string>> = {
  [Code.Unavailable]: "Could not reach the Flux server. Check that it is running and try again.",
  [Code.DeadlineExceeded]: "The server took too long to answer. Try again.",
  [Code.Unauthenticated]: "The server did not accept this admin key.",
  [Code.PermissionDenied]: "This admin key is not allowed to do that.",
  [Code.ResourceExhausted]: "Too many requests. Wait a moment and try again.",
  [Code.Unimplemented]: "This server does not support that operation. Is the dashboard newer than the server?",
};

const isKnownReason = (reason: string): reason is ErrorReason => Object.hasOwn(BY_REASON, reason);

export function describeError(err: unknown): Problem {
  if (!(err instanceof ConnectError) && err instanceof Error && !isNetworkError(err)) {
    return { message: err.message, reason: "CLIENT" };
  }
  const ce = ConnectError.from(err);
  const info = ce.findDetails(ErrorInfoSchema)[0];
  const serverSays = ce.rawMessage ? sentence(ce.rawMessage) : undefined;
  if (info && isKnownReason(info.reason)) {
    const entry = BY_REASON[info.reason];
    const message = typeof entry === "function" ? entry(info.metadata) : entry;
    // For bad input the server's message is the useful part ("name must be 1–200 characters").
    if (info.reason === "INVALID_ARGUMENT" && serverSays) return { message: serverSays, reason: info.reason };
    // The sign-in messages already say all there is to say about a bad admin key.
    if (info.reason.startsWith("ADMIN_KEY_")) return { message, reason: info.reason };
    return { message, detail: serverSays && serverSays !== message ? serverSays : undefined, reason: info.reason };
  }
  if (isNetworkError(err)) return { message: BY_CODE[Code.Unavailable]!, reason: Code[Code.Unavailable] };
  const generic = BY_CODE[ce.code];
  return {
    message: generic ?? serverSays ?? "Something went wrong.",
    detail: generic && serverSays ? serverSays : undefined,
    reason: info?.reason || Code[ce.code] || "UNKNOWN",
  };
}

/** One line for toasts and banners. */
export function errorText(err: unknown): string {
  const p = describeError(err);
  return p.detail ? `${p.message} (${p.detail})` : p.message;
}

function isNetworkError(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : "";
  return err instanceof TypeError || /failed to fetch|networkerror|load failed/i.test(msg);
}

function sentence(s: string): string {
  const t = s.trim();
  if (!t) return t;
  // "scope.name must be…" keeps its field path as written; plain words get a capital.
  const cap = /^[a-z]+\b(?![._])/.test(t) ? t[0]!.toUpperCase() + t.slice(1) : t;
  return /[.!?]$/.test(cap) ? cap : `${cap}.`;
}
