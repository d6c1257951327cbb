"""The local validator against the real server: the same answers as the network validate, revocations and
rotations seen before their RPC returns, the admin-key right checked at start, state and close.
Limits and usage (leases, reports): test_local_usage_live.py."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable, Iterator, List, Optional, Tuple

import pytest
from support import Live, unique_scope_name

import flux
from flux._local_checks import _checksum
from flux.apikeys.v1 import admin_key_service_pb2


def validator_key(client: flux.Client, org_id: str, local_validation: bool = True) -> str:
    """A validator's admin key: ValidateApiKey and LocalValidationService only, for one organisation."""
    request = admin_key_service_pb2.CreateAdminKeyRequest(
        name="python local validator", org_id=org_id, validate_only=True, local_validation=local_validation
    )
    return str(client.call("CreateAdminKey", request, client.raw_admin_keys).secret)


@pytest.fixture
def validator_client(live: Live, client: flux.Client, org_id: str) -> Iterator[flux.Client]:
    with flux.Client(validator_key(client, org_id), url=live.url) as c:
        yield c


def answer(call: Callable[[], flux.KeyInfo]) -> Tuple[Any, ...]:
    """What a caller can see of one validation, minus the counters that move between two calls."""
    try:
        info = call()
        return ("VALID", info.id, info.org_id, info.name, info.scopes, info.metadata, info.expires_at,
                info.rate_limit is not None, info.credits is not None)  # fmt: skip
    except flux.InvalidKeyError as e:
        k = e.key_info
        return (type(e).__name__, e.outcome, k and (k.id, k.name, k.scopes, k.metadata, k.expires_at),
                getattr(e, "missing_scopes", None), getattr(e, "refused_by", None))  # fmt: skip
    except flux.FluxError as e:
        return (type(e).__name__, e.code, e.reason)


def test_local_answers_equal_network_answers_for_valid_and_every_refusal(
    client: flux.Client, validator_client: flux.Client, org_id: str, scope: str
) -> None:
    create = client.api_keys.create
    plain = create(org_id=org_id, name="plain", scopes=[scope], metadata={"team": "ci"})
    disabled = create(org_id=org_id, name="disabled")
    client.api_keys.update(disabled.id, enabled=False)
    revoked = create(org_id=org_id, name="revoked")
    client.api_keys.revoke(revoked.id)
    office = create(org_id=org_id, name="office", allowed_cidrs=["203.0.113.0/24", "2001:db8::/32"])
    other = unique_scope_name("data:write")
    body = "flux_" + "7" * 30
    unknown = body + _checksum(body)  # well formed, matches no key

    local_cases: List[Tuple[str, dict]] = [
        (plain.secret, {}),
        (plain.secret, {"required_scopes": [scope]}),
        (plain.secret, {"required_scopes": [other, scope, other]}),
        (disabled.secret, {}),
        (revoked.secret, {}),
        (office.secret, {"client_ip": "203.0.113.9"}),
        (office.secret, {"client_ip": "::ffff:203.0.113.9"}),
        (office.secret, {"client_ip": "2001:db8::7"}),
        (office.secret, {"client_ip": "198.51.100.1"}),
        (office.secret, {}),
        (plain.secret[:-1] + ("A" if plain.secret[-1] != "A" else "B"), {}),
        ("x" * 600, {}),
    ]
    network_cases: List[Tuple[str, dict]] = [
        (unknown, {}),
        (plain.secret, {"required_scopes": ["not a scope"]}),
        (plain.secret, {"client_ip": "203.0.113.9/24"}),
        (plain.secret, {"cost": 1_000_001}),
    ]
    with validator_client.api_keys.local_validator(name="equality") as validator:
        for secret, kwargs in local_cases + network_cases:
            before = validator.stats()
            local = answer(lambda: validator.validate(secret, **kwargs))
            after = validator.stats()
            network = answer(lambda: validator_client.api_keys.validate(secret, **kwargs))
            assert local == network, (kwargs, local, network)
            expect_local = (secret, kwargs) in local_cases
            assert after.local_answers - before.local_answers == int(expect_local), (kwargs, local)
            assert after.network_answers - before.network_answers == int(not expect_local), (kwargs, local)


def race_a_change(
    validator: flux.LocalValidator, secret: str, change: Callable[[], Any], min_calls: int = 10_000
) -> Tuple[int, int, List[float]]:
    """Validates `secret` in a thread while `change` runs in this one; returns (calls, calls started after the
    change returned, start times of accepts that began after it returned)."""
    starts: List[Tuple[float, bool]] = []
    returned: List[float] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                validator.validate(secret)
                ok = True
            except flux.InvalidKeyError:
                ok = False
            starts.append((started, ok))

    worker = threading.Thread(target=loop)
    worker.start()
    try:
        while len(starts) < min_calls // 2:
            time.sleep(0.005)
        change()
        returned.append(time.monotonic())
        deadline = time.monotonic() + 60
        while sum(1 for s, _ in starts[-min_calls:] if s > returned[0]) < min_calls // 2 or len(starts) < min_calls:
            assert time.monotonic() < deadline, "the race did not reach its call count"
            time.sleep(0.005)
    finally:
        stop.set()
        worker.join()
    after = [s for s, _ in starts if s > returned[0]]
    late_accepts = [s for s, ok in starts if ok and s > returned[0]]
    return len(starts), len(after), late_accepts


def test_a_revocation_is_seen_before_revoke_returns_over_10000_racing_validations(
    client: flux.Client, validator_client: flux.Client, org_id: str
) -> None:
    key = client.api_keys.create(org_id=org_id, name="to revoke")
    with validator_client.api_keys.local_validator(name="race-revoke") as validator:
        assert validator.validate(key.secret).id == key.id
        calls, after, late_accepts = race_a_change(validator, key.secret, lambda: client.api_keys.revoke(key.id))
        assert calls >= 10_000 and after >= 5_000
        assert late_accepts == []
        assert answer(lambda: validator.validate(key.secret))[:2] == ("InvalidKeyError", "REVOKED")
        assert validator.stats().network_answers == 0  # every answer of the race was local


def test_a_rotation_is_seen_before_rotate_returns_over_10000_racing_validations(
    client: flux.Client, validator_client: flux.Client, org_id: str
) -> None:
    key = client.api_keys.create(org_id=org_id, name="to rotate")
    rotated: List[flux.RotatedApiKey] = []
    with validator_client.api_keys.local_validator(name="race-rotate") as validator:
        calls, after, late_accepts = race_a_change(
            validator, key.secret, lambda: rotated.append(client.api_keys.rotate(key.id))
        )
        assert calls >= 10_000 and after >= 5_000 and late_accepts == []
        assert validator.validate(rotated[0].secret).id == key.id  # the new secret, locally
        assert answer(lambda: validator.validate(key.secret))[:2] == ("InvalidKeyError", "NOT_FOUND")


def test_a_validator_needs_an_admin_key_with_the_local_validation_right(
    live: Live, client: flux.Client, org_id: str
) -> None:
    with flux.Client(validator_key(client, org_id, local_validation=False), url=live.url) as without_right:
        with pytest.raises(flux.PermissionDeniedError):
            without_right.api_keys.local_validator(start_timeout=5)
    with flux.Client("fluxadm_not-a-key", url=live.url) as wrong:
        with pytest.raises(flux.AuthenticationError):
            wrong.api_keys.local_validator(start_timeout=5)


def test_a_validator_reports_its_state_and_answers_over_the_network_once_closed(
    client: flux.Client, validator_client: flux.Client, org_id: str
) -> None:
    key = client.api_keys.create(org_id=org_id, name="state")
    states: List[str] = []
    validator: Optional[flux.LocalValidator] = None
    with validator_client.api_keys.local_validator(on_state_change=states.append) as validator:
        assert validator.state == "fresh"
        deadline = time.monotonic() + 5
        while not states and time.monotonic() < deadline:  # told from the validator's thread
            time.sleep(0.01)
        assert states == ["fresh"]
        assert validator.validate(key.secret).id == key.id
    assert validator.state == "closed" and states[-1] == "closed"
    assert validator.validate(key.secret).id == key.id  # the network answers a closed validator's calls
    assert validator.stats().network_answers == 1


def test_the_asyncio_validator_answers_like_the_asyncio_network_validate(
    live: Live, client: flux.Client, org_id: str, scope: str
) -> None:
    key = client.api_keys.create(org_id=org_id, name="async", scopes=[scope])
    limited = client.api_keys.create(org_id=org_id, name="async limited", rate_limit=flux.RateLimit(2, 3600))
    admin_key = validator_key(client, org_id)

    async def run() -> None:
        async with flux.AsyncClient(admin_key, url=live.url) as ac:
            async with await ac.api_keys.local_validator(name="asyncio") as validator:
                cases = [(key.secret, {}), (key.secret, {"required_scopes": [scope, "x:y"]}), (limited.secret, {})]
                for secret, kwargs in cases:
                    local = await async_answer(validator.validate(secret, **kwargs))
                    network = await async_answer(ac.api_keys.validate(secret, **kwargs))
                    assert local == network, (kwargs, local, network)
                assert validator.stats().local_answers == 3 and validator.stats().network_answers == 0
            assert validator.state == "closed"

    async def async_answer(call: Any) -> Tuple[Any, ...]:
        try:
            result = await call
            return answer(lambda: result)
        except flux.FluxError as error:
            return answer(lambda: _raise(error))

    asyncio.run(run())


def _raise(error: Exception) -> flux.KeyInfo:
    raise error
