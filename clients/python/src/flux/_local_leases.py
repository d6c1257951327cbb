"""Rate-limit points and credits leased from the server (LeaseLimits), one lock per key: local admissions spend
only from leases, so every validator and replica together stay within the key's limit and balance."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Optional, Tuple

from flux.apikeys.v1 import local_validation_pb2

from ._local_refill import Refiller, low
from ._local_table import KeyEntry

# (limit, remaining, reset_at Timestamp, reset_at datetime, retry_after_ms)
RateState = Tuple[int, int, Any, Any, int]
# (remaining, next_refill_at Timestamp or None, next_refill_at datetime or None)
CreditState = Tuple[int, Any, Any]
LeaseCall = Callable[[str, int, int], local_validation_pb2.LeaseLimitsResponse]

VALID = "VALID"
# A spent window or balance is refused without asking again for this long (points or credits given back by other
# validators meanwhile are under-admission, the documented slack): a flood of refused calls costs ≤ 1 RPC/s per key.
ASK_AGAIN_SECONDS = 1.0
RATE_LIMITED = "RATE_LIMITED"
USAGE_EXCEEDED = "USAGE_EXCEEDED"


class _RateLease:
    __slots__ = ("points", "limit", "unleased", "reset_at", "reset_dt", "reset_ms", "expires_mono", "quiet_until")

    def __init__(self, m: local_validation_pb2.RateLimitLease, started_mono: float) -> None:
        self.points: int = m.granted
        self.limit: int = m.limit
        self.unleased: int = m.unleased
        self.reset_at = m.reset_at
        self.reset_dt = _datetime(m.reset_at)
        self.reset_ms: float = m.reset_at.seconds * 1000.0 + m.reset_at.nanos / 1e6
        self.expires_mono: float = started_mono + m.expires_in_ms / 1000.0
        self.quiet_until = started_mono + ASK_AGAIN_SECONDS

    def usable(self, mono: float, wall_ms: float) -> bool:
        return mono < self.expires_mono and wall_ms < self.reset_ms


class _CreditLease:
    __slots__ = ("credits", "unleased", "next_refill_at", "refill_dt", "refill_ms", "expires_mono", "quiet_until")

    def __init__(self, m: local_validation_pb2.CreditsLease, started_mono: float) -> None:
        self.credits: int = m.granted
        self.unleased: int = m.unleased
        self.next_refill_at = m.next_refill_at if m.HasField("next_refill_at") else None
        t = self.next_refill_at
        self.refill_dt = _datetime(t) if t is not None else None
        self.refill_ms: float = t.seconds * 1000.0 + t.nanos / 1e6 if t is not None else float("inf")
        self.expires_mono: float = started_mono + m.expires_in_ms / 1000.0
        self.quiet_until = started_mono + ASK_AGAIN_SECONDS

    def usable(self, mono: float, wall_ms: float) -> bool:
        return mono < self.expires_mono and wall_ms < self.refill_ms


def _datetime(t: Any) -> datetime:
    return t.ToDatetime(tzinfo=timezone.utc)


class KeyLeases:
    """One key's leases and what the next usage report gives back; guarded by its own lock. `generation` is bumped
    without the lock by the stream thread when the key changes (it must never wait for a LeaseLimits call)."""

    __slots__ = (
        "lock", "rate", "credits", "returned_points", "returned_credits", "credit_chunk", "generation", "seen",
        "refilling",
    )  # fmt: skip

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.seen = 0
        self.rate: Optional[_RateLease] = None
        self.credits: Optional[_CreditLease] = None
        self.returned_points = 0
        self.returned_credits = 0
        self.credit_chunk = 10
        # A background LeaseLimits for this key is in flight (_local_refill.py): one at a time.
        self.refilling = False

    def add_rate(self, new: _RateLease, wall_ms: float) -> None:
        """A lease of the same window adds to the one held (the server counts them together); else it replaces it."""
        r = self.rate
        if r is not None and r.reset_ms == new.reset_ms and wall_ms < r.reset_ms:
            r.points += new.points
            r.unleased, r.expires_mono, r.quiet_until = new.unleased, new.expires_mono, new.quiet_until
            return
        if r is not None and r.points and wall_ms < r.reset_ms:
            self.returned_points += r.points
        self.rate = new

    def add_credits(self, new: _CreditLease, mono: float, wall_ms: float) -> None:
        """Credits of the same balance (no refill between) add to those held; else they replace them."""
        c = self.credits
        if c is not None and c.refill_ms == new.refill_ms and c.usable(mono, wall_ms):
            c.credits += new.credits
            c.unleased, c.expires_mono, c.quiet_until = new.unleased, new.expires_mono, new.quiet_until
            return
        if c is not None and c.credits:
            self.returned_credits += c.credits
        self.credits = new

    def give_up(self, wall_ms: float) -> None:
        """Drops both leases (key changed, resync, close); unused parts go back with the next report."""
        rate, credits = self.rate, self.credits
        if rate is not None and rate.points and wall_ms < rate.reset_ms:
            self.returned_points += rate.points
        if credits is not None and credits.credits:
            self.returned_credits += credits.credits
        self.rate = self.credits = None


class Leases:
    """Every key's leases. meter() runs the server's RATE_LIMITED → USAGE_EXCEEDED steps from them."""

    def __init__(self) -> None:
        self._boxes: Dict[str, KeyLeases] = {}
        self._lock = threading.Lock()
        self._refiller = Refiller()

    def close(self) -> None:
        """Stops leasing ahead (before the closing report gives every lease back)."""
        self._refiller.close()

    def box(self, key_id: str) -> KeyLeases:
        b = self._boxes.get(key_id)
        if b is None:
            with self._lock:
                b = self._boxes.setdefault(key_id, KeyLeases())
        return b

    def drop(self, key_id: str) -> None:
        """The key changed (its limits may have): its leases are given up at their next use or report."""
        b = self._boxes.get(key_id)
        if b is not None:
            b.generation += 1

    def drop_all(self) -> None:
        for b in list(self._boxes.values()):
            b.generation += 1

    def take_returns(self, everything: bool = False) -> Dict[str, Tuple[int, int]]:
        """Points and credits given up (dropped or expired leases; every lease when `everything`, on close) since
        the last report, per key (cleared: the report carries them)."""
        out: Dict[str, Tuple[int, int]] = {}
        mono, wall_ms = time.monotonic(), time.time() * 1000.0
        for key_id, b in list(self._boxes.items()):
            with b.lock:
                r, c = b.rate, b.credits
                if (
                    everything
                    or b.seen != b.generation
                    or (r is not None and not r.usable(mono, wall_ms))
                    or (c is not None and not c.usable(mono, wall_ms))
                ):
                    b.give_up(wall_ms)
                    b.seen = b.generation
                if b.returned_points or b.returned_credits:
                    out[key_id] = (b.returned_points, b.returned_credits)
                    b.returned_points = b.returned_credits = 0
        return out

    def meter(
        self, entry: KeyEntry, cost: int, lease: LeaseCall
    ) -> Tuple[str, Optional[RateState], Optional[CreditState]]:
        """Spends one point and `cost` credits from the key's leases (leasing more when short), all or nothing.
        Raises FluxError when a lease cannot be had: the caller then asks the network."""
        b = self.box(entry.key_id)
        with b.lock:
            mono, wall_ms = time.monotonic(), time.time() * 1000.0
            if b.seen != b.generation:
                b.give_up(wall_ms)
                b.seen = b.generation
            rate_state: Optional[RateState] = None
            took_point = False
            if entry.rate_limit_requests:
                r = b.rate
                if r is None or r.points == 0 or not r.usable(mono, wall_ms):
                    if r is None or r.points or r.unleased or mono >= r.quiet_until or not r.usable(mono, wall_ms):
                        r = self._lease_points(b, entry, lease, wall_ms)
                        mono, wall_ms = time.monotonic(), time.time() * 1000.0
                if r.points == 0:
                    retry_after_ms = max(1, int(r.reset_ms - wall_ms))
                    return RATE_LIMITED, (r.limit, 0, r.reset_at, r.reset_dt, retry_after_ms), None
                r.points -= 1
                took_point = True
                rate_state = (r.limit, r.points + r.unleased, r.reset_at, r.reset_dt, 0)
                chunk = _rate_chunk(entry)
                if not b.refilling and low(r.points, chunk) and r.unleased:
                    self._refiller.request("rate", b, entry, chunk, lease)
            if not entry.metered:
                return VALID, rate_state, None
            c = b.credits
            if c is None or c.credits < cost or not c.usable(mono, wall_ms):
                # A balance known to be short, asked less than a second ago, is not asked again.
                if c is None or c.credits + c.unleased >= cost or mono >= c.quiet_until or not c.usable(mono, wall_ms):
                    c = self._lease_credits(b, entry, cost, lease)
            if c.credits < cost:
                if took_point:
                    b.rate.points += 1  # type: ignore[union-attr]  # a refused call spends nothing
                return USAGE_EXCEEDED, rate_state, (c.credits + c.unleased, c.next_refill_at, c.refill_dt)
            c.credits -= cost
            if not b.refilling and low(c.credits, b.credit_chunk) and c.unleased:
                self._refiller.request("credits", b, entry, b.credit_chunk, lease)
            return VALID, rate_state, (c.credits + c.unleased, c.next_refill_at, c.refill_dt)

    @staticmethod
    def _lease_points(b: KeyLeases, entry: KeyEntry, lease: LeaseCall, wall_ms: float) -> _RateLease:
        old = b.rate
        if old is not None and old.points and wall_ms < old.reset_ms:
            b.returned_points += old.points  # an expired lease's leftovers go back to their window
        b.rate = None
        started = time.monotonic()
        response = lease(entry.key_id, _rate_chunk(entry), 0)
        if not response.HasField("rate_limit"):
            raise LookupError("the server leased no rate-limit points for a key with a rate limit")
        r = _RateLease(response.rate_limit, started)
        b.rate = r
        _check_unchanged(b)
        return r

    @staticmethod
    def _lease_credits(b: KeyLeases, entry: KeyEntry, cost: int, lease: LeaseCall) -> _CreditLease:
        old, carry = b.credits, 0
        if old is not None and old.credits:
            if old.usable(time.monotonic(), time.time() * 1000.0):
                carry = old.credits  # same balance (a refill or a new balance ends the lease): kept with the new grant
            else:
                b.returned_credits += old.credits
        b.credits = None
        started = time.monotonic()
        response = lease(entry.key_id, 0, max(cost - carry, b.credit_chunk))
        if not response.HasField("credits"):
            b.returned_credits += carry
            raise LookupError("the server leased no credits for a metered key")
        c = _CreditLease(response.credits, started)
        c.credits += carry
        # Later chunks follow the balance: a twentieth of what nobody holds, 1–10,000, at least the cost.
        b.credit_chunk = max(1, min(c.unleased // 20, 10_000))
        b.credits = c
        _check_unchanged(b)
        return c


def _rate_chunk(entry: KeyEntry) -> int:
    """Points asked per lease: a twentieth of the limit, 1–10,000 (the server grants at most a tenth): a lease lasts
    ~50 ms at full local speed, time enough for the next one to arrive ahead (_local_refill.py)."""
    return max(1, min(entry.rate_limit_requests // 20, 10_000))


def _check_unchanged(b: KeyLeases) -> None:
    """A key that changed while its lease was asked for: give the lease up and let the network answer."""
    if b.seen != b.generation:
        b.give_up(time.time() * 1000.0)
        b.seen = b.generation
        raise LookupError("the key changed while leasing")
