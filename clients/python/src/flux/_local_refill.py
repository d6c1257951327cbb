"""Leases asked ahead of need: when a key's lease runs low, one background thread asks LeaseLimits for the next
chunk, so validate() rarely waits for the server (a lease costs a round trip and a store write on the server)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, Optional, Tuple

from ._local_table import KeyEntry

if TYPE_CHECKING:
    from ._local_leases import KeyLeases, LeaseCall

log = logging.getLogger("flux.local_validator")

# Ask ahead when a lease is down to this share of its chunk (half: the next arrives before the rest is spent); chunks below MIN_CHUNK are not worth it (small limits).
LOW_WATER_SHARE = 0.5
MIN_CHUNK = 8
_RATE, _CREDITS = "rate", "credits"


class Refiller:
    """One daemon thread; a key is queued at most once at a time (KeyLeases.refilling, set under its lock)."""

    def __init__(self) -> None:
        self._queue: "queue.SimpleQueue[Optional[Tuple[str, KeyLeases, KeyEntry, int, LeaseCall]]]" = queue.SimpleQueue()
        self._thread: Optional[threading.Thread] = None
        self._start_lock = threading.Lock()
        self._closed = False

    def request(self, kind: str, b: "KeyLeases", entry: KeyEntry, amount: int, lease: "LeaseCall") -> None:
        """Called with b.lock held, when b.refilling is False."""
        if self._closed:
            return
        b.refilling = True
        self._queue.put((kind, b, entry, amount, lease))
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="flux-local-leases", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            kind, b, entry, amount, lease = item
            try:
                self._refill(kind, b, entry, amount, lease)
            except Exception as error:  # the hot path leases for itself when this fails
                log.debug("local validator: lease ahead failed (%s)", type(error).__name__)
                with b.lock:
                    b.refilling = False

    @staticmethod
    def _refill(kind: str, b: "KeyLeases", entry: KeyEntry, amount: int, lease: "LeaseCall") -> None:
        from ._local_leases import _CreditLease, _RateLease

        generation = b.generation
        started = time.monotonic()
        response = lease(entry.key_id, amount if kind == _RATE else 0, amount if kind == _CREDITS else 0)
        with b.lock:
            b.refilling = False
            mono, wall_ms = time.monotonic(), time.time() * 1000.0
            if kind == _RATE and response.HasField("rate_limit"):
                r = _RateLease(response.rate_limit, started)
                if b.generation != generation or b.seen != generation:  # the key changed meanwhile: give it back
                    b.returned_points += r.points
                else:
                    b.add_rate(r, wall_ms)
            elif kind == _CREDITS and response.HasField("credits"):
                c = _CreditLease(response.credits, started)
                if b.generation != generation or b.seen != generation:
                    b.returned_credits += c.credits
                else:
                    b.add_credits(c, mono, wall_ms)

    def close(self) -> None:
        self._closed = True
        self._queue.put(None)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)


def low(held: int, chunk: int) -> bool:
    return chunk >= MIN_CHUNK and held <= chunk * LOW_WATER_SHARE
