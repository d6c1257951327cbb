"""The local validator's limits and usage against the real server: rate limits and credits answered from leases
alike the network's answers, and usage exact in GetApiKeyUsage once the validator is closed."""

from __future__ import annotations

from typing import List, Tuple

import pytest
from support import unique_scope_name
from test_local_validator_live import answer, validator_client  # noqa: F401  (a fixture)

import flux


def test_rate_limits_and_credits_answer_locally_as_the_network_does(
    client: flux.Client, validator_client: flux.Client, org_id: str  # noqa: F811
) -> None:
    limited = client.api_keys.create(org_id=org_id, name="limited", rate_limit=flux.RateLimit(2, 3600))
    metered = client.api_keys.create(org_id=org_id, name="metered", credits=flux.Credits(remaining=3))
    cases: List[Tuple[str, dict]] = [
        (limited.secret, {}),  # local VALID from a lease, then the network's VALID: the window of 2 is spent
        (limited.secret, {}),  # both RATE_LIMITED
        (metered.secret, {"cost": 5}),  # both USAGE_EXCEEDED (a balance of 3)
        (metered.secret, {"cost": 0}),  # both VALID: cost 0 reads
    ]
    with validator_client.api_keys.local_validator(name="limits") as validator:
        for secret, kwargs in cases:
            before = validator.stats().local_answers
            local = answer(lambda: validator.validate(secret, **kwargs))
            assert validator.stats().local_answers == before + 1, (kwargs, local)
            network = answer(lambda: validator_client.api_keys.validate(secret, **kwargs))
            assert local == network, (kwargs, local, network)
        with pytest.raises(flux.RateLimitedError) as limited_error:
            validator.validate(limited.secret)
        assert limited_error.value.retry_after > 0 and limited_error.value.reset_at is not None
        assert validator.stats().network_answers == 0


def test_close_reports_every_local_answer_so_get_usage_is_exact(
    client: flux.Client, validator_client: flux.Client, org_id: str, scope: str  # noqa: F811
) -> None:
    key = client.api_keys.create(org_id=org_id, name="reported", scopes=[scope])
    other = unique_scope_name("data:write")
    validator = validator_client.api_keys.local_validator(name="usage")
    for _ in range(7):
        validator.validate(key.secret, required_scopes=[scope])
    for _ in range(3):
        with pytest.raises(flux.InsufficientScopeError):
            validator.validate(key.secret, required_scopes=[other])
    assert validator.stats().local_answers == 10 and validator.stats().network_answers == 0
    validator.close()
    validator.close()  # idempotent
    assert validator.state == "closed"
    usage = client.api_keys.get_usage(key.id)
    assert (usage.requests_current_period, usage.errors_current_period) == (10, 3)
    assert usage.outcomes == {"VALID": 7, "INSUFFICIENT_SCOPE": 3}
    assert usage.last_used_at is not None
    assert [u.scope for u in usage.scope_uses if u.last_required_at is not None] == [scope]
