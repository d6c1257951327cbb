"""Against a real server: define scope → create → validate → rotate → rate limit → usage, and key management."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from support import unique_scope_name

import flux


def test_a_key_lives_through_validate_rotate_and_its_rate_limit(client: flux.Client, org_id: str, scope: str) -> None:
    assert scope in [s.name for s in client.api_keys.list_scopes()]
    key = client.api_keys.create(
        org_id=org_id, name="CI pipeline", scopes=[scope], expires_at=None,
        rate_limit=flux.RateLimit(requests=3, window_seconds=60),
    )  # fmt: skip
    assert key.id and key.secret.startswith("flux_") and key.secret not in repr(key)
    assert (key.org_id, key.name, key.scopes, key.state) == (org_id, "CI pipeline", (scope,), "ACTIVE")
    assert key.rate_limit == flux.RateLimit(requests=3, window_seconds=60)
    assert key.created_at is not None and key.created_at.tzinfo == timezone.utc

    info = client.api_keys.validate(key.secret)
    assert (info.id, info.org_id, info.name) == (key.id, org_id, "CI pipeline")
    assert info.has_scope(scope) and not info.has_scope(scope + "-other")
    assert info.rate_limit is not None and (info.rate_limit.limit, info.rate_limit.remaining) == (3, 2)

    rotated = client.api_keys.rotate(key.id)
    assert rotated.id == key.id and rotated.secret != key.secret and rotated.scopes == (scope,)
    with pytest.raises(flux.InvalidKeyError) as old:
        client.api_keys.validate(key.secret)
    assert old.value.outcome == "NOT_FOUND" and not isinstance(old.value, flux.RateLimitedError)
    assert client.api_keys.validate(rotated.secret).id == key.id

    client.api_keys.validate(rotated.secret)  # the third request of the window
    with pytest.raises(flux.RateLimitedError) as limited:
        client.api_keys.validate(rotated.secret)
    error = limited.value
    assert isinstance(error, flux.InvalidKeyError) and error.outcome == "RATE_LIMITED"
    assert 0 < error.retry_after <= 60
    assert error.reset_at is not None and error.reset_at > datetime.now(timezone.utc)


def test_rotate_says_how_many_replicas_had_not_confirmed_it_zero_on_a_single_server(
    client: flux.Client, org_id: str
) -> None:
    key = client.api_keys.create(org_id=org_id, name="rotated")
    rotated = client.api_keys.rotate(key.id)
    assert isinstance(rotated, flux.RotatedApiKey) and isinstance(rotated, flux.CreatedApiKey)
    assert rotated.unconfirmed_replicas == 0
    assert rotated.id == key.id and rotated.secret not in repr(rotated)


def test_usage_counts_every_validation_and_its_errors(client: flux.Client, org_id: str, scope: str) -> None:
    other = client.api_keys.define_scope(unique_scope_name("data:write")).name
    key = client.api_keys.create(org_id=org_id, name="metered", scopes=[scope])
    for _ in range(3):
        client.api_keys.validate(key.secret, required_scopes=[scope])
    for _ in range(2):
        with pytest.raises(flux.InsufficientScopeError) as caught:
            client.api_keys.validate(key.secret, required_scopes=[scope, other])
        assert caught.value.missing_scopes == (other,)

    usage = client.api_keys.get_usage(key.id)
    assert usage.id == key.id
    assert (usage.requests_current_period, usage.errors_current_period) == (5, 2)
    assert usage.error_rate == pytest.approx(0.4)
    assert usage.outcomes == {"VALID": 3, "INSUFFICIENT_SCOPE": 2}
    assert usage.last_used_at is not None and usage.period_start is not None
    assert usage.period_start.day == 1 and usage.period_start <= usage.last_used_at


def test_usage_counts_rate_limited_validations_as_errors(client: flux.Client, org_id: str) -> None:
    limit = flux.RateLimit(requests=2, window_seconds=3600)
    key = client.api_keys.create(org_id=org_id, name="limited", rate_limit=limit)
    client.api_keys.validate(key.secret)
    client.api_keys.validate(key.secret)
    with pytest.raises(flux.RateLimitedError):
        client.api_keys.validate(key.secret)
    usage = client.api_keys.get_usage(key.id, granularity="HOUR")
    assert (usage.requests_current_period, usage.errors_current_period) == (3, 1)
    assert usage.outcomes == {"VALID": 2, "RATE_LIMITED": 1}
    assert sum(bucket.requests for bucket in usage.series) == 3
    assert sum(bucket.rate_limited for bucket in usage.series) == 1


def test_update_changes_only_the_named_fields(client: flux.Client, org_id: str, scope: str) -> None:
    key = client.api_keys.create(org_id=org_id, name="before", scopes=[scope], metadata={"team": "ci"})
    expires_at = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    updated = client.api_keys.update(
        key.id, name="after", rate_limit=flux.RateLimit(requests=5, window_seconds=10), expires_at=expires_at
    )
    assert (updated.id, updated.name, updated.scopes, updated.metadata) == (key.id, "after", (scope,), {"team": "ci"})
    assert updated.rate_limit == flux.RateLimit(requests=5, window_seconds=10)
    assert updated.expires_at == expires_at
    cleared = client.api_keys.update(key.id, rate_limit=None, expires_at=None)
    assert cleared.rate_limit is None and cleared.expires_at is None and cleared.name == "after"
    assert client.api_keys.get(key.id) == cleared


def test_a_disabled_key_is_refused_until_enabled_again(client: flux.Client, org_id: str) -> None:
    key = client.api_keys.create(org_id=org_id, name="toggled")
    assert client.api_keys.update(key.id, enabled=False).state == "DISABLED"
    with pytest.raises(flux.InvalidKeyError) as caught:
        client.api_keys.validate(key.secret)
    assert caught.value.outcome == "DISABLED"
    client.api_keys.update(key.id, enabled=True)
    assert client.api_keys.validate(key.secret).id == key.id


def test_list_pages_through_an_orgs_keys_newest_first(client: flux.Client, org_id: str) -> None:
    ids = [client.api_keys.create(org_id=org_id, name=f"key {i}").id for i in range(3)]
    first = client.api_keys.list(org_id, page_size=2)
    assert len(first) == 2 and first.next_page_token
    second = client.api_keys.list(org_id, page_size=2, page_token=first.next_page_token)
    assert [k.id for k in first] + [k.id for k in second] == ids[::-1]
    assert second.next_page_token == ""

    client.api_keys.revoke(ids[0])
    assert [k.id for k in client.api_keys.list(org_id)] == ids[:0:-1]
    assert len(client.api_keys.list(org_id, include_revoked=True)) == 3


def test_an_unused_scope_can_be_deleted(client: flux.Client) -> None:
    name = client.api_keys.define_scope(unique_scope_name("tmp"), "first").name
    assert client.api_keys.define_scope(name, "second").description == "second"
    client.api_keys.delete_scope(name)
    assert name not in [s.name for s in client.api_keys.list_scopes()]
