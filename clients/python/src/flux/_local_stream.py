"""The local validator's background half: a thread that reads SubscribeKeys into the table, a thread that
acknowledges (at once after changes, and every heartbeat) and decides freshness, resubscribing on any trouble."""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any, Callable, Optional

import grpc

from flux.apikeys.v1 import local_validation_pb2

from ._errors import FailedPreconditionError, FluxError, from_rpc_error
from ._local_checks import digester, pepper_id
from ._local_table import KeyTable

log = logging.getLogger("flux.local_validator")

SHA256 = local_validation_pb2.DIGEST_ALGORITHM_SHA256
HMAC_PEPPER = local_validation_pb2.DIGEST_ALGORITHM_HMAC_SHA256_PEPPER
BACKOFF_FIRST_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0
# Errors that end a start attempt at once instead of being retried until the start timeout.
_FATAL_AT_START = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNIMPLEMENTED)


class _Resync(Exception):
    """The stream cannot be trusted any more (gap, unexpected message): start a new session."""


class Subscription:
    """Holds the current session and table; `fresh_until` (monotonic seconds) is what the hot path reads."""

    def __init__(
        self,
        stub: Any,
        name: str,
        pepper: Optional[bytes],
        on_key_change: Callable[[str], None],
        on_reset: Callable[[], None],
        on_state: Callable[[], None],
    ) -> None:
        self._stub = stub
        self._name = name
        self._pepper = pepper
        self._on_key_change = on_key_change
        self._on_reset = on_reset
        self._on_state = on_state
        self._cond = threading.Condition()
        self._closed = False
        self._closing = False
        self._call: Any = None
        # Session state, guarded by _cond (fresh_until and table are also read without it by the hot path).
        self.session_id: Optional[str] = None
        self.table = KeyTable()
        self.fresh_until = 0.0
        # secret bytes → raw digest, as the current session's digest algorithm says.
        self.digest = digester(pepper)
        self._heartbeat_s = 1.0
        self._stale_s = 3.0
        self._applied = 0
        self._acked = 0
        self._ack_due = False
        self._required = 0
        self._last_ack_start = 0.0
        self._last_message = 0.0
        self.resyncs = 0
        self.started = threading.Event()
        self.fatal: Optional[FluxError] = None
        self._threads = [
            threading.Thread(target=self._read_loop, name="flux-local-stream", daemon=True),
            threading.Thread(target=self._ack_loop, name="flux-local-ack", daemon=True),
        ]
        for t in self._threads:
            t.start()

    # ---- the stream -------------------------------------------------------------------------------------------
    def _read_loop(self) -> None:
        backoff = BACKOFF_FIRST_SECONDS
        while not self._closed and not self._closing:
            try:
                self._read_one_session()
            except grpc.RpcError as error:
                if not self.started.is_set() and _call_code(error) in _FATAL_AT_START:
                    self._fail(from_rpc_error(error))
                    return
                log.info("local validator: stream ended (%s); resubscribing", _call_code(error))
            except FluxError as error:  # pepper mismatch
                if not self.started.is_set():
                    self._fail(error)
                    return
                log.warning("local validator: %s; resubscribing", error.message)
            except _Resync as why:
                log.info("local validator: %s; resubscribing", why)
            except Exception:  # a bug must not end the thread: stay stale and try again
                log.exception("local validator: unexpected error; resubscribing")
            if self._closed or self._closing:
                return  # closing ends the session on purpose: no resync to count
            was_fresh = self._reset()
            if was_fresh:
                backoff = BACKOFF_FIRST_SECONDS
            with self._cond:
                self._cond.wait_for(lambda: self._closed, timeout=backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)

    def _read_one_session(self) -> None:
        call = self._stub.SubscribeKeys(local_validation_pb2.SubscribeKeysRequest(validator_name=self._name))
        with self._cond:
            if self._closed:
                call.cancel()
                return
            self._call = call
            self.table = KeyTable()
        expected = 1
        for message in call:
            if message.seq != expected:
                raise _Resync(f"gap in the stream (seq {message.seq}, expected {expected})")
            expected += 1
            kind = message.WhichOneof("event")
            if (kind == "session") != (message.seq == 1):
                raise _Resync("the stream's first message must be the session, and only it")
            if kind == "session":
                self._open(message.session)
            elif kind == "snapshot":
                self.table.apply_snapshot(message.snapshot)
            elif kind == "change":
                touched = self.table.apply_change(message.change)
                if touched is not None:
                    self._on_key_change(touched)
            with self._cond:
                self._applied = message.seq
                self._last_message = time.monotonic()
                if kind in ("snapshot", "change"):
                    self._ack_due = True
                    self._cond.notify_all()
                self._recompute()
            self._on_state()
        raise _Resync("the stream ended")

    def _open(self, session: local_validation_pb2.ValidatorSession) -> None:
        if session.digest_algorithm == HMAC_PEPPER:
            if self._pepper is None:
                raise _pepper_mismatch("the server digests keys with a pepper: pass pepper= or set FLUX_KEY_PEPPER")
            if pepper_id(self._pepper) != session.pepper_id:
                raise _pepper_mismatch("the validator's pepper is not the server's (FLUX_KEY_PEPPER)")
            self.digest = digester(self._pepper)
        elif session.digest_algorithm == SHA256:
            self.digest = digester(None)  # a pepper the server does not use is not needed (as in the TS SDK)
        else:
            raise _Resync(f"unknown digest algorithm {session.digest_algorithm}")
        with self._cond:
            self.session_id = session.session_id
            self._heartbeat_s = max(session.heartbeat_interval_ms, 10) / 1000.0
            self._stale_s = max(session.stale_after_ms, 10) / 1000.0
            self._applied = self._acked = self._required = 0
            self._last_ack_start = 0.0
            self._last_message = time.monotonic()  # the previous session's silence must not cut this one

    def _reset(self) -> bool:
        """Drops the session, table and leases: stale until a new session is fresh. Returns whether it was fresh."""
        with self._cond:
            was_fresh = self.fresh_until > 0
            self.fresh_until = 0.0
            self.session_id = None
            self.table = KeyTable()
            self._call = None
            self.resyncs += 1
        self._on_reset()
        self._on_state()
        return was_fresh

    def _recompute(self) -> None:
        """(a) snapshot complete, (b) last acknowledgement started < stale_after ago, (c) applied ≥ required."""
        ok = self.table.complete and self._last_ack_start > 0 and self._applied >= self._required and not self._closing
        self.fresh_until = self._last_ack_start + self._stale_s if ok else 0.0
        if ok and time.monotonic() < self.fresh_until:
            self.started.set()

    # ---- acknowledgements ---------------------------------------------------------------------------------------
    def _ack_loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    now = time.monotonic()
                    if self.session_id is not None:
                        if self._last_message and now - self._last_message > self._stale_s:
                            self._cancel_stream()  # silent stream: the reader resubscribes
                        elif self._ack_due or now - self._last_ack_start >= self._heartbeat_s:
                            break
                    self._cond.wait(timeout=min(self._heartbeat_s, 0.05 if self.session_id else 0.2))
                    self._on_state_outside()
                if self._closed:
                    return
                session, applied = self.session_id, self._applied
                self._ack_due = False
            started = time.monotonic()
            try:
                response = self._stub.AcknowledgeKeyChanges(
                    local_validation_pb2.AcknowledgeKeyChangesRequest(session_id=session, applied_seq=applied),
                    timeout=self._stale_s,
                )
            except grpc.RpcError as error:
                log.info("local validator: acknowledgement failed (%s); resubscribing", _call_code(error))
                with self._cond:
                    if self.session_id == session:
                        self._cancel_stream()
                    self._cond.wait(timeout=0.05)
                continue
            with self._cond:
                if self.session_id == session:
                    self._last_ack_start = started
                    self._acked = applied
                    self._required = response.required_seq
                    self._recompute()
            self._on_state()

    def _on_state_outside(self) -> None:
        # Called with _cond held while waiting: freshness can lapse with time alone, which the callback must see.
        self._cond.release()
        try:
            self._on_state()
        finally:
            self._cond.acquire()

    def _cancel_stream(self) -> None:
        if self._call is not None:
            self._call.cancel()
            self._call = None
        self.fresh_until = 0.0

    def request_resync(self) -> None:
        """Something told us the session ended (e.g. VALIDATOR_SESSION_ENDED from another call)."""
        with self._cond:
            self._cancel_stream()

    def stop_answering(self) -> None:
        """Closing: never fresh again (the session stays open for the final usage report)."""
        with self._cond:
            self._closing = True
            self.fresh_until = 0.0

    def _fail(self, error: FluxError) -> None:
        self.fatal = error
        self.started.set()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self.fresh_until = 0.0
            if self._call is not None:
                self._call.cancel()
            self._cond.notify_all()
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(timeout=5)


def _pepper_mismatch(text: str) -> FluxError:
    return FailedPreconditionError(
        f"flux local validator: {text}",
        code=grpc.StatusCode.FAILED_PRECONDITION,
        reason="PEPPER_MISMATCH",
    )


def _call_code(error: grpc.RpcError) -> Optional[grpc.StatusCode]:
    code = getattr(error, "code", None)
    return code() if callable(code) else None
