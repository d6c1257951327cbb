"""Mappers between the generated protobuf messages (wire) and the SDK's dataclasses; no I/O."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional, cast

from google.protobuf.timestamp_pb2 import Timestamp

from flux.apikeys.v1 import api_key_pb2, api_key_service_pb2, organization_pb2, usage_pb2, validation_pb2

from ._errors import InsufficientScopeError, InvalidKeyError, RateLimitedError, UsageExceededError
from ._models import (
    ApiKey,
    CreatedApiKey,
    CreditRefill,
    Credits,
    CreditsState,
    KeyInfo,
    OrganizationPolicy,
    OrganizationState,
    KeyState,
    Outcome,
    RateLimit,
    RateLimitState,
    RotatedApiKey,
    Scope,
    KeyUsageSummary,
    OrganizationUsage,
    ScopeUse,
    Usage,
    UsageBucket,
)


def timestamp(message: Any, name: str) -> Optional[datetime]:
    """The timestamp field `name` of message as an aware UTC datetime, None when absent."""
    if not message.HasField(name):
        return None
    return cast(Timestamp, getattr(message, name)).ToDatetime(tzinfo=timezone.utc)


def to_timestamp(value: datetime) -> Timestamp:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("flux: datetimes must be timezone-aware, e.g. datetime.now(timezone.utc)")
    result = Timestamp()
    result.FromDatetime(value.astimezone(timezone.utc))
    return result


def outcome_name(value: int) -> Outcome:
    return cast(Outcome, validation_pb2.Outcome.Name(value).removeprefix("OUTCOME_"))


def to_rate_limit(value: RateLimit) -> api_key_pb2.RateLimit:
    return api_key_pb2.RateLimit(requests=value.requests, window_seconds=value.window_seconds)


def to_credits(value: Credits) -> api_key_pb2.Credits:
    message = api_key_pb2.Credits(remaining=value.remaining)
    refill = value.refill
    if refill is not None:
        message.refill.amount = refill.amount
        if refill.day_of_month is not None:
            message.refill.day_of_month = refill.day_of_month
        elif refill.interval_seconds is not None:
            message.refill.interval_seconds = refill.interval_seconds
    return message


def credits(message: api_key_pb2.Credits) -> Credits:
    if not message.HasField("refill"):
        return Credits(remaining=message.remaining)
    r = message.refill
    schedule = r.WhichOneof("schedule")
    return Credits(
        remaining=message.remaining,
        refill=CreditRefill(
            amount=r.amount,
            interval_seconds=r.interval_seconds if schedule == "interval_seconds" else None,
            day_of_month=r.day_of_month if schedule == "day_of_month" else None,
            last_refill_at=timestamp(r, "last_refill_at"),
        ),
    )


def credits_state(message: validation_pb2.CreditsState) -> CreditsState:
    return CreditsState(remaining=message.remaining, next_refill_at=timestamp(message, "next_refill_at"))


def organization_policy(message: organization_pb2.OrganizationPolicy) -> OrganizationPolicy:
    rate_limit = None
    if message.HasField("rate_limit"):
        rate_limit = RateLimit(requests=message.rate_limit.requests, window_seconds=message.rate_limit.window_seconds)
    return OrganizationPolicy(
        org_id=message.org_id,
        rate_limit=rate_limit,
        credits=credits(message.credits) if message.HasField("credits") else None,
        updated_at=timestamp(message, "updated_at"),
    )


def api_key(message: api_key_pb2.ApiKey) -> ApiKey:
    return ApiKey(**_api_key_fields(message))


def created_api_key(message: api_key_service_pb2.CreateApiKeyResponse) -> CreatedApiKey:
    return CreatedApiKey(**_api_key_fields(message.api_key), secret=message.secret)


def rotated_api_key(message: api_key_service_pb2.RotateApiKeyResponse) -> RotatedApiKey:
    return RotatedApiKey(
        **_api_key_fields(message.api_key), secret=message.secret, unconfirmed_replicas=message.unconfirmed_replicas
    )


def _api_key_fields(message: api_key_pb2.ApiKey) -> dict[str, Any]:
    rate_limit = None
    if message.HasField("rate_limit"):
        rate_limit = RateLimit(requests=message.rate_limit.requests, window_seconds=message.rate_limit.window_seconds)
    return dict(
        id=message.id,
        org_id=message.org_id,
        name=message.name,
        scopes=tuple(message.scopes),
        rate_limit=rate_limit,
        expires_at=timestamp(message, "expires_at"),
        metadata=dict(message.metadata),
        enabled=message.enabled,
        state=cast(KeyState, api_key_pb2.KeyState.Name(message.state).removeprefix("KEY_STATE_")),
        display_hint=message.display_hint,
        created_at=timestamp(message, "created_at"),
        updated_at=timestamp(message, "updated_at"),
        revoked_at=timestamp(message, "revoked_at"),
        rotated_at=timestamp(message, "rotated_at"),
        allowed_cidrs=tuple(message.allowed_cidrs),
        credits=credits(message.credits) if message.HasField("credits") else None,
    )


def scope(message: api_key_pb2.Scope) -> Scope:
    return Scope(name=message.name, description=message.description, created_at=timestamp(message, "created_at"))


def usage(message: usage_pb2.GetApiKeyUsageResponse) -> Usage:
    return Usage(
        id=message.id,
        period_start=timestamp(message, "period_start"),
        requests_current_period=message.requests_current_period,
        errors_current_period=message.errors_current_period,
        error_rate=message.error_rate,
        last_used_at=timestamp(message, "last_used_at"),
        outcomes={outcome_name(item.outcome): item.count for item in message.outcomes},
        series=tuple(_bucket(bucket) for bucket in message.series),
        unused_scopes=tuple(message.unused_scopes),
        scope_uses=tuple(
            ScopeUse(scope=u.scope, last_required_at=timestamp(u, "last_required_at")) for u in message.scope_uses
        ),
    )


def _bucket(bucket: usage_pb2.UsageBucket) -> UsageBucket:
    return UsageBucket(
        start_time=timestamp(bucket, "start_time"),
        requests=bucket.requests,
        valid=bucket.valid,
        rate_limited=bucket.rate_limited,
        other_errors=bucket.other_errors,
        usage_exceeded=bucket.usage_exceeded,
    )


def _key_summary(k: organization_pb2.KeyUsageSummary) -> KeyUsageSummary:
    return KeyUsageSummary(key_id=k.key_id, name=k.name, requests=k.requests, errors=k.errors, error_rate=k.error_rate)


def organization_usage(message: organization_pb2.GetOrganizationUsageResponse) -> OrganizationUsage:
    return OrganizationUsage(
        org_id=message.org_id,
        requests=message.requests,
        errors=message.errors,
        error_rate=message.error_rate,
        outcomes={outcome_name(item.outcome): item.count for item in message.outcomes},
        series=tuple(_bucket(bucket) for bucket in message.series),
        top_keys_by_requests=tuple(_key_summary(k) for k in message.top_keys_by_requests),
        top_keys_by_error_rate=tuple(_key_summary(k) for k in message.top_keys_by_error_rate),
    )


def rate_limit_state(message: validation_pb2.RateLimitState) -> RateLimitState:
    return RateLimitState(
        limit=message.limit,
        remaining=message.remaining,
        reset_at=timestamp(message, "reset_at"),
        retry_after=message.retry_after_ms / 1000.0,
    )


def key_info_or_raise(message: validation_pb2.ValidateApiKeyResponse) -> KeyInfo:
    """The validated key's info; raises the matching InvalidKeyError subclass for any non-VALID outcome."""
    limit = rate_limit_state(message.rate_limit) if message.HasField("rate_limit") else None
    balance = credits_state(message.credits) if message.HasField("credits") else None
    org = None
    if message.HasField("organization"):
        o = message.organization
        org = OrganizationState(
            rate_limit=rate_limit_state(o.rate_limit) if o.HasField("rate_limit") else None,
            credits=credits_state(o.credits) if o.HasField("credits") else None,
        )
    refused_by = validation_pb2.PolicyLevel.Name(message.refused_by).removeprefix("POLICY_LEVEL_")
    if refused_by == "UNSPECIFIED":
        refused_by = "KEY"
    info = None
    if message.HasField("key"):
        key = message.key
        info = KeyInfo(
            id=key.id,
            org_id=key.org_id,
            name=key.name,
            scopes=tuple(key.scopes),
            metadata=dict(key.metadata),
            expires_at=timestamp(key, "expires_at"),
            rate_limit=limit,
            credits=balance,
            organization=org,
        )
    outcome = outcome_name(message.outcome)
    if message.valid and info is not None:
        return info
    if outcome == "VALID":  # valid without key info would be a server bug; refuse rather than guess
        outcome = "UNSPECIFIED"
    text = f"API key refused: {outcome}"
    if outcome == "RATE_LIMITED":
        window = org.rate_limit if refused_by == "ORGANIZATION" and org is not None else limit
        retry_after = window.retry_after if window is not None else 0.0
        reset_at = window.reset_at if window is not None else None
        raise RateLimitedError(
            f"{text} by the {refused_by.lower()} (retry after {retry_after:.3f}s)",
            outcome=outcome,
            key_info=info,
            retry_after=retry_after,
            reset_at=reset_at,
            refused_by=refused_by,
        )
    if outcome == "USAGE_EXCEEDED":
        refusing = org.credits if refused_by == "ORGANIZATION" and org is not None else balance
        raise UsageExceededError(
            f"{text} by the {refused_by.lower()}", outcome=outcome, key_info=info, refused_by=refused_by, credits=refusing
        )
    if outcome == "INSUFFICIENT_SCOPE":
        missing = tuple(message.missing_scopes)
        raise InsufficientScopeError(
            f"{text} (missing {', '.join(missing)})", outcome=outcome, key_info=info, missing_scopes=missing
        )
    raise InvalidKeyError(text, outcome=outcome, key_info=info)
