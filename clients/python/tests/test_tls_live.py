"""Over TLS against a real Flux serving FLUX_TLS_CERT_FILE / FLUX_TLS_KEY_FILE with a CA made at test time
(`node scripts/with-server.mjs --tls` sets FLUX_TLS_URL, FLUX_TEST_CA_FILE and FLUX_TEST_WRONG_CA_FILE)."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from support import Live

import flux


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(
            f"{name} is not set: run `node scripts/with-server.mjs --tls -- bash clients/python/run-tests.sh` "
            "from the repo root",
            pytrace=False,
        )
    return value


@pytest.fixture(scope="module")
def tls_url() -> str:
    return _env("FLUX_TLS_URL")


def test_issues_and_validates_a_key_over_tls_trusting_the_ca_file(live: Live, tls_url: str) -> None:
    with flux.Client(live.admin_key, url=tls_url, ca=_env("FLUX_TEST_CA_FILE")) as client:
        key = client.api_keys.create(org_id=f"org_{uuid.uuid4().hex}", name="over TLS")
        assert client.api_keys.validate(key.secret).id == key.id


def test_flux_init_takes_the_ca_as_pem_bytes(live: Live, tls_url: str) -> None:
    flux.init(live.admin_key, url=tls_url, ca=Path(_env("FLUX_TEST_CA_FILE")).read_bytes())
    try:
        key = flux.api_keys.create(org_id=f"org_{uuid.uuid4().hex}", name="module-level over TLS")
        assert flux.api_keys.validate(key.secret).id == key.id
    finally:
        flux.close()


def test_the_async_client_speaks_tls_too(live: Live, tls_url: str) -> None:
    async def scenario() -> None:
        async with flux.AsyncClient(live.admin_key, url=tls_url, ca=_env("FLUX_TEST_CA_FILE")) as client:
            await client.api_keys.list_scopes()

    asyncio.run(scenario())


def test_a_ca_that_did_not_sign_the_servers_certificate_is_an_unavailable_error_saying_so(
    live: Live, tls_url: str
) -> None:
    with flux.Client(live.admin_key, url=tls_url, ca=_env("FLUX_TEST_WRONG_CA_FILE"), timeout=10) as client:
        with pytest.raises(flux.UnavailableError) as failed:
            client.api_keys.list_scopes()
    # e.g. "... Tls handshake failed (TSI_PROTOCOL_FAILURE): ... CERTIFICATE_VERIFY_FAILED: unable to get local issuer"
    assert "CERTIFICATE_VERIFY_FAILED" in str(failed.value)
    assert failed.value.reason == "UNAVAILABLE"


def test_tls_options_are_refused_with_a_cleartext_url_or_half_an_identity(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="need an https:// URL"):
        flux.Client("admin", url="http://127.0.0.1:1", ca=b"pem")
    with pytest.raises(ValueError, match="client_cert and client_key go together"):
        flux.Client("admin", url="https://127.0.0.1:1", client_cert=b"pem")
    with pytest.raises(ValueError, match="cannot read ca file"):
        flux.Client("admin", url="https://127.0.0.1:1", ca=str(tmp_path / "missing.pem"))
