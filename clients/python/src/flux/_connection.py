"""Where to connect and how to authenticate: the address rules and the channels that add the admin key.

The admin key is added by a channel interceptor, so the raw stubs (client.raw) are authenticated too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional, Sequence, Tuple, Union

import grpc
import grpc.aio

DEFAULT_URL = "127.0.0.1:50051"
URL_ENV = "FLUX_URL"
# Without keepalive a channel idle behind a NAT can hang on its next call; these are gentle values.
_CHANNEL_OPTIONS: Sequence[Tuple[str, Any]] = (
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
)


class Target(NamedTuple):
    address: str  # host:port
    secure: bool  # TLS (https://) or plaintext h2c


def resolve_target(url: Optional[str] = None) -> Target:
    """url, else $FLUX_URL, else 127.0.0.1:50051. Accepts "host:port", "http://host:port" or "https://host[:port]"."""
    raw = (url or os.environ.get(URL_ENV) or DEFAULT_URL).strip()
    secure = False
    if "://" in raw:
        scheme, raw = raw.split("://", 1)
        scheme = scheme.lower()
        if scheme not in ("http", "https", "grpc", "grpcs"):
            raise ValueError(f"flux: unsupported URL scheme {scheme!r} in {url or os.environ.get(URL_ENV)!r}")
        secure = scheme in ("https", "grpcs")
    address = raw.split("/", 1)[0]
    if not address:
        raise ValueError(f"flux: no host in URL {url!r}")
    if not (":" in address and address.rsplit(":", 1)[1].isdigit()):  # "[::1]" has no port, "[::1]:80" has
        address = f"{address}:{443 if secure else 80}"
    return Target(address=address, secure=secure)


PemSource = Union[bytes, str, "os.PathLike[str]"]


class TlsOptions(NamedTuple):
    """PEM material for https:// URLs: ca replaces the system's roots; client_cert + client_key for mTLS."""

    ca: Optional[PemSource] = None
    client_cert: Optional[PemSource] = None
    client_key: Optional[PemSource] = None


def _pem(value: Optional[PemSource], what: str) -> Optional[bytes]:
    """bytes are PEM already; a str or path names a PEM file."""
    if value is None or isinstance(value, bytes):
        return value
    try:
        return Path(value).read_bytes()
    except OSError as error:
        raise ValueError(f"flux: cannot read {what} file {str(value)!r}: {error.strerror or error}") from error


def channel_credentials(target: Target, tls: TlsOptions) -> Optional[grpc.ChannelCredentials]:
    """TLS credentials for an https:// target (None for cleartext); TLS options on a cleartext URL are a mistake."""
    if not target.secure:
        if any(v is not None for v in tls):
            raise ValueError("flux: ca, client_cert and client_key need an https:// URL")
        return None
    if (tls.client_cert is None) != (tls.client_key is None):
        raise ValueError("flux: client_cert and client_key go together (mTLS)")
    return grpc.ssl_channel_credentials(
        root_certificates=_pem(tls.ca, "ca"),
        private_key=_pem(tls.client_key, "client_key"),
        certificate_chain=_pem(tls.client_cert, "client_cert"),
    )


def auth_metadata(admin_key: str) -> Tuple[Tuple[str, str], ...]:
    if not admin_key:
        raise ValueError("flux: an admin key is required")
    return (("authorization", f"Bearer {admin_key}"),)


def _with_metadata(details: Any, extra: Tuple[Tuple[str, str], ...]) -> Any:
    metadata = list(details.metadata or ()) + list(extra)
    return details._replace(metadata=metadata)


class _CallDetails(
    NamedTuple(
        "_CallDetails",
        [
            ("method", str),
            ("timeout", Optional[float]),
            ("metadata", Any),
            ("credentials", Any),
            ("wait_for_ready", Optional[bool]),
            ("compression", Any),
        ],
    ),
    grpc.ClientCallDetails,
):
    """grpc's sync ClientCallDetails is an abstract class; interceptors must supply their own value."""


class _AuthInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Unary calls and server streams (LocalValidationService.SubscribeKeys) alike."""

    def __init__(self, admin_key: str) -> None:
        self._metadata = auth_metadata(admin_key)

    def _details(self, details: Any) -> "_CallDetails":
        return _CallDetails(
            details.method,
            details.timeout,
            list(details.metadata or ()) + list(self._metadata),
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)


class _AsyncAuthInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, admin_key: str) -> None:
        self._metadata = auth_metadata(admin_key)

    async def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return await continuation(_with_metadata(details, self._metadata), request)


def open_channel(admin_key: str, url: Optional[str], tls: TlsOptions = TlsOptions()) -> Tuple[grpc.Channel, Target]:
    target = resolve_target(url)
    interceptor = _AuthInterceptor(admin_key)
    credentials = channel_credentials(target, tls)
    if credentials is not None:
        channel = grpc.secure_channel(target.address, credentials, options=_CHANNEL_OPTIONS)
    else:
        channel = grpc.insecure_channel(target.address, options=_CHANNEL_OPTIONS)
    return grpc.intercept_channel(channel, interceptor), target


def open_async_channel(
    admin_key: str, url: Optional[str], tls: TlsOptions = TlsOptions()
) -> Tuple[grpc.aio.Channel, Target]:
    target = resolve_target(url)
    interceptors = [_AsyncAuthInterceptor(admin_key)]
    credentials = channel_credentials(target, tls)
    if credentials is not None:
        channel = grpc.aio.secure_channel(
            target.address, credentials, options=_CHANNEL_OPTIONS, interceptors=interceptors
        )
    else:
        channel = grpc.aio.insecure_channel(target.address, options=_CHANNEL_OPTIONS, interceptors=interceptors)
    return channel, target
