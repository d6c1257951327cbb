"""The error table, checked over a real gRPC transport against the in-process fake server (no Flux needed)."""

from __future__ import annotations

import asyncio
import socket
from typing import Tuple, Type

import grpc
import pytest
from fake_server import FakeApiKeyService
from flux.apikeys.v1 import api_key_service_pb2, error_reason_pb2

import flux

CASES = [
    ("UNAUTHENTICATED", "ADMIN_KEY_MISSING", flux.AuthenticationError),
    ("UNAUTHENTICATED", "ADMIN_KEY_INVALID", flux.AuthenticationError),
    ("PERMISSION_DENIED", "PERMISSION_DENIED", flux.PermissionDeniedError),
    ("INVALID_ARGUMENT", "INVALID_ARGUMENT", flux.InvalidArgumentError),
    ("INVALID_ARGUMENT", "UNKNOWN_SCOPE", flux.UnknownScopeError),
    ("NOT_FOUND", "KEY_NOT_FOUND", flux.NotFoundError),
    ("NOT_FOUND", "SCOPE_NOT_FOUND", flux.NotFoundError),
    ("FAILED_PRECONDITION", "KEY_REVOKED", flux.FailedPreconditionError),
    ("FAILED_PRECONDITION", "SCOPE_IN_USE", flux.FailedPreconditionError),
    ("UNAVAILABLE", "STORE_UNAVAILABLE", flux.UnavailableError),
    ("INTERNAL", "INTERNAL", flux.InternalError),
    ("RESOURCE_EXHAUSTED", "AUTH_THROTTLED", flux.ThrottledError),
    # A newer server's reason falls back on the code; so does a prefixed enum name, which is not a wire reason.
    ("NOT_FOUND", "SOMETHING_NEW", flux.NotFoundError),
    ("NOT_FOUND", "ERROR_REASON_KEY_NOT_FOUND", flux.NotFoundError),
    ("RESOURCE_EXHAUSTED", "SOMETHING_NEW", flux.FluxError),
]

# Every reason of the generated proto enum, as sent on the wire (the name without its ERROR_REASON_ prefix).
PROTO_REASONS = [
    name.removeprefix("ERROR_REASON_") for name, value in error_reason_pb2.ErrorReason.items() if value != 0
]


@pytest.mark.parametrize("code_name, reason, expected", CASES)
def test_maps_each_status_code_and_reason_to_its_error_class(
    fake_client: flux.Client, code_name: str, reason: str, expected: Type[flux.FluxError]
) -> None:
    with pytest.raises(expected) as caught:
        fake_client.api_keys.get(f"fail:{code_name}:{reason}")
    error = caught.value
    assert type(error) is expected
    assert error.code is getattr(grpc.StatusCode, code_name)
    assert error.reason == reason
    assert error.message == f"fake {reason}"
    assert isinstance(error.__cause__, grpc.RpcError)


@pytest.mark.parametrize("reason", PROTO_REASONS)
def test_every_reason_of_the_proto_enum_maps_to_a_typed_error_by_the_reason_alone(
    fake_client: flux.Client, reason: str
) -> None:
    # UNKNOWN has no class of its own: only the reason can choose the class.
    with pytest.raises(flux.FluxError) as caught:
        fake_client.api_keys.get(f"fail:UNKNOWN:{reason}")
    assert type(caught.value) is not flux.FluxError
    assert caught.value.reason == reason and caught.value.code is grpc.StatusCode.UNKNOWN


def test_the_proto_enum_lists_the_reasons_the_sdk_documents() -> None:
    assert {"UNKNOWN_SCOPE", "KEY_NOT_FOUND", "AUTH_THROTTLED", "STORE_UNAVAILABLE"} <= set(PROTO_REASONS)


def test_unknown_scope_error_lists_the_unknown_scopes(fake_client: flux.Client) -> None:
    with pytest.raises(flux.UnknownScopeError) as caught:
        fake_client.api_keys.get("fail:INVALID_ARGUMENT:UNKNOWN_SCOPE:scopes=a:b,c")
    assert isinstance(caught.value, flux.InvalidArgumentError)
    assert caught.value.metadata == {"scopes": "a:b,c"}
    assert caught.value.scopes == ("a:b", "c")


def test_unavailable_carries_the_retry_delay_from_retry_info(fake_client: flux.Client) -> None:
    with pytest.raises(flux.UnavailableError) as caught:
        fake_client.api_keys.get("fail:UNAVAILABLE:STORE_UNAVAILABLE")
    assert caught.value.retry_after == pytest.approx(1.5)


def test_an_error_without_status_details_still_maps_by_code(fake_client: flux.Client) -> None:
    with pytest.raises(flux.InternalError) as caught:
        fake_client.api_keys.get("plain-error")
    assert caught.value.reason is None and caught.value.metadata == {}
    assert caught.value.message == "boom"


def test_a_server_that_is_not_there_is_unavailable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with flux.Client("k", url=f"127.0.0.1:{port}", timeout=5) as client:
        with pytest.raises(flux.UnavailableError) as caught:
            client.api_keys.get("key_1")
    assert caught.value.code is grpc.StatusCode.UNAVAILABLE
    assert caught.value.reason == "UNAVAILABLE"


def test_the_async_client_maps_errors_the_same_way(fake: Tuple[str, FakeApiKeyService]) -> None:
    async def scenario() -> None:
        async with flux.AsyncClient("fake-admin-key", url=fake[0]) as client:
            with pytest.raises(flux.UnknownScopeError) as caught:
                await client.api_keys.get("fail:INVALID_ARGUMENT:UNKNOWN_SCOPE:scopes=x")
            assert caught.value.scopes == ("x",) and caught.value.code is grpc.StatusCode.INVALID_ARGUMENT
            with pytest.raises(flux.UnavailableError) as unavailable:
                await client.api_keys.get("fail:UNAVAILABLE:STORE_UNAVAILABLE")
            assert unavailable.value.retry_after == pytest.approx(1.5)
            with pytest.raises(flux.RateLimitedError):
                await client.api_keys.validate("rate_limited")

    asyncio.run(scenario())


def test_every_call_sends_the_admin_key_as_a_bearer_token(
    fake_client: flux.Client, fake: Tuple[str, FakeApiKeyService]
) -> None:
    fake_client.api_keys.get("key_1")
    fake_client.raw.GetApiKey(api_key_service_pb2.GetApiKeyRequest(id="key_1"))  # escape hatch
    assert [m.get("authorization") for m in fake[1].seen_metadata] == ["Bearer fake-admin-key"] * 2


def test_module_level_calls_before_init_explain_what_to_do() -> None:
    flux.close()
    with pytest.raises(flux.FluxError, match=r"flux\.init"):
        flux.api_keys.get("key_1")
