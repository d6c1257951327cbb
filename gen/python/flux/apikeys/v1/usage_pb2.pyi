import datetime

from flux.apikeys.v1 import validation_pb2 as _validation_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Granularity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRANULARITY_UNSPECIFIED: _ClassVar[Granularity]
    GRANULARITY_HOUR: _ClassVar[Granularity]
    GRANULARITY_DAY: _ClassVar[Granularity]
GRANULARITY_UNSPECIFIED: Granularity
GRANULARITY_HOUR: Granularity
GRANULARITY_DAY: Granularity

class GetApiKeyUsageRequest(_message.Message):
    __slots__ = ("id", "granularity", "series_start", "unused_scope_days")
    ID_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    SERIES_START_FIELD_NUMBER: _ClassVar[int]
    UNUSED_SCOPE_DAYS_FIELD_NUMBER: _ClassVar[int]
    id: str
    granularity: Granularity
    series_start: _timestamp_pb2.Timestamp
    unused_scope_days: int
    def __init__(self, id: _Optional[str] = ..., granularity: _Optional[_Union[Granularity, str]] = ..., series_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., unused_scope_days: _Optional[int] = ...) -> None: ...

class GetApiKeyUsageResponse(_message.Message):
    __slots__ = ("id", "period_start", "requests_current_period", "errors_current_period", "error_rate", "last_used_at", "outcomes", "series", "unused_scopes", "scope_uses")
    ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_CURRENT_PERIOD_FIELD_NUMBER: _ClassVar[int]
    ERRORS_CURRENT_PERIOD_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    LAST_USED_AT_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    UNUSED_SCOPES_FIELD_NUMBER: _ClassVar[int]
    SCOPE_USES_FIELD_NUMBER: _ClassVar[int]
    id: str
    period_start: _timestamp_pb2.Timestamp
    requests_current_period: int
    errors_current_period: int
    error_rate: float
    last_used_at: _timestamp_pb2.Timestamp
    outcomes: _containers.RepeatedCompositeFieldContainer[OutcomeCount]
    series: _containers.RepeatedCompositeFieldContainer[UsageBucket]
    unused_scopes: _containers.RepeatedScalarFieldContainer[str]
    scope_uses: _containers.RepeatedCompositeFieldContainer[ScopeUse]
    def __init__(self, id: _Optional[str] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requests_current_period: _Optional[int] = ..., errors_current_period: _Optional[int] = ..., error_rate: _Optional[float] = ..., last_used_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcomes: _Optional[_Iterable[_Union[OutcomeCount, _Mapping]]] = ..., series: _Optional[_Iterable[_Union[UsageBucket, _Mapping]]] = ..., unused_scopes: _Optional[_Iterable[str]] = ..., scope_uses: _Optional[_Iterable[_Union[ScopeUse, _Mapping]]] = ...) -> None: ...

class ScopeUse(_message.Message):
    __slots__ = ("scope", "last_required_at")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    LAST_REQUIRED_AT_FIELD_NUMBER: _ClassVar[int]
    scope: str
    last_required_at: _timestamp_pb2.Timestamp
    def __init__(self, scope: _Optional[str] = ..., last_required_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OutcomeCount(_message.Message):
    __slots__ = ("outcome", "count")
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    outcome: _validation_pb2.Outcome
    count: int
    def __init__(self, outcome: _Optional[_Union[_validation_pb2.Outcome, str]] = ..., count: _Optional[int] = ...) -> None: ...

class UsageBucket(_message.Message):
    __slots__ = ("start_time", "requests", "valid", "rate_limited", "other_errors", "usage_exceeded")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    VALID_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMITED_FIELD_NUMBER: _ClassVar[int]
    OTHER_ERRORS_FIELD_NUMBER: _ClassVar[int]
    USAGE_EXCEEDED_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    requests: int
    valid: int
    rate_limited: int
    other_errors: int
    usage_exceeded: int
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., requests: _Optional[int] = ..., valid: _Optional[int] = ..., rate_limited: _Optional[int] = ..., other_errors: _Optional[int] = ..., usage_exceeded: _Optional[int] = ...) -> None: ...
