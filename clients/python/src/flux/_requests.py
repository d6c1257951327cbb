"""Builds request messages from the SDK's arguments, shared by the blocking and the asyncio client."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Iterable, Mapping, Optional, Union

from google.protobuf.field_mask_pb2 import FieldMask

from flux.apikeys.v1 import api_key_pb2, api_key_service_pb2, organization_pb2, usage_pb2, validation_pb2

from ._convert import to_credits, to_rate_limit, to_timestamp
from ._models import Credits, Granularity, RateLimit


class _Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


# Default of update()'s arguments: the field is left as it is. (None means "clear it" where allowed.)
UNSET = _Unset.UNSET


def create(
    org_id: str,
    name: str,
    scopes: Iterable[str],
    expires_at: Optional[datetime],
    rate_limit: Optional[RateLimit],
    metadata: Optional[Mapping[str, str]],
    allowed_cidrs: Optional[Iterable[str]] = None,
    credits: Optional[Credits] = None,
) -> api_key_service_pb2.CreateApiKeyRequest:
    request = api_key_service_pb2.CreateApiKeyRequest(
        org_id=org_id,
        name=name,
        scopes=list(scopes),
        metadata=dict(metadata or {}),
        allowed_cidrs=list(allowed_cidrs or ()),
    )
    if expires_at is not None:
        request.expires_at.CopyFrom(to_timestamp(expires_at))
    if rate_limit is not None:
        request.rate_limit.CopyFrom(to_rate_limit(rate_limit))
    if credits is not None:
        request.credits.CopyFrom(to_credits(credits))
    return request


def validate(
    raw_key: str, required_scopes: Optional[Iterable[str]], client_ip: Optional[str] = None, cost: Optional[int] = None
) -> validation_pb2.ValidateApiKeyRequest:
    request = validation_pb2.ValidateApiKeyRequest(
        key=raw_key, required_scopes=list(required_scopes or ()), client_ip=client_ip or ""
    )
    if cost is not None:  # absent: the server's default of 1
        request.cost = cost
    return request


def update(
    key_id: str,
    *,
    name: Union[str, _Unset],
    scopes: Union[Iterable[str], _Unset],
    rate_limit: Union[RateLimit, None, _Unset],
    expires_at: Union[datetime, None, _Unset],
    metadata: Union[Mapping[str, str], _Unset],
    enabled: Union[bool, _Unset],
    allowed_cidrs: Union[Iterable[str], _Unset] = UNSET,
    credits: Union[Credits, None, _Unset] = UNSET,
) -> api_key_service_pb2.UpdateApiKeyRequest:
    key = api_key_pb2.ApiKey(id=key_id)
    paths = []
    if not isinstance(name, _Unset):
        key.name = name
        paths.append("name")
    if not isinstance(scopes, _Unset):
        key.scopes.extend(scopes)
        paths.append("scopes")
    if not isinstance(rate_limit, _Unset):
        if rate_limit is not None:  # None: the mask names the field and the message is absent, i.e. unlimited
            key.rate_limit.CopyFrom(to_rate_limit(rate_limit))
        paths.append("rate_limit")
    if not isinstance(expires_at, _Unset):
        if expires_at is not None:  # None: never expires
            key.expires_at.CopyFrom(to_timestamp(expires_at))
        paths.append("expires_at")
    if not isinstance(metadata, _Unset):
        key.metadata.update(dict(metadata))
        paths.append("metadata")
    if not isinstance(enabled, _Unset):
        key.enabled = enabled
        paths.append("enabled")
    if not isinstance(allowed_cidrs, _Unset):
        key.allowed_cidrs.extend(allowed_cidrs)  # empty: any address again
        paths.append("allowed_cidrs")
    if not isinstance(credits, _Unset):
        if credits is not None:  # None: unmetered
            key.credits.CopyFrom(to_credits(credits))
        paths.append("credits")
    if not paths:
        raise ValueError("flux: update() needs at least one field to change")
    return api_key_service_pb2.UpdateApiKeyRequest(api_key=key, update_mask=FieldMask(paths=paths))


def list_keys(
    org_id: Optional[str], page_size: Optional[int], page_token: Optional[str], include_revoked: bool
) -> api_key_service_pb2.ListApiKeysRequest:
    return api_key_service_pb2.ListApiKeysRequest(
        org_id=org_id or "", page_size=page_size or 0, page_token=page_token or "", include_revoked=include_revoked
    )


_GRANULARITIES = {"HOUR": usage_pb2.GRANULARITY_HOUR, "DAY": usage_pb2.GRANULARITY_DAY}


def _granularity(granularity: Optional[Granularity]) -> int:
    if granularity is None:
        return usage_pb2.GRANULARITY_UNSPECIFIED
    if granularity not in _GRANULARITIES:
        raise ValueError(f"flux: granularity must be 'HOUR' or 'DAY', not {granularity!r}")
    return _GRANULARITIES[granularity]


def get_usage(
    key_id: str,
    granularity: Optional[Granularity],
    series_start: Optional[datetime],
    unused_scope_days: Optional[int] = None,
) -> usage_pb2.GetApiKeyUsageRequest:
    request = usage_pb2.GetApiKeyUsageRequest(
        id=key_id, granularity=_granularity(granularity), unused_scope_days=unused_scope_days or 0
    )
    if series_start is not None:
        request.series_start.CopyFrom(to_timestamp(series_start))
    return request


def organization_usage(
    org_id: str, granularity: Optional[Granularity], series_start: Optional[datetime], top_keys: Optional[int]
) -> organization_pb2.GetOrganizationUsageRequest:
    request = organization_pb2.GetOrganizationUsageRequest(
        org_id=org_id, granularity=_granularity(granularity), top_keys=top_keys or 0
    )
    if series_start is not None:
        request.series_start.CopyFrom(to_timestamp(series_start))
    return request


def organization_policy(
    org_id: str, rate_limit: Union[RateLimit, None, _Unset], credits: Union[Credits, None, _Unset]
) -> organization_pb2.UpdateOrganizationPolicyRequest:
    policy = organization_pb2.OrganizationPolicy(org_id=org_id)
    paths = []
    if not isinstance(rate_limit, _Unset):
        if rate_limit is not None:
            policy.rate_limit.CopyFrom(to_rate_limit(rate_limit))
        paths.append("rate_limit")
    if not isinstance(credits, _Unset):
        if credits is not None:
            policy.credits.CopyFrom(to_credits(credits))
        paths.append("credits")
    if not paths:
        raise ValueError("flux: update_policy() needs rate_limit or credits")
    return organization_pb2.UpdateOrganizationPolicyRequest(policy=policy, update_mask=FieldMask(paths=paths))


def define_scope(name: str, description: str) -> api_key_service_pb2.DefineScopeRequest:
    return api_key_service_pb2.DefineScopeRequest(scope=api_key_pb2.Scope(name=name, description=description))
