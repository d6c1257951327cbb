"""The local validator's answers in the network validate's exact form: a refusal is built as the server's
ValidateApiKeyResponse and raised by the same conversion (_convert.key_info_or_raise); a VALID answer with limits
is the key's shared KeyInfo with this call's rate-limit and credit states."""

from __future__ import annotations

from typing import Any, Dict, List, NoReturn, Optional, cast

from flux.apikeys.v1 import validation_pb2

from . import _convert
from ._local_table import KeyEntry
from ._models import CreditsState, KeyInfo, RateLimitState

OUTCOME: Dict[str, int] = {
    name: validation_pb2.Outcome.Value(f"OUTCOME_{name}")
    for name in ("VALID", "MALFORMED", "EXPIRED", "REVOKED", "DISABLED", "RATE_LIMITED", "INSUFFICIENT_SCOPE",
                 "USAGE_EXCEEDED", "IP_NOT_ALLOWED")  # fmt: skip
}
_REFUSED_BY_KEY = (OUTCOME["RATE_LIMITED"], OUTCOME["USAGE_EXCEEDED"])
_MALFORMED = validation_pb2.ValidateApiKeyResponse(valid=False, outcome=cast(Any, OUTCOME["MALFORMED"]))


def raise_refusal(
    entry: KeyEntry, outcome: int, missing: Optional[List[str]] = None, rate: Any = None, credits: Any = None
) -> NoReturn:
    """rate: (limit, remaining, reset_at Timestamp, reset_at datetime, retry_after_ms); credits: (remaining,
    next_refill_at Timestamp or None, datetime or None), as _local_leases gives them."""
    response = validation_pb2.ValidateApiKeyResponse(valid=False, outcome=cast(Any, outcome), key=entry.info_proto)
    if missing:
        response.missing_scopes.extend(missing)
    if rate is not None:
        response.rate_limit.limit, response.rate_limit.remaining = rate[0], rate[1]
        response.rate_limit.reset_at.CopyFrom(rate[2])
        response.rate_limit.retry_after_ms = rate[4]
    if credits is not None:
        response.credits.remaining = credits[0]
        if credits[1] is not None:
            response.credits.next_refill_at.CopyFrom(credits[1])
    if outcome in _REFUSED_BY_KEY:  # organisations with policies are validated over the network
        response.refused_by = validation_pb2.POLICY_LEVEL_KEY
    _convert.key_info_or_raise(response)
    raise AssertionError("a refusal converted to a valid answer")  # unreachable: valid is False


def raise_malformed() -> NoReturn:
    _convert.key_info_or_raise(_MALFORMED)
    raise AssertionError("unreachable")


def valid_with_limits(entry: KeyEntry, rate: Any, credits: Any) -> KeyInfo:
    info = object.__new__(KeyInfo)  # a copy of the frozen shared answer (no __init__: a frozen dataclass's is slow)
    fields = info.__dict__
    fields.update(entry.key_info.__dict__)
    if rate is not None:
        fields["rate_limit"] = RateLimitState(limit=rate[0], remaining=rate[1], reset_at=rate[3], retry_after=0.0)
    if credits is not None:
        fields["credits"] = CreditsState(remaining=credits[0], next_refill_at=credits[2])
    return info
