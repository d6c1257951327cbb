"""Against a real server: each kind of failure surfaces as its flux error, with the server's reason."""

from __future__ import annotations

import uuid

import grpc
import pytest
from flux.apikeys.v1 import admin_key_service_pb2
from support import Live

import flux


def test_a_wrong_admin_key_is_an_authentication_error(live: Live, org_id: str) -> None:
    with flux.Client("flux_admin_not-a-real-key", url=live.url) as client:
        with pytest.raises(flux.AuthenticationError) as caught:
            client.api_keys.create(org_id=org_id, name="x")
    assert caught.value.code is grpc.StatusCode.UNAUTHENTICATED
    assert caught.value.reason == "ADMIN_KEY_INVALID"


def test_a_validate_only_admin_key_may_validate_but_not_create(client: flux.Client, live: Live, org_id: str) -> None:
    created = client.raw_admin_keys.CreateAdminKey(
        admin_key_service_pb2.CreateAdminKeyRequest(name=f"validator {uuid.uuid4().hex[:8]}", validate_only=True)
    )
    key = client.api_keys.create(org_id=org_id, name="checked by the validator")
    try:
        with flux.Client(created.secret, url=live.url) as validator:
            assert validator.api_keys.validate(key.secret).id == key.id
            with pytest.raises(flux.PermissionDeniedError) as caught:
                validator.api_keys.create(org_id=org_id, name="forbidden")
    finally:
        client.raw_admin_keys.RevokeAdminKey(admin_key_service_pb2.RevokeAdminKeyRequest(id=created.admin_key.id))
    assert caught.value.code is grpc.StatusCode.PERMISSION_DENIED
    assert caught.value.reason == "PERMISSION_DENIED"


def test_an_undefined_scope_is_an_invalid_argument_naming_it(client: flux.Client, org_id: str) -> None:
    missing = f"never-defined-{uuid.uuid4().hex[:8]}"
    with pytest.raises(flux.InvalidArgumentError) as caught:
        client.api_keys.create(org_id=org_id, name="x", scopes=[missing])
    assert isinstance(caught.value, flux.UnknownScopeError)
    assert caught.value.reason == "UNKNOWN_SCOPE" and caught.value.scopes == (missing,)


def test_a_missing_name_is_an_invalid_argument(client: flux.Client, org_id: str) -> None:
    with pytest.raises(flux.InvalidArgumentError) as caught:
        client.api_keys.create(org_id=org_id, name="")
    assert caught.value.reason == "INVALID_ARGUMENT" and type(caught.value) is flux.InvalidArgumentError


def test_an_unknown_key_id_is_not_found(client: flux.Client) -> None:
    with pytest.raises(flux.NotFoundError) as caught:
        client.api_keys.get(f"key_{uuid.uuid4().hex}")
    assert caught.value.code is grpc.StatusCode.NOT_FOUND and caught.value.reason == "KEY_NOT_FOUND"


def test_a_revoked_key_is_refused_and_can_no_longer_change(client: flux.Client, org_id: str) -> None:
    key = client.api_keys.create(org_id=org_id, name="to revoke")
    revoked = client.api_keys.revoke(key.id)
    assert revoked.state == "REVOKED" and revoked.revoked_at is not None
    with pytest.raises(flux.InvalidKeyError) as refused:
        client.api_keys.validate(key.secret)
    assert refused.value.outcome == "REVOKED" and type(refused.value) is flux.InvalidKeyError
    with pytest.raises(flux.FailedPreconditionError) as caught:
        client.api_keys.update(key.id, name="renamed")
    assert caught.value.reason == "KEY_REVOKED"


def test_a_scope_carried_by_a_live_key_cannot_be_deleted(client: flux.Client, org_id: str, scope: str) -> None:
    client.api_keys.create(org_id=org_id, name="holds the scope", scopes=[scope])
    with pytest.raises(flux.FailedPreconditionError) as caught:
        client.api_keys.delete_scope(scope)
    assert caught.value.reason == "SCOPE_IN_USE"


def test_secrets_that_are_not_flux_keys_are_malformed(client: flux.Client) -> None:
    with pytest.raises(flux.InvalidKeyError) as caught:
        client.api_keys.validate("not a key")
    assert caught.value.outcome == "MALFORMED" and caught.value.key_info is None
