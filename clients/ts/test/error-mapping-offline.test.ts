// toFluxError and refusalError without a server: the reason table agrees with the server's, unknown reasons fall
// back to the code, and nothing depends on message text.
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { describe, expect, expectTypeOf, it } from "vitest";
import { ErrorReasonSchema } from "../../../gen/ts/flux/apikeys/v1/error_reason_pb.js";
import { ErrorInfoSchema, RetryInfoSchema } from "../../../gen/ts/google/rpc/error_details_pb.js";
import type { ErrorReason as ServerErrorReason } from "../../../src/domain/errors.js";
import { CODE_OF, ERROR_DOMAIN } from "../../../src/transport/error-table.js";
import {
  AuthenticationError,
  Code,
  codeName,
  type ErrorReason,
  FailedPreconditionError,
  FluxError,
  InsufficientScopeError,
  InternalError,
  InvalidArgumentError,
  InvalidKeyError,
  KeyInfo,
  NotFoundError,
  PermissionDeniedError,
  RateLimitedError,
  refusalError,
  ThrottledError,
  toFluxError,
  UnavailableError,
  UnknownScopeError,
} from "../src/index.js";

function rpcError(code: Code, reason?: string, opts: { message?: string; metadata?: Record<string, string>; retryMs?: number } = {}) {
  const details = [];
  if (reason !== undefined) {
    details.push({ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: ERROR_DOMAIN, metadata: opts.metadata ?? {} }) });
  }
  if (opts.retryMs !== undefined) {
    details.push({ desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay: durationFromMs(opts.retryMs) }) });
  }
  return new ConnectError(opts.message ?? "some server text", code, undefined, details);
}

const CLASS_OF_CODE = {
  [Code.Unauthenticated]: AuthenticationError,
  [Code.PermissionDenied]: PermissionDeniedError,
  [Code.InvalidArgument]: InvalidArgumentError,
  [Code.NotFound]: NotFoundError,
  [Code.FailedPrecondition]: FailedPreconditionError,
  [Code.ResourceExhausted]: ThrottledError, // by reason only (AUTH_THROTTLED): a bare RESOURCE_EXHAUSTED stays FluxError
  [Code.Unavailable]: UnavailableError,
  [Code.Internal]: InternalError,
} as Record<number, typeof FluxError>;

describe("toFluxError", () => {
  it("knows exactly the reasons the server sends", () => {
    expectTypeOf<ErrorReason>().toEqualTypeOf<ServerErrorReason>();
  });

  it.each(Object.entries(CODE_OF))("maps the server's %s (code %i) to the class of its code, keeping reason and code", (reason, code) => {
    const err = toFluxError(rpcError(code, reason));
    expect(err).toBeInstanceOf(CLASS_OF_CODE[code]!);
    expect(err).toMatchObject({ code, reason, message: "some server text" });
  });

  it("maps every reason of the proto enum ErrorReason to a typed error by the reason alone", () => {
    const reasons = ErrorReasonSchema.values.filter((v) => v.number !== 0).map((v) => v.localName);
    expect(reasons).toContain("AUTH_THROTTLED");
    for (const reason of reasons) {
      // Code.Unknown has no class of its own: only the reason can choose the class here.
      const err = toFluxError(rpcError(Code.Unknown, reason));
      expect(err.constructor, reason).not.toBe(FluxError);
      expect(err.reason).toBe(reason);
    }
  });

  it("narrows UNKNOWN_SCOPE to UnknownScopeError with the scope names from metadata", () => {
    const err = toFluxError(rpcError(Code.InvalidArgument, "UNKNOWN_SCOPE", { metadata: { scopes: "a:b,c:d" } }));
    expect(err).toBeInstanceOf(UnknownScopeError);
    expect((err as UnknownScopeError).scopes).toEqual(["a:b", "c:d"]);
  });

  it("reads RetryInfo into retryAfterMs", () => {
    expect(toFluxError(rpcError(Code.Unavailable, "STORE_UNAVAILABLE", { retryMs: 1500 })).retryAfterMs).toBe(1500);
    expect(toFluxError(rpcError(Code.NotFound, "KEY_NOT_FOUND")).retryAfterMs).toBeUndefined();
  });

  it("falls back to the code for an unknown reason or none, and names the reason after the code", () => {
    const future = toFluxError(rpcError(Code.NotFound, "SOMETHING_NEW"));
    expect(future).toBeInstanceOf(NotFoundError);
    expect(future.reason).toBe("SOMETHING_NEW");
    const bare = toFluxError(rpcError(Code.Unavailable));
    expect(bare).toBeInstanceOf(UnavailableError);
    expect(bare.reason).toBe("UNAVAILABLE");
    const odd = toFluxError(rpcError(Code.ResourceExhausted));
    expect(odd.constructor).toBe(FluxError);
    expect(odd).toMatchObject({ code: Code.ResourceExhausted, reason: "RESOURCE_EXHAUSTED" });
  });

  it("ignores message text: the same text under another reason gives another class", () => {
    const text = "API key not found";
    expect(toFluxError(rpcError(Code.FailedPrecondition, "KEY_REVOKED", { message: text }))).toBeInstanceOf(FailedPreconditionError);
    expect(toFluxError(rpcError(Code.PermissionDenied, "PERMISSION_DENIED", { message: text }))).toBeInstanceOf(PermissionDeniedError);
  });

  it("wraps non-RPC throwables as FluxError UNKNOWN, keeps the cause, and returns FluxErrors as they are", () => {
    const cause = new TypeError("fetch failed");
    const err = toFluxError(cause);
    expect(err).toMatchObject({ code: Code.Unknown, reason: "UNKNOWN", cause });
    expect(toFluxError(err)).toBe(err);
    expect(err.name).toBe("FluxError");
    expect(toFluxError(rpcError(Code.NotFound, "KEY_NOT_FOUND")).name).toBe("NotFoundError");
  });

  it("names codes as the gRPC spec does", () => {
    expect([Code.DeadlineExceeded, Code.FailedPrecondition, 0 as Code].map((c) => codeName(c))).toEqual([
      "DEADLINE_EXCEEDED",
      "FAILED_PRECONDITION",
      "UNKNOWN",
    ]);
  });
});

describe("refusalError", () => {
  const keyInfo = new KeyInfo({ id: "key_1", orgId: "org", name: "k", scopes: [], metadata: {}, expiresAt: undefined, rateLimit: undefined });

  it("gives RateLimitedError with retryAfterMs and resetAt from the rate-limit state", () => {
    const resetAt = new Date(Date.UTC(2026, 0, 1));
    const rateLimit = { limit: 5, remaining: 0, resetAt, retryAfterMs: 1234 };
    const err = refusalError({ valid: false, outcome: "RATE_LIMITED", key: keyInfo, rateLimit, missingScopes: [] });
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err).toBeInstanceOf(InvalidKeyError);
    expect(err).toMatchObject({ outcome: "RATE_LIMITED", reason: "RATE_LIMITED", retryAfterMs: 1234, resetAt, keyInfo, code: undefined });
  });

  it("gives InsufficientScopeError with the missing scopes, and InvalidKeyError for the rest", () => {
    const scoped = refusalError({ valid: false, outcome: "INSUFFICIENT_SCOPE", key: keyInfo, rateLimit: undefined, missingScopes: ["x"] });
    expect(scoped).toBeInstanceOf(InsufficientScopeError);
    expect((scoped as InsufficientScopeError).missingScopes).toEqual(["x"]);
    for (const outcome of ["NOT_FOUND", "MALFORMED", "EXPIRED", "REVOKED", "DISABLED"] as const) {
      const err = refusalError({ valid: false, outcome, key: undefined, rateLimit: undefined, missingScopes: [] });
      expect(err.constructor).toBe(InvalidKeyError);
      expect(err.outcome).toBe(outcome);
    }
  });
});
