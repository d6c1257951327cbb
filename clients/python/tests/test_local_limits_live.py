"""Limits exact across two local validators on two servers of one store (the second over TLS: a replica) and the
network validate: together they admit exactly the key's limit or balance, never more."""

from __future__ import annotations

import os
import time
from typing import Callable, List

import pytest
from support import Live
from test_local_validator_live import validator_key

import flux


def _tls_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run under `node scripts/with-server.mjs --tls`", pytrace=False)
    return value


def admitted_until_all_refuse(callers: List[Callable[[], flux.KeyInfo]], most: int) -> List[int]:
    """Round robin until every caller is refused; returns each caller's admissions."""
    admitted = [0] * len(callers)
    refused = [False] * len(callers)
    for _ in range(most):
        for i, call in enumerate(callers):
            try:
                call()
                admitted[i] += 1
                refused[i] = False
            except (flux.RateLimitedError, flux.UsageExceededError):
                refused[i] = True
        if all(refused):
            return admitted
    raise AssertionError(f"still admitting after {most} rounds: {admitted}")


@pytest.mark.parametrize("policy", ["rate_limit", "credits"])
def test_two_validators_on_two_servers_and_the_network_admit_exactly_the_limit_together(
    live: Live, client: flux.Client, org_id: str, policy: str
) -> None:
    if policy == "rate_limit":
        key = client.api_keys.create(org_id=org_id, name="shared window", rate_limit=flux.RateLimit(200, 3600))
    else:
        key = client.api_keys.create(org_id=org_id, name="shared balance", credits=flux.Credits(remaining=200))
    admin_key = validator_key(client, org_id)
    tls_url, ca = _tls_env("FLUX_TLS_URL"), _tls_env("FLUX_TEST_CA_FILE")
    with flux.Client(admin_key, url=live.url) as first, flux.Client(admin_key, url=tls_url, ca=ca) as second:
        with first.api_keys.local_validator(name="a") as a, second.api_keys.local_validator(name="b") as b:
            admitted = admitted_until_all_refuse(
                [lambda: a.validate(key.secret), lambda: b.validate(key.secret),
                 lambda: first.api_keys.validate(key.secret)],  # fmt: skip
                most=1000,
            )
            assert sum(admitted) == 200, admitted
            assert a.stats().local_answers > 0 and b.stats().local_answers > 0
            assert a.stats().network_answers == 0 and b.stats().network_answers == 0
    # Both closed: every local answer is reported. The second server counts its validator's reports in memory and
    # writes them within FLUX_USAGE_FLUSH_MS (1 s here), so its share shows up at most that much later.
    deadline = time.monotonic() + 10
    while (usage := client.api_keys.get_usage(key.id)).outcomes.get("VALID", 0) < 200:
        assert time.monotonic() < deadline, usage.outcomes
        time.sleep(0.1)
    refused_outcome = "RATE_LIMITED" if policy == "rate_limit" else "USAGE_EXCEEDED"
    assert usage.outcomes.get("VALID") == 200
    assert usage.requests_current_period == 200 + usage.outcomes.get(refused_outcome, 0)
