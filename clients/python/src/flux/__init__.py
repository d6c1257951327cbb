"""Flux API Keys SDK: issue, validate, rotate and meter API keys.

    import flux
    flux.init("admin key")                      # url=... else $FLUX_URL else 127.0.0.1:50051
    key = flux.api_keys.create(org_id="org_1", name="CI pipeline", scopes=["data:read"])
    info = flux.api_keys.validate(key.secret)   # raises flux.InvalidKeyError when refused
    info.has_scope("data:read")

flux.Client (blocking) and flux.AsyncClient (asyncio) offer the same methods without global state.
"""

from ._async_client import AsyncApiKeys, AsyncClient, AsyncOrganizations
from ._client import ApiKeys, Client, Organizations
from ._connection import DEFAULT_URL
from ._default import api_keys, close, init, organizations
from ._local_async import AsyncLocalValidator
from ._local_validator import LocalValidator, LocalValidatorStats
from ._errors import (
    AuthenticationError,
    FailedPreconditionError,
    FluxError,
    InsufficientScopeError,
    InternalError,
    InvalidArgumentError,
    InvalidKeyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ThrottledError,
    UnavailableError,
    UnknownScopeError,
    UsageExceededError,
    from_rpc_error,
)
from ._models import (
    CreditRefill,
    Credits,
    CreditsState,
    OrganizationPolicy,
    OrganizationState,
    PolicyLevel,
    ApiKey,
    ApiKeyPage,
    CreatedApiKey,
    Granularity,
    KeyInfo,
    KeyState,
    KeyUsageSummary,
    OrganizationUsage,
    Outcome,
    RateLimit,
    RateLimitState,
    RotatedApiKey,
    Scope,
    ScopeUse,
    Usage,
    UsageBucket,
)
from ._requests import UNSET

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_URL",
    "UNSET",
    "ApiKey",
    "ApiKeyPage",
    "ApiKeys",
    "AsyncApiKeys",
    "AsyncClient",
    "AsyncLocalValidator",
    "AsyncOrganizations",
    "AuthenticationError",
    "Client",
    "CreatedApiKey",
    "CreditRefill",
    "Credits",
    "CreditsState",
    "FailedPreconditionError",
    "FluxError",
    "Granularity",
    "InsufficientScopeError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidKeyError",
    "KeyInfo",
    "KeyState",
    "KeyUsageSummary",
    "LocalValidator",
    "LocalValidatorStats",
    "NotFoundError",
    "OrganizationPolicy",
    "OrganizationState",
    "OrganizationUsage",
    "Organizations",
    "Outcome",
    "PermissionDeniedError",
    "PolicyLevel",
    "RateLimit",
    "RateLimitState",
    "RateLimitedError",
    "RotatedApiKey",
    "Scope",
    "ScopeUse",
    "ThrottledError",
    "UnavailableError",
    "UnknownScopeError",
    "UsageExceededError",
    "Usage",
    "UsageBucket",
    "api_keys",
    "close",
    "from_rpc_error",
    "init",
    "organizations",
]
