import datetime

from flux.apikeys.v1 import api_key_pb2 as _api_key_pb2
from flux.apikeys.v1 import usage_pb2 as _usage_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrganizationPolicy(_message.Message):
    __slots__ = ("org_id", "rate_limit", "credits", "updated_at")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    rate_limit: _api_key_pb2.RateLimit
    credits: _api_key_pb2.Credits
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, org_id: _Optional[str] = ..., rate_limit: _Optional[_Union[_api_key_pb2.RateLimit, _Mapping]] = ..., credits: _Optional[_Union[_api_key_pb2.Credits, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetOrganizationPolicyRequest(_message.Message):
    __slots__ = ("org_id",)
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    def __init__(self, org_id: _Optional[str] = ...) -> None: ...

class GetOrganizationPolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: OrganizationPolicy
    def __init__(self, policy: _Optional[_Union[OrganizationPolicy, _Mapping]] = ...) -> None: ...

class UpdateOrganizationPolicyRequest(_message.Message):
    __slots__ = ("policy", "update_mask")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    policy: OrganizationPolicy
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, policy: _Optional[_Union[OrganizationPolicy, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateOrganizationPolicyResponse(_message.Message):
    __slots__ = ("policy",)
    POLICY_FIELD_NUMBER: _ClassVar[int]
    policy: OrganizationPolicy
    def __init__(self, policy: _Optional[_Union[OrganizationPolicy, _Mapping]] = ...) -> None: ...

class GetOrganizationUsageRequest(_message.Message):
    __slots__ = ("org_id", "granularity", "series_start", "top_keys")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    SERIES_START_FIELD_NUMBER: _ClassVar[int]
    TOP_KEYS_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    granularity: _usage_pb2.Granularity
    series_start: _timestamp_pb2.Timestamp
    top_keys: int
    def __init__(self, org_id: _Optional[str] = ..., granularity: _Optional[_Union[_usage_pb2.Granularity, str]] = ..., series_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., top_keys: _Optional[int] = ...) -> None: ...

class GetOrganizationUsageResponse(_message.Message):
    __slots__ = ("org_id", "requests", "errors", "error_rate", "outcomes", "series", "top_keys_by_requests", "top_keys_by_error_rate")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    TOP_KEYS_BY_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    TOP_KEYS_BY_ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    requests: int
    errors: int
    error_rate: float
    outcomes: _containers.RepeatedCompositeFieldContainer[_usage_pb2.OutcomeCount]
    series: _containers.RepeatedCompositeFieldContainer[_usage_pb2.UsageBucket]
    top_keys_by_requests: _containers.RepeatedCompositeFieldContainer[KeyUsageSummary]
    top_keys_by_error_rate: _containers.RepeatedCompositeFieldContainer[KeyUsageSummary]
    def __init__(self, org_id: _Optional[str] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ..., error_rate: _Optional[float] = ..., outcomes: _Optional[_Iterable[_Union[_usage_pb2.OutcomeCount, _Mapping]]] = ..., series: _Optional[_Iterable[_Union[_usage_pb2.UsageBucket, _Mapping]]] = ..., top_keys_by_requests: _Optional[_Iterable[_Union[KeyUsageSummary, _Mapping]]] = ..., top_keys_by_error_rate: _Optional[_Iterable[_Union[KeyUsageSummary, _Mapping]]] = ...) -> None: ...

class KeyUsageSummary(_message.Message):
    __slots__ = ("key_id", "name", "requests", "errors", "error_rate")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    name: str
    requests: int
    errors: int
    error_rate: float
    def __init__(self, key_id: _Optional[str] = ..., name: _Optional[str] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ..., error_rate: _Optional[float] = ...) -> None: ...
