"""The asyncio client (grpc.aio): the blocking client's twin in _client.py, method for method."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Mapping, Optional, Tuple, Union

import grpc
import grpc.aio

from flux.apikeys.v1 import (
    admin_key_service_pb2_grpc,
    api_key_service_pb2,
    api_key_service_pb2_grpc,
    organization_pb2,
    organization_pb2_grpc,
)

from . import _convert, _requests
from ._client import DEFAULT_TIMEOUT_SECONDS
from ._connection import PemSource, TlsOptions, open_async_channel
from ._errors import from_rpc_error
from ._models import (
    Credits,
    OrganizationPolicy,
    ApiKey,
    ApiKeyPage,
    CreatedApiKey,
    Granularity,
    KeyInfo,
    OrganizationUsage,
    RateLimit,
    RotatedApiKey,
    Scope,
    Usage,
)
from ._requests import UNSET, _Unset

if TYPE_CHECKING:
    from ._local_async import AsyncLocalValidator


class AsyncClient:
    """An asyncio connection to Flux authenticated with an admin key. Create it inside a running event loop.

    async with flux.AsyncClient("admin key") as client:
        key = await client.api_keys.create(org_id="org_1", name="CI pipeline")
    """

    def __init__(
        self,
        admin_key: str,
        url: Optional[str] = None,
        *,
        timeout: Optional[float] = DEFAULT_TIMEOUT_SECONDS,
        ca: Optional[PemSource] = None,
        client_cert: Optional[PemSource] = None,
        client_key: Optional[PemSource] = None,
    ) -> None:
        """url "https://host:port" speaks TLS: ca (PEM bytes or a file path) replaces the system's roots, and
        client_cert + client_key answer a server that requires client certificates (mTLS)."""
        self.channel, self.target = open_async_channel(admin_key, url, TlsOptions(ca, client_cert, client_key))
        self.timeout = timeout
        # For local_validator(): its background threads need a blocking channel to the same server.
        self._blocking_args: Tuple[str, Optional[str], Optional[float], TlsOptions] = (
            admin_key, url, timeout, TlsOptions(ca, client_cert, client_key)
        )
        # Escape hatches: the generated stubs, already authenticated by the channel.
        self.raw = api_key_service_pb2_grpc.ApiKeyServiceStub(self.channel)
        self.raw_admin_keys = admin_key_service_pb2_grpc.AdminKeyServiceStub(self.channel)
        self.raw_organizations = organization_pb2_grpc.OrganizationServiceStub(self.channel)
        self.api_keys = AsyncApiKeys(self)
        self.organizations = AsyncOrganizations(self)

    async def call(self, method: str, request: Any, stub: Any = None) -> Any:
        """Invokes ApiKeyService.<method> (or the given stub's); every transport error leaves as a FluxError."""
        try:
            return await getattr(self.raw if stub is None else stub, method)(request, timeout=self.timeout)
        except grpc.RpcError as error:
            raise from_rpc_error(error) from error

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"flux.AsyncClient(url={self.target.address!r})"


class AsyncApiKeys:
    """ApiKeyService with friendly arguments and results; awaitable twin of flux.ApiKeys."""

    def __init__(self, client: Optional[AsyncClient]) -> None:
        self._bound = client

    def _client(self) -> AsyncClient:
        assert self._bound is not None
        return self._bound

    async def create(
        self,
        org_id: str,
        name: str,
        scopes: Iterable[str] = (),
        expires_at: Optional[datetime] = None,
        rate_limit: Optional[RateLimit] = None,
        metadata: Optional[Mapping[str, str]] = None,
        allowed_cidrs: Optional[Iterable[str]] = None,
        credits: Optional[Credits] = None,
    ) -> CreatedApiKey:
        """Issues a key. The result's .secret is shown only now: store it."""
        request = _requests.create(org_id, name, scopes, expires_at, rate_limit, metadata, allowed_cidrs, credits)
        return _convert.created_api_key(await self._client().call("CreateApiKey", request))

    async def validate(
        self,
        raw_key: str,
        required_scopes: Optional[Iterable[str]] = None,
        client_ip: Optional[str] = None,
        cost: Optional[int] = None,
    ) -> KeyInfo:
        """The key's info when valid; raises InvalidKeyError (RateLimitedError, InsufficientScopeError) otherwise."""
        response = await self._client().call("ValidateApiKey", _requests.validate(raw_key, required_scopes, client_ip, cost))
        return _convert.key_info_or_raise(response)

    async def local_validator(
        self,
        name: Optional[str] = None,
        pepper: Optional[str] = None,
        on_state_change: Optional[Callable[[str], None]] = None,
        start_timeout: float = 10.0,
    ) -> "AsyncLocalValidator":
        """As flux.ApiKeys.local_validator; its validate() is awaited. on_state_change runs on this event loop."""
        from ._client import Client
        from ._local_async import AsyncLocalValidator

        client = self._client()
        admin_key, url, timeout, tls = client._blocking_args
        blocking = Client(admin_key, url, timeout=timeout, ca=tls.ca, client_cert=tls.client_cert, client_key=tls.client_key)
        return await AsyncLocalValidator.start(client, blocking, name, pepper, on_state_change, start_timeout)

    async def rotate(self, key_id: str, grace_period_seconds: int = 0) -> RotatedApiKey:
        """Issues a new secret; the old one stops working at once (or after grace_period_seconds).

        On a server with several replicas, see RotatedApiKey.unconfirmed_replicas.
        """
        request = api_key_service_pb2.RotateApiKeyRequest(id=key_id, grace_period_seconds=grace_period_seconds)
        return _convert.rotated_api_key(await self._client().call("RotateApiKey", request))

    async def update(
        self,
        key_id: str,
        *,
        name: Union[str, _Unset] = UNSET,
        scopes: Union[Iterable[str], _Unset] = UNSET,
        rate_limit: Union[RateLimit, None, _Unset] = UNSET,
        expires_at: Union[datetime, None, _Unset] = UNSET,
        metadata: Union[Mapping[str, str], _Unset] = UNSET,
        enabled: Union[bool, _Unset] = UNSET,
        allowed_cidrs: Union[Iterable[str], _Unset] = UNSET,
        credits: Union[Credits, None, _Unset] = UNSET,
    ) -> ApiKey:
        """Changes only the fields passed; rate_limit=None removes the limit, expires_at=None the expiry."""
        request = _requests.update(
            key_id,
            name=name,
            scopes=scopes,
            rate_limit=rate_limit,
            expires_at=expires_at,
            metadata=metadata,
            enabled=enabled,
            allowed_cidrs=allowed_cidrs,
            credits=credits,
        )
        return _convert.api_key((await self._client().call("UpdateApiKey", request)).api_key)

    async def get(self, key_id: str) -> ApiKey:
        request = api_key_service_pb2.GetApiKeyRequest(id=key_id)
        return _convert.api_key((await self._client().call("GetApiKey", request)).api_key)

    async def list(
        self,
        org_id: Optional[str] = None,
        *,
        page_size: Optional[int] = None,
        page_token: Optional[str] = None,
        include_revoked: bool = False,
    ) -> ApiKeyPage:
        """One page of keys, newest first."""
        request = _requests.list_keys(org_id, page_size, page_token, include_revoked)
        response = await self._client().call("ListApiKeys", request)
        return ApiKeyPage([_convert.api_key(k) for k in response.api_keys], response.next_page_token)

    async def revoke(self, key_id: str) -> ApiKey:
        """Revokes the key for good; it validates as REVOKED from now on."""
        request = api_key_service_pb2.RevokeApiKeyRequest(id=key_id)
        return _convert.api_key((await self._client().call("RevokeApiKey", request)).api_key)

    async def get_usage(
        self,
        key_id: str,
        granularity: Optional[Granularity] = None,
        series_start: Optional[datetime] = None,
        unused_scope_days: Optional[int] = None,
    ) -> Usage:
        request = _requests.get_usage(key_id, granularity, series_start, unused_scope_days)
        return _convert.usage(await self._client().call("GetApiKeyUsage", request))

    async def define_scope(self, name: str, description: str = "") -> Scope:
        """Defines (or redescribes) a scope that keys may then carry."""
        response = await self._client().call("DefineScope", _requests.define_scope(name, description))
        return _convert.scope(response.scope)

    async def list_scopes(self) -> List[Scope]:
        response = await self._client().call("ListScopes", api_key_service_pb2.ListScopesRequest())
        return [_convert.scope(s) for s in response.scopes]

    async def delete_scope(self, name: str) -> None:
        """Deletes a scope no live key carries (FailedPreconditionError SCOPE_IN_USE otherwise)."""
        await self._client().call("DeleteScope", api_key_service_pb2.DeleteScopeRequest(name=name))



class AsyncOrganizations:
    """OrganizationService with friendly results; awaitable twin of flux.Organizations."""

    def __init__(self, client: Optional[AsyncClient]) -> None:
        self._bound = client

    def _client(self) -> AsyncClient:
        assert self._bound is not None
        return self._bound

    async def get_usage(
        self,
        org_id: str,
        granularity: Optional[Granularity] = None,
        series_start: Optional[datetime] = None,
        top_keys: Optional[int] = None,
    ) -> OrganizationUsage:
        client = self._client()
        request = _requests.organization_usage(org_id, granularity, series_start, top_keys)
        return _convert.organization_usage(await client.call("GetOrganizationUsage", request, client.raw_organizations))


    async def get_policy(self, org_id: str) -> OrganizationPolicy:
        """The organisation's shared policy (rate limit and credits, None when not set; credits.remaining: now)."""
        client = self._client()
        request = organization_pb2.GetOrganizationPolicyRequest(org_id=org_id)
        return _convert.organization_policy((await client.call("GetOrganizationPolicy", request, client.raw_organizations)).policy)

    async def update_policy(
        self,
        org_id: str,
        *,
        rate_limit: Union[RateLimit, None, _Unset] = UNSET,
        credits: Union[Credits, None, _Unset] = UNSET,
    ) -> OrganizationPolicy:
        """Sets the shared limits passed (None clears one); every replica applies it before this returns."""
        client = self._client()
        request = _requests.organization_policy(org_id, rate_limit, credits)
        return _convert.organization_policy((await client.call("UpdateOrganizationPolicy", request, client.raw_organizations)).policy)

__all__ = ["AsyncApiKeys", "AsyncClient", "AsyncOrganizations"]
