"""The local validator against a scripted in-process LocalValidationService (port 0): what only a scripted server
can show — EXPIRED decided from the clock, a gap in the stream, acknowledgements that stop, a foreign pepper, the
closing usage report. The live tests (test_local_validator_live.py) check the same SDK against the real server."""

from __future__ import annotations

import asyncio
import queue
import time
from concurrent import futures
from typing import Any, Iterator, List, Optional, Tuple

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

import flux
from flux._local_checks import pepper_id
from flux.apikeys.v1 import (
    api_key_pb2,
    api_key_service_pb2_grpc,
    local_validation_pb2 as lv,
    local_validation_pb2_grpc,
    validation_pb2,
)

SECRET = "flux_S17K4MVupwVFQ8MiYUeIJDvB8yaZtW0xPUi8"  # made by the server's generateSecret
DIGEST = "6vX3rh8krQRbKbd71PUTt7YjLxBUMMwePnRgFPZ1hcA"  # its SHA-256 digest (key-material.ts)


def local_key(expires_at: Optional[Timestamp] = None, state: int = api_key_pb2.KEY_STATE_ACTIVE) -> lv.LocalKey:
    info = validation_pb2.KeyInfo(id="key_1", org_id="org_1", name="scripted", scopes=["data:read"], expires_at=expires_at)
    return lv.LocalKey(digest=DIGEST, state=state, info=info)


class Scripted(local_validation_pb2_grpc.LocalValidationServiceServicer, api_key_service_pb2_grpc.ApiKeyServiceServicer):
    """One session per SubscribeKeys: session, a one-chunk snapshot, then whatever the test puts in `script`."""

    def __init__(self, keys: List[lv.LocalKey], pepper: Optional[bytes] = None) -> None:
        self.keys, self.pepper = keys, pepper
        self.script: "queue.Queue[Any]" = queue.Queue()
        self.sessions = 0
        self.acks_answered = True
        self.reports: List[lv.ReportLocalUsageRequest] = []
        self.network_calls = 0

    def SubscribeKeys(self, request: Any, context: grpc.ServicerContext) -> Iterator[lv.SubscribeKeysResponse]:
        self.sessions += 1
        algorithm = lv.DIGEST_ALGORITHM_HMAC_SHA256_PEPPER if self.pepper else lv.DIGEST_ALGORITHM_SHA256
        session = lv.ValidatorSession(
            session_id=f"s{self.sessions}", digest_algorithm=algorithm, heartbeat_interval_ms=100, stale_after_ms=400,
            pepper_id=pepper_id(self.pepper) if self.pepper else "",
        )  # fmt: skip
        yield lv.SubscribeKeysResponse(seq=1, session=session)
        yield lv.SubscribeKeysResponse(seq=2, snapshot=lv.LocalKeySnapshot(keys=self.keys, complete=True))
        seq = 3
        while context.is_active():
            try:
                item = self.script.get(timeout=0.05)
            except queue.Empty:
                yield lv.SubscribeKeysResponse(seq=seq, heartbeat=lv.ValidatorHeartbeat())
                seq += 1
                continue
            if item == "gap":
                seq += 1
                continue
            yield lv.SubscribeKeysResponse(seq=seq, change=item)
            seq += 1

    def AcknowledgeKeyChanges(self, request: Any, context: grpc.ServicerContext) -> Any:
        if not self.acks_answered:
            context.abort(grpc.StatusCode.UNAVAILABLE, "scripted: no acknowledgements")
        return lv.AcknowledgeKeyChangesResponse(required_seq=2)

    def ReportLocalUsage(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.reports.append(request)
        return lv.ReportLocalUsageResponse()

    def ValidateApiKey(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.network_calls += 1
        return validation_pb2.ValidateApiKeyResponse(valid=False, outcome=validation_pb2.OUTCOME_NOT_FOUND)


def serve(service: Scripted) -> Tuple[grpc.Server, str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    local_validation_pb2_grpc.add_LocalValidationServiceServicer_to_server(service, server)
    api_key_service_pb2_grpc.add_ApiKeyServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture
def scripted() -> Iterator[Tuple[Scripted, str]]:
    service = Scripted([local_key()])
    server, url = serve(service)
    yield service, url
    server.stop(grace=None)


def wait_for(predicate: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_an_expired_key_is_refused_from_the_clock_without_asking_the_server() -> None:
    service = Scripted([local_key(expires_at=Timestamp(seconds=int(time.time()) - 1))])
    server, url = serve(service)
    try:
        with flux.Client("fake-admin-key", url=url) as client, client.api_keys.local_validator() as validator:
            with pytest.raises(flux.InvalidKeyError) as refused:
                validator.validate(SECRET)
            assert refused.value.outcome == "EXPIRED" and refused.value.key_info is not None
            assert refused.value.key_info.id == "key_1" and service.network_calls == 0
    finally:
        server.stop(grace=None)


def test_a_gap_in_the_stream_drops_the_table_and_resubscribes(scripted: Tuple[Scripted, str]) -> None:
    service, url = scripted
    states: List[str] = []
    with flux.Client("fake-admin-key", url=url) as client:
        with client.api_keys.local_validator(on_state_change=states.append) as validator:
            assert validator.state == "fresh" and validator.validate(SECRET).id == "key_1"
            service.script.put("gap")
            wait_for(lambda: validator.stats().resyncs >= 1 and validator.state == "fresh")
            assert service.sessions >= 2 and "stale" in states and states[-1] == "fresh"
            assert validator.validate(SECRET).id == "key_1"
        assert validator.state == "closed" and states[-1] == "closed"


def test_a_validator_whose_acknowledgements_fail_goes_stale_and_asks_the_network(
    scripted: Tuple[Scripted, str],
) -> None:
    service, url = scripted
    with flux.Client("fake-admin-key", url=url) as client, client.api_keys.local_validator() as validator:
        service.acks_answered = False
        wait_for(lambda: validator.state == "stale")
        with pytest.raises(flux.InvalidKeyError) as refused:
            validator.validate(SECRET)
        assert refused.value.outcome == "NOT_FOUND" and service.network_calls == 1  # the scripted network's answer
        assert validator.stats().network_answers == 1
        service.acks_answered = True
        wait_for(lambda: validator.state == "fresh")


def test_a_validator_without_the_servers_pepper_is_refused_at_start() -> None:
    service = Scripted([local_key()], pepper=b"the server's pepper")
    server, url = serve(service)
    try:
        with flux.Client("fake-admin-key", url=url) as client:
            with pytest.raises(flux.FailedPreconditionError) as wrong:
                client.api_keys.local_validator(pepper="another pepper", start_timeout=5)
            assert wrong.value.reason == "PEPPER_MISMATCH" and "another pepper" not in str(wrong.value)
            with client.api_keys.local_validator(pepper="the server's pepper") as validator:
                assert validator.state == "fresh"
    finally:
        server.stop(grace=None)


def test_close_reports_every_local_answer_once_with_closing_set(scripted: Tuple[Scripted, str]) -> None:
    service, url = scripted
    with flux.Client("fake-admin-key", url=url) as client:
        validator = client.api_keys.local_validator()
        for _ in range(5):
            validator.validate(SECRET, required_scopes=["data:read"])
        with pytest.raises(flux.InsufficientScopeError):
            validator.validate(SECRET, required_scopes=["data:write"])
        with pytest.raises(flux.InvalidKeyError):
            validator.validate(SECRET[:-1] + "A")  # MALFORMED: counted without a key
        validator.close()
        validator.close()  # idempotent
        assert service.reports and service.reports[-1].closing
        assert [r.report_seq for r in service.reports] == list(range(1, len(service.reports) + 1))
        outcomes: dict = {}
        for report in service.reports:
            for key in report.keys:
                for o in key.outcomes:
                    name = validation_pb2.Outcome.Name(o.outcome)
                    outcomes[name] = outcomes.get(name, 0) + o.count
        assert outcomes == {"OUTCOME_VALID": 5, "OUTCOME_INSUFFICIENT_SCOPE": 1}
        assert sum(r.malformed for r in service.reports) == 1
        with pytest.raises(flux.InvalidKeyError):  # closed: the network answers
            validator.validate(SECRET)
        assert service.network_calls == 1 and validator.state == "closed"


def test_a_revocation_on_the_stream_is_refused_locally(scripted: Tuple[Scripted, str]) -> None:
    service, url = scripted
    with flux.Client("fake-admin-key", url=url) as client, client.api_keys.local_validator() as validator:
        assert validator.validate(SECRET).id == "key_1"
        service.script.put(lv.LocalKeyChange(key=local_key(state=api_key_pb2.KEY_STATE_REVOKED)))
        wait_for(lambda: _outcome(validator) == "REVOKED")
        assert service.network_calls == 0


def _outcome(validator: flux.LocalValidator) -> str:
    try:
        validator.validate(SECRET)
        return "VALID"
    except flux.InvalidKeyError as e:
        return e.outcome


def test_the_asyncio_validator_answers_locally_and_asks_the_network_when_it_cannot(
    scripted: Tuple[Scripted, str],
) -> None:
    service, url = scripted

    async def run() -> List[str]:
        states: List[str] = []
        async with flux.AsyncClient("fake-admin-key", url=url) as client:
            async with await client.api_keys.local_validator(on_state_change=states.append) as validator:
                assert (await validator.validate(SECRET)).id == "key_1" and service.network_calls == 0
                with pytest.raises(flux.InvalidKeyError) as unknown:
                    await validator.validate("flux_" + "0" * 36)  # well formed? no: checksum → MALFORMED, locally
                assert unknown.value.outcome == "MALFORMED" and service.network_calls == 0
                with pytest.raises(flux.InvalidKeyError) as bad_scope:
                    await validator.validate(SECRET, required_scopes=["not a scope"])  # the server's to refuse
                assert bad_scope.value.outcome == "NOT_FOUND" and service.network_calls == 1
                assert validator.stats().local_answers == 2 and validator.stats().network_answers == 1
            assert validator.state == "closed"
            await asyncio.sleep(0)  # let the callbacks scheduled from the validator's threads run
        return states

    states = asyncio.run(run())
    assert states[0] == "fresh" and states[-1] == "closed"
