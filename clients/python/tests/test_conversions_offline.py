"""Protobuf → dataclass conversions, validation outcomes → errors, request building and address rules."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

import flux
from flux._connection import resolve_target

RESET_AT = datetime(2030, 3, 17, 17, 46, 40, tzinfo=timezone.utc)


def test_keys_convert_to_dataclasses_with_utc_datetimes(fake_client: flux.Client) -> None:
    key = fake_client.api_keys.get("key_1")
    assert isinstance(key, flux.ApiKey)
    assert (key.id, key.org_id, key.name, key.scopes) == ("key_1", "org_1", "fake", ("data:read",))
    assert key.rate_limit == flux.RateLimit(requests=10, window_seconds=60)
    assert key.metadata == {"team": "ci"} and key.enabled and key.state == "ACTIVE"
    assert key.created_at == RESET_AT + timedelta(milliseconds=500)
    assert key.created_at.tzinfo == timezone.utc
    assert key.expires_at is None and key.revoked_at is None and key.rotated_at is None
    assert key.has_scope("data:read") and not key.has_scope("data:write")


def test_create_sends_limits_and_expiry_and_hides_the_secret_from_repr(fake_client: flux.Client) -> None:
    expires_at = datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    key = fake_client.api_keys.create(
        org_id="org_9",
        name="CI pipeline",
        scopes=["data:read"],
        expires_at=expires_at,
        rate_limit=flux.RateLimit(requests=1000, window_seconds=60),
    )
    assert isinstance(key, flux.CreatedApiKey) and isinstance(key, flux.ApiKey)
    assert (key.id, key.secret, key.org_id) == ("key_1", "flux_fakesecret", "org_9")
    assert key.rate_limit == flux.RateLimit(requests=1000, window_seconds=60)
    assert key.expires_at == expires_at and key.expires_at.tzinfo == timezone.utc
    assert "flux_fakesecret" not in repr(key)


def test_naive_datetimes_are_refused_rather_than_guessed(fake_client: flux.Client) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        fake_client.api_keys.create(org_id="o", name="n", expires_at=datetime(2031, 1, 1))


def test_update_sends_only_the_fields_passed_in_its_mask(fake_client: flux.Client) -> None:
    assert fake_client.api_keys.update("key_1", name="x").name == "name"
    changed = fake_client.api_keys.update("key_1", rate_limit=None, enabled=False, scopes=[])
    assert changed.name == "scopes,rate_limit,enabled"
    with pytest.raises(ValueError):
        fake_client.api_keys.update("key_1")


def test_a_valid_key_returns_its_info_and_rate_limit_state(fake_client: flux.Client) -> None:
    info = fake_client.api_keys.validate("valid")
    assert isinstance(info, flux.KeyInfo)
    assert info.has_scope("data:read") and not info.has_scope("data:write")
    assert info.rate_limit == flux.RateLimitState(limit=5, remaining=4, reset_at=RESET_AT, retry_after=0.0)


@pytest.mark.parametrize("outcome", ["not_found", "malformed", "expired", "revoked", "disabled"])
def test_a_refused_key_raises_invalid_key_error_with_its_outcome(fake_client: flux.Client, outcome: str) -> None:
    with pytest.raises(flux.InvalidKeyError) as caught:
        fake_client.api_keys.validate(outcome)
    error = caught.value
    assert type(error) is flux.InvalidKeyError
    assert error.outcome == outcome.upper() and error.reason == outcome.upper() and error.code is None
    assert (error.key_info is None) == (outcome in ("not_found", "malformed"))


def test_a_rate_limited_key_raises_with_retry_after_in_seconds(fake_client: flux.Client) -> None:
    with pytest.raises(flux.RateLimitedError) as caught:
        fake_client.api_keys.validate("rate_limited")
    error = caught.value
    assert isinstance(error, flux.InvalidKeyError) and error.outcome == "RATE_LIMITED"
    assert error.retry_after == 1.5 and error.reset_at == RESET_AT
    assert error.key_info is not None and error.key_info.rate_limit is not None
    assert error.key_info.rate_limit.remaining == 0


def test_a_key_lacking_required_scopes_names_them(fake_client: flux.Client) -> None:
    with pytest.raises(flux.InsufficientScopeError) as caught:
        fake_client.api_keys.validate("insufficient_scope", required_scopes=["data:write", "admin"])
    assert caught.value.missing_scopes == ("data:write", "admin")
    assert caught.value.outcome == "INSUFFICIENT_SCOPE"


@pytest.mark.parametrize(
    "url, address, secure",
    [
        ("127.0.0.1:50051", "127.0.0.1:50051", False),
        ("http://127.0.0.1:4000", "127.0.0.1:4000", False),
        ("http://flux.internal:4000/", "flux.internal:4000", False),
        ("https://flux.example.com", "flux.example.com:443", True),
        ("http://[::1]:7000", "[::1]:7000", False),
    ],
)
def test_urls_may_have_an_http_scheme_or_none(url: str, address: str, secure: bool) -> None:
    assert resolve_target(url) == (address, secure)


def test_the_url_defaults_to_flux_url_then_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUX_URL", "http://flux.test:9999")
    assert resolve_target(None).address == "flux.test:9999"
    assert resolve_target("h:1").address == "h:1"
    monkeypatch.delenv("FLUX_URL")
    assert resolve_target(None).address == flux.DEFAULT_URL == "127.0.0.1:50051"
    with pytest.raises(ValueError):
        resolve_target("ftp://h:1")
