"""Module-level convenience: flux.init() sets a default Client that flux.api_keys delegates to."""

from __future__ import annotations

import threading
from typing import Optional

from ._client import DEFAULT_TIMEOUT_SECONDS, ApiKeys, Client, Organizations
from ._connection import PemSource
from ._errors import FluxError

_lock = threading.Lock()
_default: Optional[Client] = None


def init(
    admin_key: str,
    url: Optional[str] = None,
    *,
    timeout: Optional[float] = DEFAULT_TIMEOUT_SECONDS,
    ca: Optional[PemSource] = None,
    client_cert: Optional[PemSource] = None,
    client_key: Optional[PemSource] = None,
) -> Client:
    """Sets the default client used by flux.api_keys and returns it.

    url: "host:port" or "http://host:port"; defaults to $FLUX_URL, else 127.0.0.1:50051. "https://host:port" speaks
    TLS, verified against the system's roots or against ca (PEM bytes or a file path); client_cert and client_key
    (PEM bytes or paths) answer a server that requires client certificates.
    Calling init again replaces (and closes) the previous default client.
    """
    global _default
    client = Client(admin_key, url, timeout=timeout, ca=ca, client_cert=client_cert, client_key=client_key)
    with _lock:
        previous, _default = _default, client
    if previous is not None:
        previous.close()
    return client


def default_client() -> Client:
    client = _default
    if client is None:
        raise FluxError('flux is not initialised: call flux.init("admin key") first, or use flux.Client')
    return client


def close() -> None:
    """Closes the default client; flux.api_keys needs flux.init() again afterwards."""
    global _default
    with _lock:
        previous, _default = _default, None
    if previous is not None:
        previous.close()


class DefaultApiKeys(ApiKeys):
    """flux.api_keys: the ApiKeys of whichever client flux.init() set last."""

    def __init__(self) -> None:
        super().__init__(None)

    def _client(self) -> Client:
        return default_client()

    def __repr__(self) -> str:
        return f"<flux.api_keys of {_default!r}>"


api_keys = DefaultApiKeys()


class DefaultOrganizations(Organizations):
    """flux.organizations: the Organizations of whichever client flux.init() set last."""

    def __init__(self) -> None:
        super().__init__(None)

    def _client(self) -> Client:
        return default_client()

    def __repr__(self) -> str:
        return f"<flux.organizations of {_default!r}>"


organizations = DefaultOrganizations()
