import datetime

from flux.apikeys.v1 import api_key_pb2 as _api_key_pb2
from flux.apikeys.v1 import usage_pb2 as _usage_pb2
from flux.apikeys.v1 import validation_pb2 as _validation_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DigestAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIGEST_ALGORITHM_UNSPECIFIED: _ClassVar[DigestAlgorithm]
    DIGEST_ALGORITHM_SHA256: _ClassVar[DigestAlgorithm]
    DIGEST_ALGORITHM_HMAC_SHA256_PEPPER: _ClassVar[DigestAlgorithm]
DIGEST_ALGORITHM_UNSPECIFIED: DigestAlgorithm
DIGEST_ALGORITHM_SHA256: DigestAlgorithm
DIGEST_ALGORITHM_HMAC_SHA256_PEPPER: DigestAlgorithm

class SubscribeKeysRequest(_message.Message):
    __slots__ = ("validator_name",)
    VALIDATOR_NAME_FIELD_NUMBER: _ClassVar[int]
    validator_name: str
    def __init__(self, validator_name: _Optional[str] = ...) -> None: ...

class SubscribeKeysResponse(_message.Message):
    __slots__ = ("seq", "session", "snapshot", "change", "heartbeat")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    seq: int
    session: ValidatorSession
    snapshot: LocalKeySnapshot
    change: LocalKeyChange
    heartbeat: ValidatorHeartbeat
    def __init__(self, seq: _Optional[int] = ..., session: _Optional[_Union[ValidatorSession, _Mapping]] = ..., snapshot: _Optional[_Union[LocalKeySnapshot, _Mapping]] = ..., change: _Optional[_Union[LocalKeyChange, _Mapping]] = ..., heartbeat: _Optional[_Union[ValidatorHeartbeat, _Mapping]] = ...) -> None: ...

class ValidatorSession(_message.Message):
    __slots__ = ("session_id", "digest_algorithm", "pepper_id", "heartbeat_interval_ms", "stale_after_ms", "org_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DIGEST_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    PEPPER_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    STALE_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    digest_algorithm: DigestAlgorithm
    pepper_id: str
    heartbeat_interval_ms: int
    stale_after_ms: int
    org_id: str
    def __init__(self, session_id: _Optional[str] = ..., digest_algorithm: _Optional[_Union[DigestAlgorithm, str]] = ..., pepper_id: _Optional[str] = ..., heartbeat_interval_ms: _Optional[int] = ..., stale_after_ms: _Optional[int] = ..., org_id: _Optional[str] = ...) -> None: ...

class LocalKeySnapshot(_message.Message):
    __slots__ = ("keys", "organizations", "complete")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATIONS_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[LocalKey]
    organizations: _containers.RepeatedCompositeFieldContainer[LocalOrganization]
    complete: bool
    def __init__(self, keys: _Optional[_Iterable[_Union[LocalKey, _Mapping]]] = ..., organizations: _Optional[_Iterable[_Union[LocalOrganization, _Mapping]]] = ..., complete: bool = ...) -> None: ...

class LocalKey(_message.Message):
    __slots__ = ("digest", "info", "state", "rate_limit", "credits", "allowed_cidrs")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_CIDRS_FIELD_NUMBER: _ClassVar[int]
    digest: str
    info: _validation_pb2.KeyInfo
    state: _api_key_pb2.KeyState
    rate_limit: _api_key_pb2.RateLimit
    credits: _api_key_pb2.Credits
    allowed_cidrs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, digest: _Optional[str] = ..., info: _Optional[_Union[_validation_pb2.KeyInfo, _Mapping]] = ..., state: _Optional[_Union[_api_key_pb2.KeyState, str]] = ..., rate_limit: _Optional[_Union[_api_key_pb2.RateLimit, _Mapping]] = ..., credits: _Optional[_Union[_api_key_pb2.Credits, _Mapping]] = ..., allowed_cidrs: _Optional[_Iterable[str]] = ...) -> None: ...

class LocalOrganization(_message.Message):
    __slots__ = ("org_id", "validate_remotely")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_REMOTELY_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    validate_remotely: bool
    def __init__(self, org_id: _Optional[str] = ..., validate_remotely: bool = ...) -> None: ...

class LocalKeyChange(_message.Message):
    __slots__ = ("key", "removed_key_id", "organization")
    KEY_FIELD_NUMBER: _ClassVar[int]
    REMOVED_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    key: LocalKey
    removed_key_id: str
    organization: LocalOrganization
    def __init__(self, key: _Optional[_Union[LocalKey, _Mapping]] = ..., removed_key_id: _Optional[str] = ..., organization: _Optional[_Union[LocalOrganization, _Mapping]] = ...) -> None: ...

class ValidatorHeartbeat(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AcknowledgeKeyChangesRequest(_message.Message):
    __slots__ = ("session_id", "applied_seq")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    APPLIED_SEQ_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    applied_seq: int
    def __init__(self, session_id: _Optional[str] = ..., applied_seq: _Optional[int] = ...) -> None: ...

class AcknowledgeKeyChangesResponse(_message.Message):
    __slots__ = ("required_seq",)
    REQUIRED_SEQ_FIELD_NUMBER: _ClassVar[int]
    required_seq: int
    def __init__(self, required_seq: _Optional[int] = ...) -> None: ...

class LeaseLimitsRequest(_message.Message):
    __slots__ = ("session_id", "key_id", "rate_limit_points", "credits")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_POINTS_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    key_id: str
    rate_limit_points: int
    credits: int
    def __init__(self, session_id: _Optional[str] = ..., key_id: _Optional[str] = ..., rate_limit_points: _Optional[int] = ..., credits: _Optional[int] = ...) -> None: ...

class LeaseLimitsResponse(_message.Message):
    __slots__ = ("rate_limit", "credits")
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    rate_limit: RateLimitLease
    credits: CreditsLease
    def __init__(self, rate_limit: _Optional[_Union[RateLimitLease, _Mapping]] = ..., credits: _Optional[_Union[CreditsLease, _Mapping]] = ...) -> None: ...

class RateLimitLease(_message.Message):
    __slots__ = ("granted", "limit", "unleased", "reset_at", "expires_in_ms")
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    UNLEASED_FIELD_NUMBER: _ClassVar[int]
    RESET_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_MS_FIELD_NUMBER: _ClassVar[int]
    granted: int
    limit: int
    unleased: int
    reset_at: _timestamp_pb2.Timestamp
    expires_in_ms: int
    def __init__(self, granted: _Optional[int] = ..., limit: _Optional[int] = ..., unleased: _Optional[int] = ..., reset_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_in_ms: _Optional[int] = ...) -> None: ...

class CreditsLease(_message.Message):
    __slots__ = ("granted", "unleased", "next_refill_at", "expires_in_ms")
    GRANTED_FIELD_NUMBER: _ClassVar[int]
    UNLEASED_FIELD_NUMBER: _ClassVar[int]
    NEXT_REFILL_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_MS_FIELD_NUMBER: _ClassVar[int]
    granted: int
    unleased: int
    next_refill_at: _timestamp_pb2.Timestamp
    expires_in_ms: int
    def __init__(self, granted: _Optional[int] = ..., unleased: _Optional[int] = ..., next_refill_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_in_ms: _Optional[int] = ...) -> None: ...

class ReportLocalUsageRequest(_message.Message):
    __slots__ = ("session_id", "report_seq", "keys", "malformed", "closing")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REPORT_SEQ_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    MALFORMED_FIELD_NUMBER: _ClassVar[int]
    CLOSING_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    report_seq: int
    keys: _containers.RepeatedCompositeFieldContainer[LocalKeyUsage]
    malformed: int
    closing: bool
    def __init__(self, session_id: _Optional[str] = ..., report_seq: _Optional[int] = ..., keys: _Optional[_Iterable[_Union[LocalKeyUsage, _Mapping]]] = ..., malformed: _Optional[int] = ..., closing: bool = ...) -> None: ...

class LocalKeyUsage(_message.Message):
    __slots__ = ("key_id", "outcomes", "scope_uses", "last_used_at", "returned_rate_limit_points", "returned_credits")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    SCOPE_USES_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    RETURNED_RATE_LIMIT_POINTS_FIELD_NUMBER: _ClassVar[int]
    RETURNED_CREDITS_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    outcomes: _containers.RepeatedCompositeFieldContainer[_usage_pb2.OutcomeCount]
    scope_uses: _containers.RepeatedCompositeFieldContainer[ScopeUseCount]
    last_used_at: _timestamp_pb2.Timestamp
    returned_rate_limit_points: int
    returned_credits: int
    def __init__(self, key_id: _Optional[str] = ..., outcomes: _Optional[_Iterable[_Union[_usage_pb2.OutcomeCount, _Mapping]]] = ..., scope_uses: _Optional[_Iterable[_Union[ScopeUseCount, _Mapping]]] = ..., last_used_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., returned_rate_limit_points: _Optional[int] = ..., returned_credits: _Optional[int] = ...) -> None: ...

class ScopeUseCount(_message.Message):
    __slots__ = ("scope", "count")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    scope: str
    count: int
    def __init__(self, scope: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class ReportLocalUsageResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
