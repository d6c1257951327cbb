"""Against a real server, through grpcio itself: an error about many long values stays small enough for grpcio's
metadata limit, so the SDK reports the real reason (UNKNOWN_SCOPE), never RESOURCE_EXHAUSTED."""

from __future__ import annotations

import uuid

import grpc
import pytest

import flux


def test_unknown_scope_for_100_long_names_arrives_as_unknown_scope_not_resource_exhausted(client: flux.Client, org_id: str) -> None:
    run = uuid.uuid4().hex[:8]
    missing = [f"never-defined-{run}-{i:03d}-{'x' * 70}" for i in range(100)]
    with pytest.raises(flux.FluxError) as caught:
        client.api_keys.create(org_id=org_id, name="many scopes", scopes=missing)
    err = caught.value
    assert isinstance(err, flux.UnknownScopeError), repr(err)
    assert err.code is grpc.StatusCode.INVALID_ARGUMENT
    assert err.reason == "UNKNOWN_SCOPE"
    # At most a few names, plus how many there were.
    assert 1 <= len(err.scopes) <= 5 and set(err.scopes) <= set(missing)
    assert err.metadata.get("count") == "100"
    assert "100" in err.message
