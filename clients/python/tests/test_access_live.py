"""Against a real server: IP allowlists (create/update allowed_cidrs, validate with client_ip, IP_NOT_ALLOWED),
unused-scope hints in get_usage, and flux.organizations.get_usage — blocking, module-level and asyncio."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from support import Live, unique_scope_name

import flux


def test_allowed_cidrs_refuse_other_addresses_with_ip_not_allowed(client: flux.Client, org_id: str) -> None:
    key = client.api_keys.create(org_id=org_id, name="office", allowed_cidrs=["203.0.113.0/24", "2001:db8::1"])
    assert key.allowed_cidrs == ("203.0.113.0/24", "2001:db8::1/128")
    assert client.api_keys.validate(key.secret, client_ip="203.0.113.7").id == key.id
    with pytest.raises(flux.InvalidKeyError) as refused:
        client.api_keys.validate(key.secret, client_ip="198.51.100.1")
    assert refused.value.outcome == "IP_NOT_ALLOWED"
    with pytest.raises(flux.InvalidKeyError) as absent:
        client.api_keys.validate(key.secret)
    assert absent.value.outcome == "IP_NOT_ALLOWED"
    with pytest.raises(flux.InvalidArgumentError):
        client.api_keys.validate(key.secret, client_ip="300.1.1.1")
    with pytest.raises(flux.InvalidArgumentError):
        client.api_keys.update(key.id, allowed_cidrs=["10.0.0.0/33"])
    assert client.api_keys.get(key.id).allowed_cidrs == ("203.0.113.0/24", "2001:db8::1/128")  # nothing written
    assert client.api_keys.update(key.id, allowed_cidrs=[]).allowed_cidrs == ()
    assert client.api_keys.validate(key.secret).id == key.id


def test_get_usage_lists_the_scopes_no_validation_required(client: flux.Client, org_id: str, scope: str) -> None:
    unused = client.api_keys.define_scope(unique_scope_name("data:write")).name
    key = client.api_keys.create(org_id=org_id, name="hinted", scopes=[scope, unused])
    client.api_keys.validate(key.secret, required_scopes=[scope])
    usage = client.api_keys.get_usage(key.id, unused_scope_days=7)
    assert usage.unused_scopes == (unused,)
    uses = {u.scope: u.last_required_at for u in usage.scope_uses}
    assert isinstance(uses[scope], datetime) and uses[unused] is None


def test_organization_usage_rolls_up_its_keys_with_top_lists(live: Live, org_id: str) -> None:
    flux.init(live.admin_key, url=live.url)
    try:
        a = flux.api_keys.create(org_id=org_id, name="a")
        b = flux.api_keys.create(org_id=org_id, name="b", allowed_cidrs=["192.0.2.0/24"])
        for _ in range(3):
            flux.api_keys.validate(a.secret)
        with pytest.raises(flux.InvalidKeyError):
            flux.api_keys.validate(b.secret, client_ip="198.51.100.1")
        usage = flux.organizations.get_usage(org_id, granularity="HOUR", top_keys=5)
        assert (usage.org_id, usage.requests, usage.errors) == (org_id, 4, 1)
        assert usage.outcomes == {"VALID": 3, "IP_NOT_ALLOWED": 1}
        assert [(k.name, k.requests) for k in usage.top_keys_by_requests] == [("a", 3), ("b", 1)]
        assert sum(bucket.requests for bucket in usage.series) == 4
        with pytest.raises(flux.InvalidArgumentError):
            flux.organizations.get_usage(org_id, top_keys=101)
    finally:
        flux.close()


def test_the_async_client_takes_client_ip_and_reads_organization_usage(live: Live, org_id: str) -> None:
    async def scenario() -> None:
        async with flux.AsyncClient(live.admin_key, url=live.url) as client:
            key = await client.api_keys.create(org_id=org_id, name="async", allowed_cidrs=["192.0.2.0/24"])
            assert (await client.api_keys.validate(key.secret, client_ip="192.0.2.1")).id == key.id
            with pytest.raises(flux.InvalidKeyError) as refused:
                await client.api_keys.validate(key.secret, client_ip="::1")
            assert refused.value.outcome == "IP_NOT_ALLOWED"
            usage = await client.organizations.get_usage(org_id)
            assert (usage.requests, usage.errors) == (2, 1)
            assert (await client.api_keys.get_usage(key.id)).unused_scopes == ()

    asyncio.run(scenario())
