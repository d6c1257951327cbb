"""The Python validator agent for the cross-SDK suite (test/local/): holds one flux local validator and answers JSON
lines on stdin, one answer per line on stdout, in order (see /work/notes shared agreements; logs go to stderr).

Environment: FLUX_URL (gRPC address), FLUX_ADMIN_KEY (an admin key with local_validation), optional FLUX_KEY_PEPPER.
Started by clients/python/local-agent.sh."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any, Dict, List, Optional

import flux


def _answer(out: Any) -> None:
    sys.stdout.write(json.dumps(out, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def validate_once(validator: flux.LocalValidator, request: Dict[str, Any]) -> Dict[str, Any]:
    """One validation as the suite expects it: refusals are answers (the outcome the error carries)."""
    before = validator.stats().local_answers
    answer: Dict[str, Any] = {"valid": False, "outcome": "UNSPECIFIED", "key_id": None, "remaining": None,
                              "credits": None, "error": None}  # fmt: skip
    info: Optional[flux.KeyInfo] = None
    try:
        info = validator.validate(
            request["key"],
            required_scopes=request.get("scopes") or None,
            client_ip=request.get("client_ip") or None,
            cost=request.get("cost"),
        )
        answer.update(valid=True, outcome="VALID")
    except flux.InvalidKeyError as refused:
        info = refused.key_info
        answer["outcome"] = refused.outcome
        if isinstance(refused, flux.RateLimitedError):
            answer["remaining"] = 0
        if isinstance(refused, flux.UsageExceededError) and refused.credits is not None:
            answer["credits"] = refused.credits.remaining
    except flux.FluxError as error:
        answer["error"] = error.code.name if error.code is not None else (error.reason or "UNKNOWN")
    if info is not None:
        answer["key_id"] = info.id
        if info.rate_limit is not None:
            answer["remaining"] = info.rate_limit.remaining
        if info.credits is not None:
            answer["credits"] = info.credits.remaining
    answer["local"] = validator.stats().local_answers > before
    return answer


def _accepted(validator: flux.LocalValidator, key: str) -> bool:
    try:
        validator.validate(key)
        return True
    except flux.InvalidKeyError:
        return False
    except flux.FluxError:
        return False


def race(validator: flux.LocalValidator, request: Dict[str, Any]) -> Dict[str, Any]:
    """Validates in a loop until min_n calls and refusals seen for refused_ms (or max_ms), timing each call's start."""
    key, min_n = request["key"], int(request.get("min_n", 10_000))
    refused_s, max_s = request.get("refused_ms", 200) / 1000.0, request.get("max_ms", 15_000) / 1000.0
    local_before = validator.stats().local_answers
    accepts: List[float] = []
    first_refusal: Optional[float] = None
    n, start_mono, started = 0, time.monotonic(), 0.0
    refused_since: Optional[float] = None
    while True:
        started = time.time() * 1000.0
        mono = time.monotonic()
        if _accepted(validator, key):
            accepts.append(started)
            refused_since = None
        else:
            if first_refusal is None:
                first_refusal = started
            if refused_since is None:
                refused_since = mono
        n += 1
        if n >= min_n and refused_since is not None and mono - refused_since >= refused_s:
            break
        if mono - start_mono >= max_s:
            break
    return {"count": n, "local": validator.stats().local_answers - local_before, "accept_starts_ms": accepts,
            "first_refusal_start_ms": first_refusal, "last_start_ms": started}  # fmt: skip


def burst(validator: flux.LocalValidator, request: Dict[str, Any]) -> Dict[str, Any]:
    key, n = request["key"], int(request["n"])
    local_before = validator.stats().local_answers
    valid = sum(1 for _ in range(n) if _accepted(validator, key))
    return {"valid": valid, "refused": n - valid, "local": validator.stats().local_answers - local_before}


def bench(validator: flux.LocalValidator, request: Dict[str, Any]) -> Dict[str, Any]:
    key, seconds = request["key"], request.get("ms", 1000) / 1000.0
    validate = validator.validate
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(256):
            validate(key)
        n += 256
        now = time.perf_counter()
        if now >= deadline:
            return {"per_s": n / (now - start)}


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    url, admin_key = os.environ.get("FLUX_URL"), os.environ.get("FLUX_ADMIN_KEY")
    if not url or not admin_key:
        _answer({"ready": False, "error": "FLUX_URL and FLUX_ADMIN_KEY are required"})
        return 2
    client = flux.Client(admin_key, url=url)
    try:
        validator = client.api_keys.local_validator(name="python-agent")
    except flux.FluxError as error:
        _answer({"ready": False, "error": f"{type(error).__name__}: {error.message}"})
        client.close()
        return 1
    _answer({"ready": True})
    handlers = {"validate": validate_once, "race": race, "burst": burst, "bench": bench}
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            op = request.get("op")
            if op == "close":
                validator.close()
                _answer({"closed": True})
                return 0
            if op == "status":
                stats = validator.stats()
                _answer({"state": stats.state, "local": stats.local_answers, "network": stats.network_answers,
                         "resyncs": stats.resyncs})  # fmt: skip
            elif op in handlers:
                _answer(handlers[op](validator, request))
            else:
                _answer({"error": f"unknown op {op!r}"})
    finally:
        validator.close()
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
