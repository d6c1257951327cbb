"""LocalValidator: answers validate() in this process from a table the server keeps exact (SubscribeKeys), with the
network validate's signature, answers and errors; anything it cannot decide locally goes to ValidateApiKey."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Literal, Optional

import grpc

from flux.apikeys.v1 import local_validation_pb2, local_validation_pb2_grpc

from . import _convert, _requests
from ._errors import FluxError, UnavailableError, from_rpc_error, reason_value
from ._local_answers import OUTCOME, raise_malformed, raise_refusal, valid_with_limits
from ._local_checks import KEY_LENGTH_MAX, ip_allowed, is_well_formed, request_is_plain
from ._local_leases import VALID, Leases
from ._local_stream import Subscription
from ._local_table import ACTIVE, DISABLED, REVOKED, KeyEntry
from ._local_usage import REPORT_INTERVAL_SECONDS, SCOPE_CHECKED, UsageCounter, UsageReporter
from ._models import KeyInfo

if TYPE_CHECKING:
    from ._client import Client

State = Literal["fresh", "stale", "closed"]
PEPPER_ENV = "FLUX_KEY_PEPPER"
_VALID = OUTCOME["VALID"]
_SESSION_ENDED = reason_value("VALIDATOR_SESSION_ENDED")
_CLOSE_SECONDS = 5.0
_SESSION_CALL_SECONDS = 5.0
# What _local answers when it cannot decide: ask ValidateApiKey; or (asyncio) decide in a thread, it may lease.
NETWORK = object()
METERED = object()


@dataclass(frozen=True)
class LocalValidatorStats:
    """Answers given locally and over the network since start, and how often the table was rebuilt."""

    local_answers: int
    network_answers: int
    resyncs: int
    usage_reports: int
    state: State


class LocalValidator:
    """Validates keys in-process; start it with `flux.api_keys.local_validator()` (a context manager)."""

    def __init__(
        self,
        client: "Client",
        name: Optional[str] = None,
        pepper: Optional[str] = None,
        on_state_change: Optional[Callable[[State], None]] = None,
        start_timeout: float = 10.0,
    ) -> None:
        pepper = pepper or os.environ.get(PEPPER_ENV) or None  # empty means none, as on the server
        secret_pepper = pepper.encode("utf-8") if pepper is not None else None
        self._client = client
        self._stub = local_validation_pb2_grpc.LocalValidationServiceStub(client.channel)
        # Session calls (leases on the hot path, reports, the closing report) wait at most this long.
        self._rpc_timeout = min(client.timeout or _SESSION_CALL_SECONDS, _SESSION_CALL_SECONDS)
        self._on_state_change = on_state_change
        self._last_state: State = "stale"  # what a validator is until its first fresh moment: only changes are told
        self._state_lock = threading.Lock()
        self._closed = False
        self._close_lock = threading.Lock()
        self._network_lock = threading.Lock()
        self._network_answers = 0
        self._usage = UsageCounter()
        self._leases = Leases()
        self._sub = Subscription(
            self._stub, name or "", secret_pepper, self._leases.drop, self._leases.drop_all, self._emit_state
        )
        self._reporter = UsageReporter(self._usage, self._leases, lambda: self._sub.session_id, self._send_report)
        self._stop_reports = threading.Event()
        self._report_thread = threading.Thread(target=self._report_loop, name="flux-local-usage", daemon=True)
        self._report_thread.start()
        if not self._sub.started.wait(start_timeout) or self._sub.fatal is not None:
            error = self._sub.fatal or UnavailableError(
                f"flux local validator: not fresh within {start_timeout:g} s", code=grpc.StatusCode.UNAVAILABLE,
                reason="UNAVAILABLE",
            )  # fmt: skip
            self._shutdown(report=False)
            raise error

    # ---- the hot path -------------------------------------------------------------------------------------------
    def validate(
        self,
        raw_key: str,
        required_scopes: Optional[Iterable[str]] = None,
        client_ip: Optional[str] = None,
        cost: Optional[int] = None,
    ) -> KeyInfo:
        """As flux.api_keys.validate: the key's info when valid; raises InvalidKeyError (RateLimitedError,
        InsufficientScopeError, UsageExceededError) otherwise. Answered locally while fresh."""
        scopes: List[str] = required_scopes if type(required_scopes) is list else list(required_scopes or ())
        answer = self._local(raw_key, scopes, client_ip, cost, True)
        if answer is NETWORK:
            return self._network(raw_key, scopes, client_ip, cost)
        return answer  # type: ignore[no-any-return]

    def _local(
        self, raw_key: str, scopes: List[str], client_ip: Optional[str], cost: Optional[int], may_lease: bool
    ) -> Any:
        """The local answer (KeyInfo, or raises the refusal), else NETWORK; METERED when a lease would be needed and
        may_lease is False (the asyncio validator then runs the call in a thread)."""
        ip = client_ip or ""
        units = 1 if cost is None else cost
        if (scopes or units != 1 or ip) and not request_is_plain(scopes, units, ip):
            return NETWORK
        sub = self._sub
        if time.monotonic() >= sub.fresh_until or type(raw_key) is not str:
            return NETWORK
        if len(raw_key) > KEY_LENGTH_MAX:
            return self._malformed()
        try:
            secret = raw_key.encode()
        except UnicodeEncodeError:
            return NETWORK
        table = sub.table
        entry = table.by_digest.get(sub.digest(secret))
        if entry is None or not entry.shape_ok:
            if not is_well_formed(raw_key):
                return self._malformed()
            if entry is None:
                return NETWORK
            entry.shape_ok = True  # same digest, same secret: the check would pass again
        if entry.remote_only or (table.remote_orgs and entry.org_id in table.remote_orgs):
            return NETWORK
        now_ms = time.time() * 1000.0
        # The server's order (domain keyState): REVOKED, EXPIRED, DISABLED.
        if entry.state == REVOKED:
            return self._refuse(entry, "REVOKED", now_ms)
        if entry.expires_at_ms is not None and entry.expires_at_ms <= now_ms:
            return self._refuse(entry, "EXPIRED", now_ms)
        if entry.state != ACTIVE:  # DISABLED, or EXPIRED as the server saw it
            return self._refuse(entry, "DISABLED" if entry.state == DISABLED else "EXPIRED", now_ms)
        if entry.networks is not None and not ip_allowed(entry.networks, ip):
            return self._refuse(entry, "IP_NOT_ALLOWED", now_ms)
        if scopes:
            missing = [s for s in scopes if s not in entry.scopes]
            if missing:
                return self._refuse(entry, "INSUFFICIENT_SCOPE", now_ms, scopes, missing=missing)
        if not entry.rate_limit_requests and not entry.metered:
            self._usage.count(entry.key_id, _VALID, now_ms, scopes)
            return entry.key_info
        if not may_lease:
            return METERED
        return self._metered(entry, scopes, units, now_ms)

    def _metered(self, entry: KeyEntry, scopes: List[str], units: int, now_ms: float) -> Any:
        try:
            outcome, rate, credits = self._leases.meter(entry, units, self._lease)
        except (FluxError, LookupError):
            return NETWORK
        if outcome != VALID:
            return self._refuse(entry, outcome, now_ms, scopes, rate=rate, credits=credits)
        self._usage.count(entry.key_id, _VALID, now_ms, scopes)
        return valid_with_limits(entry, rate, credits)

    def _refuse(
        self, entry: KeyEntry, outcome: str, now_ms: float, scopes: Optional[List[str]] = None,
        missing: Optional[List[str]] = None, rate: Any = None, credits: Any = None,
    ) -> KeyInfo:  # fmt: skip
        value = OUTCOME[outcome]
        carried = [s for s in dict.fromkeys(scopes) if s in entry.scopes] if scopes and value in SCOPE_CHECKED else None
        self._usage.count(entry.key_id, value, now_ms, carried)
        return raise_refusal(entry, value, missing, rate, credits)

    def _malformed(self) -> KeyInfo:
        self._usage.count_malformed()
        return raise_malformed()

    def _count_network(self) -> None:
        with self._network_lock:
            self._network_answers += 1

    def _network(
        self, raw_key: str, scopes: List[str], client_ip: Optional[str], cost: Optional[int]
    ) -> KeyInfo:
        self._count_network()
        response = self._client.call("ValidateApiKey", _requests.validate(raw_key, scopes, client_ip, cost))
        return _convert.key_info_or_raise(response)

    # ---- calls of the session -------------------------------------------------------------------------------------
    def _lease(self, key_id: str, points: int, credits: int) -> local_validation_pb2.LeaseLimitsResponse:
        session = self._sub.session_id
        if session is None:
            raise LookupError("no session")
        request = local_validation_pb2.LeaseLimitsRequest(
            session_id=session, key_id=key_id, rate_limit_points=points, credits=credits
        )
        return self._session_call("LeaseLimits", request)

    def _send_report(self, request: local_validation_pb2.ReportLocalUsageRequest) -> None:
        self._session_call("ReportLocalUsage", request)

    def _session_call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(request, timeout=self._rpc_timeout)
        except grpc.RpcError as error:
            flux_error = from_rpc_error(error)
            if reason_value(flux_error.reason) == _SESSION_ENDED:
                self._sub.request_resync()
            raise flux_error from error

    def _report_loop(self) -> None:
        while not self._stop_reports.wait(REPORT_INTERVAL_SECONDS):
            try:
                self._reporter.report()
            except FluxError:
                pass  # kept, with its report_seq, for the next round

    # ---- state, stats, close --------------------------------------------------------------------------------------
    @property
    def state(self) -> State:
        if self._closed:
            return "closed"
        return "fresh" if time.monotonic() < self._sub.fresh_until else "stale"

    def _emit_state(self) -> None:
        callback = self._on_state_change
        if callback is None:
            return
        with self._state_lock:
            state = self.state
            if state == self._last_state:
                return
            self._last_state = state
        try:
            callback(state)
        except Exception:  # a failing callback must not stop the validator
            pass

    def stats(self) -> LocalValidatorStats:
        return LocalValidatorStats(
            local_answers=self._usage.local_answers,
            network_answers=self._network_answers,
            resyncs=self._sub.resyncs,
            usage_reports=self._reporter.reports_sent,
            state=self.state,
        )

    def close(self) -> None:
        """Reports the last usage (closing: leases go back, the session ends) and stops; idempotent."""
        self._shutdown(report=True)

    def _shutdown(self, report: bool) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._stop_reports.set()
            self._report_thread.join(timeout=_CLOSE_SECONDS)
            session_alive = self._sub.session_id is not None
            self._sub.stop_answering()  # from here every call goes to the network: nothing counted goes unreported
            self._closed = True
        if report and session_alive:
            deadline = time.monotonic() + _CLOSE_SECONDS
            while time.monotonic() < deadline:
                try:
                    if self._reporter.has_pending():
                        self._reporter.report()
                        continue
                    self._leases.close()
                    self._leases.drop_all()
                    self._reporter.report(closing=True)
                    break
                except FluxError as error:
                    if error.code in (grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.PERMISSION_DENIED):
                        break  # a server without usage reports, or a key that lost its right: nothing to retry
                    if reason_value(error.reason) == _SESSION_ENDED:
                        break  # the server ended the session (and its leases) itself
                    time.sleep(0.05)
        self._leases.close()
        self._sub.close()
        self._emit_state()

    def __enter__(self) -> "LocalValidator":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"flux.LocalValidator(state={self.state!r})"
