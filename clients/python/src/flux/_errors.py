"""The SDK's error hierarchy, and the one function (from_rpc_error) that turns transport errors into it.

Errors are chosen by the google.rpc.ErrorInfo `reason` the server attaches in `grpc-status-details-bin` (a value of
the generated proto enum ErrorReason), else by gRPC status code, never by message text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple, Type

import grpc
from google.rpc import error_details_pb2, status_pb2

from flux.apikeys.v1 import error_reason_pb2

from ._models import KeyInfo, Outcome

STATUS_DETAILS_KEY = "grpc-status-details-bin"


class FluxError(Exception):
    """Base of every error the SDK raises.

    code: the gRPC status code (None for validation refusals, which are answers, not RPC errors).
    reason: the stable machine-readable reason, e.g. "KEY_NOT_FOUND" (for validation: the outcome).
    metadata: the ErrorInfo metadata, e.g. {"scopes": "a,b"} for UNKNOWN_SCOPE.
    retry_after: seconds to wait before retrying, when the server said so.
    """

    def __init__(
        self,
        message: str,
        *,
        code: Optional[grpc.StatusCode] = None,
        reason: Optional[str] = None,
        metadata: Optional[Dict[str, str]] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.metadata: Dict[str, str] = dict(metadata or {})
        self.retry_after = retry_after

    def __repr__(self) -> str:
        code = self.code.name if self.code is not None else None
        return f"{type(self).__name__}({self.message!r}, code={code}, reason={self.reason!r})"


class AuthenticationError(FluxError):
    """The admin key is missing or invalid (UNAUTHENTICATED)."""


class PermissionDeniedError(FluxError):
    """The admin key may not make this call (PERMISSION_DENIED)."""


class InvalidArgumentError(FluxError):
    """The request is malformed (INVALID_ARGUMENT)."""


class UnknownScopeError(InvalidArgumentError):
    """The request names scopes that were never defined (reason UNKNOWN_SCOPE)."""

    @property
    def scopes(self) -> Tuple[str, ...]:
        return tuple(s for s in self.metadata.get("scopes", "").split(",") if s)


class NotFoundError(FluxError):
    """No such key, scope or admin key (NOT_FOUND)."""


class FailedPreconditionError(FluxError):
    """The resource is in a state that forbids the change, e.g. KEY_REVOKED, SCOPE_IN_USE."""


class ThrottledError(FluxError):
    """Too many failed admin-key attempts came from this address: wait `retry_after` seconds (AUTH_THROTTLED)."""


class UnavailableError(FluxError):
    """Flux or its store cannot answer now; retrying later may succeed (UNAVAILABLE)."""


class InternalError(FluxError):
    """The server failed unexpectedly (INTERNAL)."""


class InvalidKeyError(FluxError):
    """validate() refused the key. outcome says why: NOT_FOUND, MALFORMED, EXPIRED, REVOKED, DISABLED, ..."""

    def __init__(self, message: str, *, outcome: Outcome, key_info: Optional[KeyInfo] = None, **kwargs: Any):
        super().__init__(message, reason=outcome, **kwargs)
        self.outcome: Outcome = outcome
        # The key's details when the secret matched a key (None for NOT_FOUND and MALFORMED).
        self.key_info = key_info


class InsufficientScopeError(InvalidKeyError):
    """The key lacks some of the scopes validate() was asked to require."""

    def __init__(self, message: str, *, missing_scopes: Sequence[str], **kwargs: Any):
        super().__init__(message, **kwargs)
        self.missing_scopes: Tuple[str, ...] = tuple(missing_scopes)


class RateLimitedError(InvalidKeyError):
    """A rate limit is exhausted (the key's, or its organisation's: refused_by): retry after `retry_after` seconds,
    the window ends at `reset_at`."""

    def __init__(
        self, message: str, *, retry_after: float, reset_at: Optional[datetime], refused_by: str = "KEY", **kwargs: Any
    ):
        super().__init__(message, retry_after=retry_after, **kwargs)
        self.retry_after: float = retry_after
        self.reset_at = reset_at
        self.refused_by: str = refused_by


class UsageExceededError(InvalidKeyError):
    """A credit balance cannot pay the call's cost (the key's, or its organisation's: refused_by); nothing was spent.
    credits is the refusing balance (credits.next_refill_at: when it refills, if it does)."""

    def __init__(self, message: str, *, refused_by: str = "KEY", credits: Any = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.refused_by: str = refused_by
        self.credits = credits


ErrorReason = error_reason_pb2.ErrorReason
# ErrorInfo.reason is the enum value's name without this prefix, e.g. "UNKNOWN_SCOPE".
REASON_PREFIX = "ERROR_REASON_"

# Every reason of the proto enum (error_reason.proto, the one list) has its class; a test checks that none is
# missing, so a reason added to the proto without a class here fails the suite.
_BY_REASON: Dict[int, Type[FluxError]] = {
    ErrorReason.ERROR_REASON_ADMIN_KEY_MISSING: AuthenticationError,
    ErrorReason.ERROR_REASON_ADMIN_KEY_INVALID: AuthenticationError,
    ErrorReason.ERROR_REASON_AUTH_THROTTLED: ThrottledError,
    ErrorReason.ERROR_REASON_PERMISSION_DENIED: PermissionDeniedError,
    ErrorReason.ERROR_REASON_INVALID_ARGUMENT: InvalidArgumentError,
    ErrorReason.ERROR_REASON_UNKNOWN_SCOPE: UnknownScopeError,
    ErrorReason.ERROR_REASON_KEY_NOT_FOUND: NotFoundError,
    ErrorReason.ERROR_REASON_SCOPE_NOT_FOUND: NotFoundError,
    ErrorReason.ERROR_REASON_ADMIN_KEY_NOT_FOUND: NotFoundError,
    ErrorReason.ERROR_REASON_WEBHOOK_ENDPOINT_NOT_FOUND: NotFoundError,
    ErrorReason.ERROR_REASON_KEY_REVOKED: FailedPreconditionError,
    ErrorReason.ERROR_REASON_SCOPE_IN_USE: FailedPreconditionError,
    ErrorReason.ERROR_REASON_VALIDATOR_SESSION_ENDED: FailedPreconditionError,
    ErrorReason.ERROR_REASON_STORE_UNAVAILABLE: UnavailableError,
    ErrorReason.ERROR_REASON_INTERNAL: InternalError,
}

# For failures without a known reason: proxies, a newer server's reason, or no server at all.
_BY_CODE = {
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.INTERNAL: InternalError,
}


def reason_value(reason: Optional[str]) -> Optional[int]:
    """The ErrorReason value of a wire reason ("KEY_NOT_FOUND"), or None when this SDK does not know it."""
    if not reason or reason.startswith(REASON_PREFIX):
        return None
    try:
        value = ErrorReason.Value(REASON_PREFIX + reason)
    except ValueError:
        return None
    return None if value == ErrorReason.ERROR_REASON_UNSPECIFIED else value


def from_rpc_error(error: grpc.RpcError) -> FluxError:
    """Turns a failed call (sync grpc.RpcError or grpc.aio.AioRpcError) into the SDK's typed error."""
    code = _call_attr(error, "code")
    message = _call_attr(error, "details") or (code.name if code is not None else str(error))
    reason, metadata, retry_after = _decode_details(_call_attr(error, "trailing_metadata") or ())
    value = reason_value(reason)
    cls = _BY_REASON[value] if value is not None else _BY_CODE.get(code, FluxError)
    if code is grpc.StatusCode.UNAVAILABLE and reason is None:
        reason = "UNAVAILABLE"  # transport failure (no server, connection reset): no ErrorInfo was sent
    return cls(message, code=code, reason=reason, metadata=metadata, retry_after=retry_after)


def _call_attr(error: grpc.RpcError, name: str) -> Any:
    method = getattr(error, name, None)
    return method() if callable(method) else None


def _decode_details(
    trailing_metadata: Iterable[Tuple[str, Any]],
) -> Tuple[Optional[str], Dict[str, str], Optional[float]]:
    """Reads ErrorInfo (reason, metadata) and RetryInfo (delay) from the google.rpc.Status trailer."""
    raw = next((value for key, value in trailing_metadata if key == STATUS_DETAILS_KEY), None)
    if not raw:
        return None, {}, None
    status = status_pb2.Status()
    try:
        status.ParseFromString(raw if isinstance(raw, bytes) else raw.encode("latin-1"))
    except Exception:  # a corrupt trailer must not hide the real error
        return None, {}, None
    reason: Optional[str] = None
    metadata: Dict[str, str] = {}
    retry_after: Optional[float] = None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason, metadata = info.reason or None, dict(info.metadata)
        elif detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            detail.Unpack(retry)
            retry_after = retry.retry_delay.seconds + retry.retry_delay.nanos / 1e9
    return reason, metadata, retry_after
