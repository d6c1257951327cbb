import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuditAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_ACTION_UNSPECIFIED: _ClassVar[AuditAction]
    AUDIT_ACTION_API_KEY_CREATED: _ClassVar[AuditAction]
    AUDIT_ACTION_API_KEY_ROTATED: _ClassVar[AuditAction]
    AUDIT_ACTION_API_KEY_UPDATED: _ClassVar[AuditAction]
    AUDIT_ACTION_API_KEY_DISABLED: _ClassVar[AuditAction]
    AUDIT_ACTION_API_KEY_ENABLED: _ClassVar[AuditAction]
    AUDIT_ACTION_API_KEY_REVOKED: _ClassVar[AuditAction]
    AUDIT_ACTION_SCOPE_DEFINED: _ClassVar[AuditAction]
    AUDIT_ACTION_SCOPE_DELETED: _ClassVar[AuditAction]
    AUDIT_ACTION_ADMIN_KEY_CREATED: _ClassVar[AuditAction]
    AUDIT_ACTION_ADMIN_KEY_REVOKED: _ClassVar[AuditAction]
    AUDIT_ACTION_API_KEY_LEAK_REPORTED: _ClassVar[AuditAction]
    AUDIT_ACTION_ORGANIZATION_POLICY_UPDATED: _ClassVar[AuditAction]
    AUDIT_ACTION_WEBHOOK_ENDPOINT_CREATED: _ClassVar[AuditAction]
    AUDIT_ACTION_WEBHOOK_ENDPOINT_UPDATED: _ClassVar[AuditAction]
    AUDIT_ACTION_WEBHOOK_ENDPOINT_DELETED: _ClassVar[AuditAction]
    AUDIT_ACTION_WEBHOOK_SECRET_ROTATED: _ClassVar[AuditAction]

class AuditTargetType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIT_TARGET_TYPE_UNSPECIFIED: _ClassVar[AuditTargetType]
    AUDIT_TARGET_TYPE_API_KEY: _ClassVar[AuditTargetType]
    AUDIT_TARGET_TYPE_SCOPE: _ClassVar[AuditTargetType]
    AUDIT_TARGET_TYPE_ADMIN_KEY: _ClassVar[AuditTargetType]
    AUDIT_TARGET_TYPE_ORGANIZATION: _ClassVar[AuditTargetType]
    AUDIT_TARGET_TYPE_WEBHOOK_ENDPOINT: _ClassVar[AuditTargetType]
AUDIT_ACTION_UNSPECIFIED: AuditAction
AUDIT_ACTION_API_KEY_CREATED: AuditAction
AUDIT_ACTION_API_KEY_ROTATED: AuditAction
AUDIT_ACTION_API_KEY_UPDATED: AuditAction
AUDIT_ACTION_API_KEY_DISABLED: AuditAction
AUDIT_ACTION_API_KEY_ENABLED: AuditAction
AUDIT_ACTION_API_KEY_REVOKED: AuditAction
AUDIT_ACTION_SCOPE_DEFINED: AuditAction
AUDIT_ACTION_SCOPE_DELETED: AuditAction
AUDIT_ACTION_ADMIN_KEY_CREATED: AuditAction
AUDIT_ACTION_ADMIN_KEY_REVOKED: AuditAction
AUDIT_ACTION_API_KEY_LEAK_REPORTED: AuditAction
AUDIT_ACTION_ORGANIZATION_POLICY_UPDATED: AuditAction
AUDIT_ACTION_WEBHOOK_ENDPOINT_CREATED: AuditAction
AUDIT_ACTION_WEBHOOK_ENDPOINT_UPDATED: AuditAction
AUDIT_ACTION_WEBHOOK_ENDPOINT_DELETED: AuditAction
AUDIT_ACTION_WEBHOOK_SECRET_ROTATED: AuditAction
AUDIT_TARGET_TYPE_UNSPECIFIED: AuditTargetType
AUDIT_TARGET_TYPE_API_KEY: AuditTargetType
AUDIT_TARGET_TYPE_SCOPE: AuditTargetType
AUDIT_TARGET_TYPE_ADMIN_KEY: AuditTargetType
AUDIT_TARGET_TYPE_ORGANIZATION: AuditTargetType
AUDIT_TARGET_TYPE_WEBHOOK_ENDPOINT: AuditTargetType

class AuditEvent(_message.Message):
    __slots__ = ("id", "time", "action", "org_id", "target_type", "target_id", "actor_admin_key_id", "request_id", "caller_address", "update_mask", "before", "after")
    ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ADMIN_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CALLER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    id: str
    time: _timestamp_pb2.Timestamp
    action: AuditAction
    org_id: str
    target_type: AuditTargetType
    target_id: str
    actor_admin_key_id: str
    request_id: str
    caller_address: str
    update_mask: _containers.RepeatedScalarFieldContainer[str]
    before: _struct_pb2.Struct
    after: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., action: _Optional[_Union[AuditAction, str]] = ..., org_id: _Optional[str] = ..., target_type: _Optional[_Union[AuditTargetType, str]] = ..., target_id: _Optional[str] = ..., actor_admin_key_id: _Optional[str] = ..., request_id: _Optional[str] = ..., caller_address: _Optional[str] = ..., update_mask: _Optional[_Iterable[str]] = ..., before: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., after: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ("org_id", "target_id", "target_type", "actor_admin_key_id", "start_time", "end_time", "page_size", "page_token")
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ADMIN_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    org_id: str
    target_id: str
    target_type: AuditTargetType
    actor_admin_key_id: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, org_id: _Optional[str] = ..., target_id: _Optional[str] = ..., target_type: _Optional[_Union[AuditTargetType, str]] = ..., actor_admin_key_id: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[AuditEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
