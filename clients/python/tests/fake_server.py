"""An in-process ApiKeyService on port 0 that answers with canned responses and rich-status errors.

It lets the offline tests check conversions and the error mapping over a real gRPC transport.
GetApiKey("fail:<CODE>:<REASON>[:<k>=<v>;...]") aborts with that code, an ErrorInfo and, for UNAVAILABLE,
a RetryInfo of 1.5 s. ValidateApiKey answers the outcome named by the raw key ("valid", "expired", ...).
"""

from __future__ import annotations

from concurrent import futures
from typing import Any, Dict, Iterator, List

import grpc
from flux.apikeys.v1 import api_key_pb2, api_key_service_pb2, api_key_service_pb2_grpc, validation_pb2
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

RESET_AT_SECONDS = 1_900_000_000  # 2030-03-17T17:46:40Z


def _packed(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def rich_status(code_name: str, reason: str, metadata: Dict[str, str]) -> grpc.Status:
    details = [_packed(error_details_pb2.ErrorInfo(reason=reason, domain="flux.apikeys.v1", metadata=metadata))]
    if code_name == "UNAVAILABLE":
        delay = duration_pb2.Duration(seconds=1, nanos=500_000_000)
        details.append(_packed(error_details_pb2.RetryInfo(retry_delay=delay)))
    status = status_pb2.Status(code=code_pb2.Code.Value(code_name), message=f"fake {reason}", details=details)
    return rpc_status.to_status(status)


class FakeApiKeyService(api_key_service_pb2_grpc.ApiKeyServiceServicer):
    def __init__(self) -> None:
        self.seen_metadata: List[Dict[str, str]] = []

    def _record(self, context: grpc.ServicerContext) -> None:
        self.seen_metadata.append({k: v for k, v in context.invocation_metadata() if isinstance(v, str)})

    def GetApiKey(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record(context)
        if request.id.startswith("fail:"):
            parts = request.id.split(":", 3)
            metadata = dict(item.split("=", 1) for item in parts[3].split(";")) if len(parts) > 3 else {}
            context.abort_with_status(rich_status(parts[1], parts[2], metadata))
        if request.id == "plain-error":  # no status details at all, as a proxy might answer
            context.abort(grpc.StatusCode.INTERNAL, "boom")
        key = api_key_pb2.ApiKey(
            id=request.id,
            org_id="org_1",
            name="fake",
            scopes=["data:read"],
            enabled=True,
            state=api_key_pb2.KEY_STATE_ACTIVE,
            rate_limit=api_key_pb2.RateLimit(requests=10, window_seconds=60),
            metadata={"team": "ci"},
            created_at=Timestamp(seconds=RESET_AT_SECONDS, nanos=500_000_000),
        )
        return api_key_service_pb2.GetApiKeyResponse(api_key=key)

    def CreateApiKey(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record(context)
        key = api_key_pb2.ApiKey(
            id="key_1",
            org_id=request.org_id,
            name=request.name,
            scopes=request.scopes,
            rate_limit=request.rate_limit if request.HasField("rate_limit") else None,
            expires_at=request.expires_at if request.HasField("expires_at") else None,
            state=api_key_pb2.KEY_STATE_ACTIVE,
            enabled=True,
        )
        return api_key_service_pb2.CreateApiKeyResponse(api_key=key, secret="flux_fakesecret")

    def UpdateApiKey(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record(context)
        # Echo the mask in the name so tests can see what was sent.
        key = api_key_pb2.ApiKey(id=request.api_key.id, name=",".join(request.update_mask.paths))
        return api_key_service_pb2.UpdateApiKeyResponse(api_key=key)

    def ValidateApiKey(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._record(context)
        outcome = validation_pb2.Outcome.Value(f"OUTCOME_{request.key.upper()}")
        response = validation_pb2.ValidateApiKeyResponse(valid=outcome == validation_pb2.OUTCOME_VALID, outcome=outcome)
        if request.key not in ("not_found", "malformed"):
            response.key.CopyFrom(validation_pb2.KeyInfo(id="key_1", org_id="org_1", name="fake", scopes=["data:read"]))
            response.rate_limit.CopyFrom(
                validation_pb2.RateLimitState(
                    limit=5,
                    remaining=0 if request.key == "rate_limited" else 4,
                    reset_at=Timestamp(seconds=RESET_AT_SECONDS),
                    retry_after_ms=1500 if request.key == "rate_limited" else 0,
                )
            )
        if request.key == "insufficient_scope":
            response.missing_scopes.extend(request.required_scopes)
        return response


def start() -> Iterator[tuple[str, FakeApiKeyService]]:
    """Yields ("127.0.0.1:<port>", service) while the server runs (use as a pytest yield fixture body)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    service = FakeApiKeyService()
    api_key_service_pb2_grpc.add_ApiKeyServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}", service
    finally:
        server.stop(grace=None)
