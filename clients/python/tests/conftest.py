"""Fixtures: the live server named by FLUX_URL / FLUX_TEST_ADMIN_KEY (tests fail, never skip, without them),
unique org ids and scope names (the database is shared), and the in-process fake server."""

from __future__ import annotations

import os
import uuid
from typing import Iterator, Tuple

import fake_server
import pytest
from support import Live, unique_scope_name

import flux


@pytest.fixture(scope="session")
def live() -> Live:
    url, admin_key = os.environ.get("FLUX_URL"), os.environ.get("FLUX_TEST_ADMIN_KEY")
    if not url or not admin_key:
        pytest.fail(
            "FLUX_URL and FLUX_TEST_ADMIN_KEY must name a running Flux server: run "
            "`node scripts/with-server.mjs --tls -- bash clients/python/run-tests.sh` from the repo root",
            pytrace=False,
        )
    return Live(url=url, admin_key=admin_key)


@pytest.fixture
def client(live: Live) -> Iterator[flux.Client]:
    with flux.Client(live.admin_key, url=live.url) as c:
        yield c


@pytest.fixture
def org_id() -> str:
    return f"org_{uuid.uuid4().hex}"


@pytest.fixture
def scope(client: flux.Client) -> str:
    """A freshly defined scope name, unique to the test."""
    return client.api_keys.define_scope(unique_scope_name(), "read data (test)").name


@pytest.fixture
def fake() -> Iterator[Tuple[str, fake_server.FakeApiKeyService]]:
    yield from fake_server.start()


@pytest.fixture
def fake_client(fake: Tuple[str, fake_server.FakeApiKeyService]) -> Iterator[flux.Client]:
    with flux.Client("fake-admin-key", url=f"http://{fake[0]}") as c:
        yield c
