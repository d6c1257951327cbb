"""Usage of local answers: counted per key on the hot path, reported with ReportLocalUsage at least once a second
and on close (report_seq 1, 2, 3 … per session; a failed report is retried with the same seq and content)."""

from __future__ import annotations

import threading
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from google.protobuf.timestamp_pb2 import Timestamp

from flux.apikeys.v1 import local_validation_pb2, validation_pb2

from ._local_leases import Leases

REPORT_INTERVAL_SECONDS = 0.5
MAX_KEYS_PER_REPORT = 10_000
# Outcomes after which the server records the required scopes the key carries (validation-service.ts).
SCOPE_CHECKED = frozenset(
    validation_pb2.Outcome.Value(f"OUTCOME_{name}")
    for name in ("VALID", "INSUFFICIENT_SCOPE", "RATE_LIMITED", "USAGE_EXCEEDED")
)


class _KeyUsage:
    __slots__ = ("outcomes", "scopes", "last_used_ms")

    def __init__(self) -> None:
        self.outcomes: Dict[int, int] = {}
        self.scopes: Dict[str, int] = {}
        self.last_used_ms = 0.0


class UsageCounter:
    """Local answers not yet reported. count() is on the hot path: one lock, a few dict updates."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: Dict[str, _KeyUsage] = {}
        self._malformed = 0
        # Every local answer since start (stats()).
        self.local_answers = 0

    def count(self, key_id: str, outcome: int, now_ms: float, scopes: Optional[Sequence[str]] = None) -> None:
        """One local answer; `scopes`: the required scopes the key carries, recorded once per answer."""
        if scopes and len(scopes) > 1:
            scopes = list(dict.fromkeys(scopes))
        with self._lock:
            self.local_answers += 1
            u = self._keys.get(key_id)
            if u is None:
                u = self._keys[key_id] = _KeyUsage()
            u.outcomes[outcome] = u.outcomes.get(outcome, 0) + 1
            u.last_used_ms = now_ms
            if scopes:
                for s in scopes:
                    u.scopes[s] = u.scopes.get(s, 0) + 1

    def count_malformed(self) -> None:
        with self._lock:
            self.local_answers += 1
            self._malformed += 1

    def take(self) -> Tuple[Dict[str, _KeyUsage], int]:
        with self._lock:
            keys, malformed = self._keys, self._malformed
            if len(keys) > MAX_KEYS_PER_REPORT:  # the rest waits for the next report
                ids = list(keys)[:MAX_KEYS_PER_REPORT]
                taken = {k: keys.pop(k) for k in ids}
                self._malformed = 0
                return taken, malformed
            self._keys, self._malformed = {}, 0
            return keys, malformed


def _timestamp(ms: float) -> Timestamp:
    t = Timestamp()
    t.FromMilliseconds(int(ms))
    return t


def build_report(
    usage: Dict[str, _KeyUsage], malformed: int, returns: Dict[str, Tuple[int, int]]
) -> List[local_validation_pb2.LocalKeyUsage]:
    entries = []
    for key_id in set(usage) | set(returns):
        e = local_validation_pb2.LocalKeyUsage(key_id=key_id)
        u = usage.get(key_id)
        if u is not None:
            for outcome, n in u.outcomes.items():
                e.outcomes.add(outcome=outcome, count=n)
            for scope, n in list(u.scopes.items())[:100]:
                e.scope_uses.add(scope=scope, count=n)
            e.last_used_at.CopyFrom(_timestamp(u.last_used_ms))
        points, credits = returns.get(key_id, (0, 0))
        e.returned_rate_limit_points = points
        e.returned_credits = credits
        entries.append(e)
    return entries


Send = Callable[[local_validation_pb2.ReportLocalUsageRequest], None]


class UsageReporter:
    """Sends reports for the current session; one report in flight at a time (report() is called by one thread)."""

    def __init__(self, counter: UsageCounter, leases: Leases, session_id: Callable[[], Optional[str]], send: Send):
        self._counter = counter
        self._leases = leases
        self._session_id = session_id
        self._send = send
        self._seq_session: Optional[str] = None
        self._next_seq = 1
        # What a failed report held: resent as it was (same report_seq while the session lasts).
        self._pending: Optional[Tuple[List[local_validation_pb2.LocalKeyUsage], int]] = None
        self.reports_sent = 0

    def report(self, closing: bool = False) -> bool:
        """Sends the pending report, else one of what was counted since; True when acknowledged (or nothing to do)."""
        session = self._session_id()
        if session is None:
            return False
        if session != self._seq_session:
            self._seq_session, self._next_seq = session, 1
        if self._pending is None:
            usage, malformed = self._counter.take()
            returns = self._leases.take_returns()
            if not usage and not malformed and not returns and not closing:
                return True
            self._pending = (build_report(usage, malformed, returns), malformed)
        entries, malformed = self._pending
        request = local_validation_pb2.ReportLocalUsageRequest(
            session_id=session, report_seq=self._next_seq, keys=entries, malformed=malformed, closing=closing
        )
        self._send(request)  # raises on failure: the pending report stays, with its seq
        self._pending = None
        self._next_seq += 1
        self.reports_sent += 1
        return True

    def has_pending(self) -> bool:
        return self._pending is not None
