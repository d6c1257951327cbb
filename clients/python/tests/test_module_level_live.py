"""Against a real server: flux.init() + flux.api_keys as on the product page, and the example script itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from support import Live

import flux

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "product_page.py"


@pytest.fixture
def initialised(live: Live, monkeypatch: pytest.MonkeyPatch) -> Iterator[flux.Client]:
    monkeypatch.setenv("FLUX_URL", live.url)
    client = flux.init(live.admin_key)  # no url: FLUX_URL decides
    yield client
    flux.close()


def test_init_reads_the_address_from_flux_url(initialised: flux.Client, live: Live) -> None:
    assert initialised.target.address == live.url.split("://", 1)[-1].rstrip("/")


def test_module_level_calls_use_the_initialised_client(initialised: flux.Client, org_id: str) -> None:
    scope = flux.api_keys.define_scope("data:read", "Read data").name
    key = flux.api_keys.create(
        org_id=org_id, name="CI pipeline", scopes=["data:read"], expires_at=None,
        rate_limit=flux.RateLimit(requests=1000, window_seconds=60),
    )  # fmt: skip
    assert key.id and key.secret
    key_info = flux.api_keys.validate(key.secret)
    assert key_info.has_scope(scope)
    new_secret = flux.api_keys.rotate(key.id).secret
    assert flux.api_keys.validate(new_secret).id == key.id
    assert flux.api_keys.get_usage(key.id).requests_current_period == 2


def test_init_again_replaces_the_default_client(initialised: flux.Client, live: Live) -> None:
    replacement = flux.init(live.admin_key, url=live.url)
    assert replacement is not initialised
    assert flux.api_keys.list_scopes() is not None


def test_the_product_page_example_runs_as_written(live: Live) -> None:
    env = {**os.environ, "FLUX_URL": live.url, "FLUX_ADMIN_KEY": live.admin_key}
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Requests this month: 1" in result.stdout
