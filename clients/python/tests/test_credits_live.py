"""Against a real server: credits with refill (create, validate with cost, UsageExceededError, update) and the
organisation's shared policy (get_policy, update_policy, refusals by the organisation), blocking and asyncio."""

from __future__ import annotations

import asyncio
from datetime import timezone

import pytest
from support import Live

import flux


def test_a_metered_key_spends_its_credits_by_cost_and_is_refused_without_spending(client: flux.Client, org_id: str) -> None:
    key = client.api_keys.create(
        org_id=org_id, name="metered",
        credits=flux.Credits(remaining=5, refill=flux.CreditRefill(amount=100, day_of_month=31)),
    )  # fmt: skip
    assert key.credits is not None and key.credits.remaining == 5
    assert key.credits.refill is not None and (key.credits.refill.amount, key.credits.refill.day_of_month) == (100, 31)
    info = client.api_keys.validate(key.secret, cost=3)
    assert info.credits is not None and info.credits.remaining == 2
    assert info.credits.next_refill_at is not None and info.credits.next_refill_at.tzinfo == timezone.utc
    assert client.api_keys.validate(key.secret, cost=0).credits == info.credits
    with pytest.raises(flux.UsageExceededError) as refused:
        client.api_keys.validate(key.secret, cost=3)
    error = refused.value
    assert isinstance(error, flux.InvalidKeyError) and error.outcome == "USAGE_EXCEEDED" and error.refused_by == "KEY"
    assert error.credits is not None and error.credits.remaining == 2
    assert client.api_keys.get(key.id).credits.remaining == 2  # type: ignore[union-attr]
    usage = client.api_keys.get_usage(key.id, granularity="HOUR")
    assert usage.outcomes.get("USAGE_EXCEEDED") == 1 and sum(b.usage_exceeded for b in usage.series) == 1


def test_update_sets_a_new_balance_and_none_makes_the_key_unmetered(client: flux.Client, org_id: str) -> None:
    key = client.api_keys.create(org_id=org_id, name="metered", credits=flux.Credits(remaining=1))
    client.api_keys.validate(key.secret)
    updated = client.api_keys.update(
        key.id, credits=flux.Credits(remaining=10, refill=flux.CreditRefill(amount=10, interval_seconds=3600))
    )
    assert updated.credits is not None and updated.credits.refill is not None
    assert (updated.credits.remaining, updated.credits.refill.interval_seconds) == (10, 3600)
    assert client.api_keys.validate(key.secret).credits.remaining == 9  # type: ignore[union-attr]
    assert client.api_keys.update(key.id, credits=None).credits is None
    assert client.api_keys.validate(key.secret, cost=1_000_000).credits is None
    with pytest.raises(flux.InvalidArgumentError):
        client.api_keys.validate(key.secret, cost=1_000_001)


def test_the_organisation_policy_is_shared_by_its_keys_and_refuses_as_organization(client: flux.Client, org_id: str) -> None:
    assert client.organizations.get_policy(org_id) == flux.OrganizationPolicy(org_id=org_id)
    a = client.api_keys.create(org_id=org_id, name="a")
    b = client.api_keys.create(org_id=org_id, name="b")
    policy = client.organizations.update_policy(
        org_id, credits=flux.Credits(remaining=3), rate_limit=flux.RateLimit(requests=100, window_seconds=60)
    )
    assert policy.credits == flux.Credits(remaining=3) and policy.rate_limit == flux.RateLimit(100, 60)
    assert policy.updated_at is not None
    info = client.api_keys.validate(a.secret, cost=2)
    assert info.organization is not None and info.organization.credits.remaining == 1  # type: ignore[union-attr]
    assert info.organization.rate_limit is not None and info.organization.rate_limit.remaining == 99
    with pytest.raises(flux.UsageExceededError) as refused:
        client.api_keys.validate(b.secret, cost=2)
    assert refused.value.refused_by == "ORGANIZATION" and refused.value.credits.remaining == 1
    # The refused call took no point of the 60 s window: one point is spent, so 2 leaves room for one more.
    client.organizations.update_policy(org_id, credits=None, rate_limit=flux.RateLimit(requests=2, window_seconds=60))
    assert client.organizations.get_policy(org_id).credits is None
    client.api_keys.validate(b.secret)
    with pytest.raises(flux.RateLimitedError) as limited:
        client.api_keys.validate(a.secret)
    assert limited.value.refused_by == "ORGANIZATION" and limited.value.retry_after > 0


def test_the_asyncio_client_reads_and_changes_policies_and_spends_credits(live: Live, org_id: str) -> None:
    async def run() -> None:
        async with flux.AsyncClient(live.admin_key, url=live.url) as client:
            key = await client.api_keys.create(org_id=org_id, name="async", credits=flux.Credits(remaining=2))
            assert (await client.api_keys.validate(key.secret, cost=2)).credits.remaining == 0  # type: ignore[union-attr]
            with pytest.raises(flux.UsageExceededError):
                await client.api_keys.validate(key.secret)
            policy = await client.organizations.update_policy(org_id, rate_limit=flux.RateLimit(requests=9, window_seconds=60))
            assert (await client.organizations.get_policy(org_id)).rate_limit == policy.rate_limit == flux.RateLimit(9, 60)

    asyncio.run(run())
