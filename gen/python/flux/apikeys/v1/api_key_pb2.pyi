import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KeyState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KEY_STATE_UNSPECIFIED: _ClassVar[KeyState]
    KEY_STATE_ACTIVE: _ClassVar[KeyState]
    KEY_STATE_DISABLED: _ClassVar[KeyState]
    KEY_STATE_REVOKED: _ClassVar[KeyState]
    KEY_STATE_EXPIRED: _ClassVar[KeyState]
KEY_STATE_UNSPECIFIED: KeyState
KEY_STATE_ACTIVE: KeyState
KEY_STATE_DISABLED: KeyState
KEY_STATE_REVOKED: KeyState
KEY_STATE_EXPIRED: KeyState

class ApiKey(_message.Message):
    __slots__ = ("id", "org_id", "name", "scopes", "rate_limit", "expires_at", "metadata", "enabled", "state", "display_hint", "created_at", "updated_at", "revoked_at", "rotated_at", "credits", "allowed_cidrs")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_HINT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    ROTATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_CIDRS_FIELD_NUMBER: _ClassVar[int]
    id: str
    org_id: str
    name: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    rate_limit: RateLimit
    expires_at: _timestamp_pb2.Timestamp
    metadata: _containers.ScalarMap[str, str]
    enabled: bool
    state: KeyState
    display_hint: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    rotated_at: _timestamp_pb2.Timestamp
    credits: Credits
    allowed_cidrs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., org_id: _Optional[str] = ..., name: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ..., rate_limit: _Optional[_Union[RateLimit, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., enabled: bool = ..., state: _Optional[_Union[KeyState, str]] = ..., display_hint: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rotated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., credits: _Optional[_Union[Credits, _Mapping]] = ..., allowed_cidrs: _Optional[_Iterable[str]] = ...) -> None: ...

class Credits(_message.Message):
    __slots__ = ("remaining", "refill")
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    REFILL_FIELD_NUMBER: _ClassVar[int]
    remaining: int
    refill: CreditRefill
    def __init__(self, remaining: _Optional[int] = ..., refill: _Optional[_Union[CreditRefill, _Mapping]] = ...) -> None: ...

class CreditRefill(_message.Message):
    __slots__ = ("amount", "interval_seconds", "day_of_month", "last_refill_at")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DAY_OF_MONTH_FIELD_NUMBER: _ClassVar[int]
    LAST_REFILL_AT_FIELD_NUMBER: _ClassVar[int]
    amount: int
    interval_seconds: int
    day_of_month: int
    last_refill_at: _timestamp_pb2.Timestamp
    def __init__(self, amount: _Optional[int] = ..., interval_seconds: _Optional[int] = ..., day_of_month: _Optional[int] = ..., last_refill_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RateLimit(_message.Message):
    __slots__ = ("requests", "window_seconds")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    requests: int
    window_seconds: int
    def __init__(self, requests: _Optional[int] = ..., window_seconds: _Optional[int] = ...) -> None: ...

class Scope(_message.Message):
    __slots__ = ("name", "description", "created_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AdminKey(_message.Message):
    __slots__ = ("id", "name", "org_id", "validate_only", "display_hint", "created_at", "revoked_at", "local_validation")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_HINT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    LOCAL_VALIDATION_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    org_id: str
    validate_only: bool
    display_hint: str
    created_at: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    local_validation: bool
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., org_id: _Optional[str] = ..., validate_only: bool = ..., display_hint: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., local_validation: bool = ...) -> None: ...
