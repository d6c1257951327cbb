"""Against a real server: flux.AsyncClient (grpc.aio) offers the same calls, results and errors."""

from __future__ import annotations

import asyncio

import pytest
from support import Live, unique_scope_name

import flux


def test_the_async_client_runs_the_whole_key_lifecycle(live: Live, org_id: str) -> None:
    async def scenario() -> None:
        async with flux.AsyncClient(live.admin_key, url=live.url) as client:
            scope = (await client.api_keys.define_scope(unique_scope_name(), "async")).name
            assert scope in [s.name for s in await client.api_keys.list_scopes()]
            key = await client.api_keys.create(
                org_id=org_id, name="async", scopes=[scope], rate_limit=flux.RateLimit(requests=2, window_seconds=60)
            )
            assert isinstance(key, flux.CreatedApiKey) and key.secret.startswith("flux_")
            info = await client.api_keys.validate(key.secret)
            assert info.id == key.id and info.has_scope(scope)

            rotated = await client.api_keys.rotate(key.id)
            with pytest.raises(flux.InvalidKeyError) as old:
                await client.api_keys.validate(key.secret)
            assert old.value.outcome == "NOT_FOUND"
            await client.api_keys.validate(rotated.secret)
            with pytest.raises(flux.RateLimitedError) as limited:
                await client.api_keys.validate(rotated.secret)
            assert limited.value.retry_after > 0

            assert (await client.api_keys.get(key.id)).rotated_at is not None
            assert [k.id for k in await client.api_keys.list(org_id)] == [key.id]
            assert (await client.api_keys.update(key.id, name="renamed")).name == "renamed"
            assert (await client.api_keys.revoke(key.id)).state == "REVOKED"
            usage = await client.api_keys.get_usage(key.id)
            assert usage.requests_current_period >= 3 and usage.outcomes.get("RATE_LIMITED") == 1

            with pytest.raises(flux.NotFoundError):
                await client.api_keys.get(key.id + "-missing")
            # Calls may run concurrently on one client.
            results = await asyncio.gather(*(client.api_keys.get(key.id) for _ in range(5)))
            assert {r.id for r in results} == {key.id}

    asyncio.run(scenario())


def test_the_async_client_reports_a_bad_admin_key(live: Live) -> None:
    async def scenario() -> None:
        async with flux.AsyncClient("flux_admin_wrong", url=live.url) as client:
            with pytest.raises(flux.AuthenticationError) as caught:
                await client.api_keys.list_scopes()
            assert caught.value.reason == "ADMIN_KEY_INVALID"

    asyncio.run(scenario())
