"""A local validator against a real server that digests keys with FLUX_KEY_PEPPER (its own embedded-store server,
started here): the wrong pepper or none is refused at start, the right one validates locally."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator, Tuple

import pytest

import flux
from flux.apikeys.v1 import admin_key_service_pb2

ROOT = Path(__file__).resolve().parents[3]
PEPPER = "pepper-" + secrets.token_hex(16)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def peppered() -> Iterator[Tuple[str, str]]:
    """(url, admin key) of a flux server with FLUX_KEY_PEPPER, on an embedded store in a temporary directory."""
    admin_key = "test-admin-" + secrets.token_hex(12)
    port, http_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory(prefix="flux-pepper-") as data_dir:
        env = {
            **os.environ, "FLUX_ADMIN_KEY": admin_key, "FLUX_KEY_PEPPER": PEPPER, "FLUX_DATA_DIR": data_dir,
            "FLUX_GRPC_ADDR": f"127.0.0.1:{port}", "FLUX_HTTP_ADDR": f"127.0.0.1:{http_port}", "FLUX_LOG_LEVEL": "warn",
        }  # fmt: skip
        env.pop("FLUX_MONGODB_URI", None)
        server = subprocess.Popen(
            ["node", str(ROOT / "bin" / "flux-apikeys.mjs"), "serve"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            with flux.Client(admin_key, url=url, timeout=2) as probe:
                while True:  # serving once an authenticated call is answered
                    try:
                        probe.api_keys.list_scopes()
                        break
                    except flux.UnavailableError:
                        assert server.poll() is None, f"the peppered server exited: {server.stdout.read()}"  # type: ignore[union-attr]
                        assert time.monotonic() < deadline, "the peppered server did not start"
                        time.sleep(0.1)
            yield url, admin_key
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_a_validator_must_hold_the_servers_pepper(peppered: Tuple[str, str]) -> None:
    url, admin_key = peppered
    org_id = f"org_{uuid.uuid4().hex}"
    with flux.Client(admin_key, url=url) as client:
        key = client.api_keys.create(org_id=org_id, name="peppered")
        request = admin_key_service_pb2.CreateAdminKeyRequest(name="validator", validate_only=True, local_validation=True)
        validator_key = client.call("CreateAdminKey", request, client.raw_admin_keys).secret
    saved = os.environ.pop("FLUX_KEY_PEPPER", None)
    try:
        with flux.Client(validator_key, url=url) as vc:
            with pytest.raises(flux.FailedPreconditionError) as wrong:
                vc.api_keys.local_validator(pepper="not-" + PEPPER, start_timeout=5)
            assert wrong.value.reason == "PEPPER_MISMATCH" and PEPPER not in str(wrong.value)
            with pytest.raises(flux.FailedPreconditionError) as missing:
                vc.api_keys.local_validator(start_timeout=5)
            assert missing.value.reason == "PEPPER_MISMATCH"
            os.environ["FLUX_KEY_PEPPER"] = PEPPER  # the environment variable serves as well as pepper=
            with vc.api_keys.local_validator() as validator:
                assert validator.validate(key.secret).id == key.id
                assert validator.stats().local_answers == 1 and validator.stats().network_answers == 0
    finally:
        os.environ.pop("FLUX_KEY_PEPPER", None)
        if saved is not None:
            os.environ["FLUX_KEY_PEPPER"] = saved
