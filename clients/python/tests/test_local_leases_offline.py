"""Leases without a server: points and credits spent only from leases, asked in chunks, given back when refused,
dropped or expired, and a spent window not asked again at every call. LeaseLimits is a recording function here."""

from __future__ import annotations

import time
from typing import List, Tuple

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from flux._local_leases import Leases
from flux._local_table import KeyEntry
from flux.apikeys.v1 import api_key_pb2, local_validation_pb2 as lv, validation_pb2


def entry(rate: int = 0, metered: bool = False) -> KeyEntry:
    key = lv.LocalKey(
        digest="AAAA", state=api_key_pb2.KEY_STATE_ACTIVE, info=validation_pb2.KeyInfo(id="key_1", org_id="org_1")
    )
    if rate:
        key.rate_limit.CopyFrom(api_key_pb2.RateLimit(requests=rate, window_seconds=60))
    if metered:
        key.credits.CopyFrom(api_key_pb2.Credits(remaining=0))
    return KeyEntry(key)


class Server:
    """Grants from a window of `points` and a balance of `credits`, recording every ask."""

    def __init__(self, points: int = 0, credits: int = 0, expires_in_ms: int = 60_000) -> None:
        self.points, self.credits, self.expires_in_ms = points, credits, expires_in_ms
        self.asks: List[Tuple[int, int]] = []

    def __call__(self, key_id: str, points: int, credits: int) -> lv.LeaseLimitsResponse:
        self.asks.append((points, credits))
        response = lv.LeaseLimitsResponse()
        reset_at = Timestamp(seconds=int(time.time()) + 60)
        if points:
            granted = min(points, self.points)
            self.points -= granted
            response.rate_limit.CopyFrom(lv.RateLimitLease(
                granted=granted, limit=100, unleased=self.points, reset_at=reset_at, expires_in_ms=self.expires_in_ms,
            ))  # fmt: skip
        if credits:
            granted = min(credits, self.credits)
            self.credits -= granted
            response.credits.CopyFrom(
                lv.CreditsLease(granted=granted, unleased=self.credits, expires_in_ms=self.expires_in_ms)
            )
        return response


def test_points_are_leased_in_chunks_of_a_twentieth_of_the_limit() -> None:
    leases, server, key = Leases(), Server(points=100), entry(rate=100)
    answers = [leases.meter(key, 1, server) for _ in range(6)]
    assert [a[0] for a in answers] == ["VALID"] * 6
    assert server.asks == [(5, 0), (5, 0)]  # 5 = 100 / 20
    assert [a[1][1] for a in answers] == [99, 98, 97, 96, 95, 94]  # type: ignore[index]  # lease left + unleased


def test_a_spent_window_is_refused_without_asking_the_server_at_every_call() -> None:
    leases, server, key = Leases(), Server(points=0), entry(rate=100)
    for _ in range(50):
        outcome, rate, _ = leases.meter(key, 1, server)
        assert outcome == "RATE_LIMITED" and rate is not None and rate[1] == 0 and rate[4] > 0
    assert server.asks == [(5, 0)]


def test_a_call_refused_for_credits_gives_its_rate_point_back() -> None:
    leases, server, key = Leases(), Server(points=100, credits=3), entry(rate=100, metered=True)
    outcome, rate, credits = leases.meter(key, 5, server)
    assert outcome == "USAGE_EXCEEDED" and credits is not None and credits[0] == 3
    assert leases.box("key_1").rate.points == 5  # type: ignore[union-attr]  # the point went back
    assert leases.meter(key, 3, server)[0] == "VALID"
    outcome, _, credits = leases.meter(key, 0, server)  # cost 0 reads the balance
    assert outcome == "VALID" and credits is not None and credits[0] == 0


def test_leases_of_a_changed_key_and_expired_leases_go_back_with_the_next_report() -> None:
    leases, server, key = Leases(), Server(points=100, credits=100), entry(rate=100, metered=True)
    leases.meter(key, 1, server)
    leases.drop("key_1")  # the key changed on the stream
    assert leases.take_returns() == {"key_1": (4, 9)}  # a chunk of 5 points and of 10 credits, one of each spent
    assert leases.take_returns() == {}
    expiring = Server(points=100, expires_in_ms=0)
    leases.meter(entry(rate=100), 1, expiring)
    assert leases.take_returns() == {"key_1": (4, 0)}


def test_a_failed_lease_leaves_the_call_to_the_network() -> None:
    def failing(key_id: str, points: int, credits: int) -> lv.LeaseLimitsResponse:
        raise LookupError("no session")

    with pytest.raises(LookupError):
        Leases().meter(entry(rate=100), 1, failing)


def test_credits_left_in_a_lease_count_towards_a_call_that_costs_more() -> None:
    leases, server, key = Leases(), Server(credits=12), entry(metered=True)
    assert leases.meter(key, 8, server)[0] == "VALID"  # leased 10 (the first chunk), 2 left
    outcome, _, credits = leases.meter(key, 4, server)  # 2 held + 2 more of the 2 the balance has left
    assert outcome == "VALID" and credits is not None and credits[0] == 0
    assert server.asks == [(0, 10), (0, 2)] and leases.take_returns() == {}  # asked only what was missing


def test_a_lease_running_low_is_refilled_in_the_background_before_it_is_empty() -> None:
    leases, server, key = Leases(), Server(points=1000), entry(rate=1000)
    for _ in range(25):  # a chunk of 50; at 25 left (half) the next chunk is asked ahead
        assert leases.meter(key, 1, server)[0] == "VALID"
    deadline = time.monotonic() + 5
    while len(server.asks) < 2:
        assert time.monotonic() < deadline, "no lease ahead"
        time.sleep(0.01)
    box = leases.box("key_1")
    while box.refilling:
        time.sleep(0.01)
    assert box.rate is not None and box.rate.points == 75  # 25 left + 50 added to the same window's lease
    for _ in range(75):
        assert leases.meter(key, 1, server)[0] == "VALID"
    leases.close()
    assert 1000 - server.points == 100 + box.rate.points  # type: ignore[union-attr]  # every point granted was spent or is still held
