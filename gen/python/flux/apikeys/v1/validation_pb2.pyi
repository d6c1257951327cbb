import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_VALID: _ClassVar[Outcome]
    OUTCOME_NOT_FOUND: _ClassVar[Outcome]
    OUTCOME_MALFORMED: _ClassVar[Outcome]
    OUTCOME_EXPIRED: _ClassVar[Outcome]
    OUTCOME_REVOKED: _ClassVar[Outcome]
    OUTCOME_DISABLED: _ClassVar[Outcome]
    OUTCOME_RATE_LIMITED: _ClassVar[Outcome]
    OUTCOME_INSUFFICIENT_SCOPE: _ClassVar[Outcome]
    OUTCOME_USAGE_EXCEEDED: _ClassVar[Outcome]
    OUTCOME_IP_NOT_ALLOWED: _ClassVar[Outcome]

class PolicyLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POLICY_LEVEL_UNSPECIFIED: _ClassVar[PolicyLevel]
    POLICY_LEVEL_KEY: _ClassVar[PolicyLevel]
    POLICY_LEVEL_ORGANIZATION: _ClassVar[PolicyLevel]
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_VALID: Outcome
OUTCOME_NOT_FOUND: Outcome
OUTCOME_MALFORMED: Outcome
OUTCOME_EXPIRED: Outcome
OUTCOME_REVOKED: Outcome
OUTCOME_DISABLED: Outcome
OUTCOME_RATE_LIMITED: Outcome
OUTCOME_INSUFFICIENT_SCOPE: Outcome
OUTCOME_USAGE_EXCEEDED: Outcome
OUTCOME_IP_NOT_ALLOWED: Outcome
POLICY_LEVEL_UNSPECIFIED: PolicyLevel
POLICY_LEVEL_KEY: PolicyLevel
POLICY_LEVEL_ORGANIZATION: PolicyLevel

class ValidateApiKeyRequest(_message.Message):
    __slots__ = ("key", "required_scopes", "cost", "client_ip")
    KEY_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_SCOPES_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    CLIENT_IP_FIELD_NUMBER: _ClassVar[int]
    key: str
    required_scopes: _containers.RepeatedScalarFieldContainer[str]
    cost: int
    client_ip: str
    def __init__(self, key: _Optional[str] = ..., required_scopes: _Optional[_Iterable[str]] = ..., cost: _Optional[int] = ..., client_ip: _Optional[str] = ...) -> None: ...

class ValidateApiKeyResponse(_message.Message):
    __slots__ = ("valid", "outcome", "key", "rate_limit", "missing_scopes", "credits", "organization", "refused_by")
    VALID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    MISSING_SCOPES_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    ORGANIZATION_FIELD_NUMBER: _ClassVar[int]
    REFUSED_BY_FIELD_NUMBER: _ClassVar[int]
    valid: bool
    outcome: Outcome
    key: KeyInfo
    rate_limit: RateLimitState
    missing_scopes: _containers.RepeatedScalarFieldContainer[str]
    credits: CreditsState
    organization: OrganizationState
    refused_by: PolicyLevel
    def __init__(self, valid: bool = ..., outcome: _Optional[_Union[Outcome, str]] = ..., key: _Optional[_Union[KeyInfo, _Mapping]] = ..., rate_limit: _Optional[_Union[RateLimitState, _Mapping]] = ..., missing_scopes: _Optional[_Iterable[str]] = ..., credits: _Optional[_Union[CreditsState, _Mapping]] = ..., organization: _Optional[_Union[OrganizationState, _Mapping]] = ..., refused_by: _Optional[_Union[PolicyLevel, str]] = ...) -> None: ...

class CreditsState(_message.Message):
    __slots__ = ("remaining", "next_refill_at")
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    NEXT_REFILL_AT_FIELD_NUMBER: _ClassVar[int]
    remaining: int
    next_refill_at: _timestamp_pb2.Timestamp
    def __init__(self, remaining: _Optional[int] = ..., next_refill_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OrganizationState(_message.Message):
    __slots__ = ("rate_limit", "credits")
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    rate_limit: RateLimitState
    credits: CreditsState
    def __init__(self, rate_limit: _Optional[_Union[RateLimitState, _Mapping]] = ..., credits: _Optional[_Union[CreditsState, _Mapping]] = ...) -> None: ...

class KeyInfo(_message.Message):
    __slots__ = ("id", "org_id", "name", "scopes", "metadata", "expires_at")
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
    METADATA_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    org_id: str
    name: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    metadata: _containers.ScalarMap[str, str]
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., org_id: _Optional[str] = ..., name: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RateLimitState(_message.Message):
    __slots__ = ("limit", "remaining", "reset_at", "retry_after_ms")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    RESET_AT_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    limit: int
    remaining: int
    reset_at: _timestamp_pb2.Timestamp
    retry_after_ms: int
    def __init__(self, limit: _Optional[int] = ..., remaining: _Optional[int] = ..., reset_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., retry_after_ms: _Optional[int] = ...) -> None: ...
