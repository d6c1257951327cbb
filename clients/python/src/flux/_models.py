"""The SDK's own value types: plain, frozen dataclasses with UTC datetimes, converted from protobuf in _convert."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, Iterator, List, Literal, Optional, Tuple

# Why a key was accepted or refused (the proto enum Outcome without its OUTCOME_ prefix).
Outcome = Literal[
    "UNSPECIFIED",
    "VALID",
    "NOT_FOUND",
    "MALFORMED",
    "EXPIRED",
    "REVOKED",
    "DISABLED",
    "RATE_LIMITED",
    "INSUFFICIENT_SCOPE",
    "IP_NOT_ALLOWED",
    "USAGE_EXCEEDED",
]
# Whose policy refused a validation (RATE_LIMITED, USAGE_EXCEEDED): the key's own or its organisation's.
PolicyLevel = Literal["KEY", "ORGANIZATION"]
# Lifecycle state of a key (the proto enum KeyState without its KEY_STATE_ prefix).
KeyState = Literal["UNSPECIFIED", "ACTIVE", "DISABLED", "REVOKED", "EXPIRED"]
Granularity = Literal["HOUR", "DAY"]


@dataclass(frozen=True)
class RateLimit:
    """A fixed-window budget: `requests` admitted per `window_seconds`."""

    requests: int
    window_seconds: int


@dataclass(frozen=True)
class RateLimitState:
    """A key's budget in its current window, as reported by validation."""

    limit: int
    remaining: int
    reset_at: Optional[datetime]
    # Seconds to wait before retrying; 0 unless the key was rate limited.
    retry_after: float


@dataclass(frozen=True)
class CreditRefill:
    """Sets the balance back to `amount` every `interval_seconds`, or on `day_of_month` (1-31, 00:00 UTC)."""

    amount: int
    interval_seconds: Optional[int] = None
    # 31 means the last day of shorter months.
    day_of_month: Optional[int] = None
    # When the balance was last refilled (or set); output only.
    last_refill_at: Optional[datetime] = None


@dataclass(frozen=True)
class Credits:
    """A credit balance (0 to 10**15) that validations spend (cost, default 1), with an optional refill."""

    remaining: int
    refill: Optional[CreditRefill] = None


@dataclass(frozen=True)
class CreditsState:
    """A balance after a validation."""

    remaining: int
    # None without refill.
    next_refill_at: Optional[datetime] = None


@dataclass(frozen=True)
class OrganizationState:
    """The organisation's shared window and balance after a validation."""

    rate_limit: Optional[RateLimitState] = None
    credits: Optional[CreditsState] = None


@dataclass(frozen=True)
class OrganizationPolicy:
    """Limits all of an organisation's keys share, on top of each key's own."""

    org_id: str
    rate_limit: Optional[RateLimit] = None
    # The shared balance as it is now.
    credits: Optional[Credits] = None
    # None if never set.
    updated_at: Optional[datetime] = None


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored by Flux. Never carries the secret."""

    id: str
    org_id: str
    name: str
    scopes: Tuple[str, ...]
    rate_limit: Optional[RateLimit]
    expires_at: Optional[datetime]
    metadata: Dict[str, str]
    enabled: bool
    state: KeyState
    display_hint: str
    created_at: Optional[datetime]
    updated_at: Optional[datetime]
    revoked_at: Optional[datetime]
    rotated_at: Optional[datetime]
    # CIDRs the end client's address must fall in (normalised, e.g. "203.0.113.0/24"); empty: any address.
    allowed_cidrs: Tuple[str, ...] = ()
    # None: unmetered. remaining is the balance now.
    credits: Optional[Credits] = None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class CreatedApiKey(ApiKey):
    """A key together with its secret, returned only by create and rotate: store the secret now."""

    # Kept out of repr so that logging the object does not leak the secret.
    secret: str = field(default="", repr=False)


@dataclass(frozen=True)
class RotatedApiKey(CreatedApiKey):
    """What rotate() returns: the key with its new secret, and whether every replica has confirmed the rotation."""

    # How many server replicas (MongoDB with several Flux servers) had not confirmed the rotation when it answered;
    # always 0 on a single server. 0: no replica accepts the old secret any more (past the grace period). Otherwise
    # the rotation is saved all the same and this is still the only time the new secret is shown: keep it, and do
    # not retry (that would rotate again); those replicas stop accepting the old secret on their own within seconds.
    unconfirmed_replicas: int = 0


@dataclass(frozen=True)
class KeyInfo:
    """What a validating service learns about a valid key."""

    id: str
    org_id: str
    name: str
    scopes: Tuple[str, ...]
    metadata: Dict[str, str]
    expires_at: Optional[datetime]
    # Absent when the key has no rate limit.
    rate_limit: Optional[RateLimitState]
    # The key's balance after this validation; None when it has no credits.
    credits: Optional[CreditsState] = None
    # The organisation's shared state after this validation; None when it has no policy.
    organization: Optional[OrganizationState] = None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class UsageBucket:
    start_time: Optional[datetime]
    requests: int
    valid: int
    rate_limited: int
    other_errors: int
    # USAGE_EXCEEDED (not counted in other_errors).
    usage_exceeded: int = 0


@dataclass(frozen=True)
class Usage:
    """A key's validations in the current calendar month (UTC) and a time series."""

    id: str
    period_start: Optional[datetime]
    requests_current_period: int
    errors_current_period: int
    error_rate: float
    last_used_at: Optional[datetime]
    # Count per outcome in the current period, e.g. {"VALID": 3, "RATE_LIMITED": 1}.
    outcomes: Dict[str, int]
    series: Tuple[UsageBucket, ...]
    # The key's scopes no validation required in the last unused_scope_days (default 30): candidates to remove.
    unused_scopes: Tuple[str, ...] = ()
    # Each of the key's scopes with the latest validation that required it (None: never recorded).
    scope_uses: Tuple["ScopeUse", ...] = ()


@dataclass(frozen=True)
class ScopeUse:
    scope: str
    last_required_at: Optional[datetime]


@dataclass(frozen=True)
class KeyUsageSummary:
    """One key's traffic in an organisation's usage."""

    key_id: str
    name: str
    requests: int
    errors: int
    error_rate: float


@dataclass(frozen=True)
class OrganizationUsage:
    """All of an organisation's keys' validations since series_start, and its top keys."""

    org_id: str
    requests: int
    errors: int
    error_rate: float
    # Count per outcome, e.g. {"VALID": 30, "IP_NOT_ALLOWED": 2}.
    outcomes: Dict[str, int]
    series: Tuple[UsageBucket, ...]
    # Most validations first.
    top_keys_by_requests: Tuple[KeyUsageSummary, ...]
    # Highest error rate first, among keys with at least 10 validations.
    top_keys_by_error_rate: Tuple[KeyUsageSummary, ...]


@dataclass(frozen=True)
class Scope:
    name: str
    description: str
    created_at: Optional[datetime]


@dataclass(frozen=True)
class ApiKeyPage:
    """One page of list(); iterate it for the keys, pass next_page_token to get the next page."""

    api_keys: List[ApiKey]
    # Empty on the last page.
    next_page_token: str

    def __iter__(self) -> Iterator[ApiKey]:
        return iter(self.api_keys)

    def __len__(self) -> int:
        return len(self.api_keys)
