"""Helpers shared by the live tests (imported by name: tests/ is on sys.path, see pyproject.toml)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Live:
    """The server under test, from FLUX_URL and FLUX_TEST_ADMIN_KEY."""

    url: str
    admin_key: str


def unique_scope_name(prefix: str = "data:read") -> str:
    """Scopes are global to the (shared) database, so each test defines its own."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
