from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_REASON_UNSPECIFIED: _ClassVar[ErrorReason]
    ERROR_REASON_ADMIN_KEY_MISSING: _ClassVar[ErrorReason]
    ERROR_REASON_ADMIN_KEY_INVALID: _ClassVar[ErrorReason]
    ERROR_REASON_PERMISSION_DENIED: _ClassVar[ErrorReason]
    ERROR_REASON_INVALID_ARGUMENT: _ClassVar[ErrorReason]
    ERROR_REASON_UNKNOWN_SCOPE: _ClassVar[ErrorReason]
    ERROR_REASON_KEY_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_SCOPE_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_ADMIN_KEY_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_KEY_REVOKED: _ClassVar[ErrorReason]
    ERROR_REASON_SCOPE_IN_USE: _ClassVar[ErrorReason]
    ERROR_REASON_STORE_UNAVAILABLE: _ClassVar[ErrorReason]
    ERROR_REASON_INTERNAL: _ClassVar[ErrorReason]
    ERROR_REASON_AUTH_THROTTLED: _ClassVar[ErrorReason]
    ERROR_REASON_WEBHOOK_ENDPOINT_NOT_FOUND: _ClassVar[ErrorReason]
    ERROR_REASON_VALIDATOR_SESSION_ENDED: _ClassVar[ErrorReason]
ERROR_REASON_UNSPECIFIED: ErrorReason
ERROR_REASON_ADMIN_KEY_MISSING: ErrorReason
ERROR_REASON_ADMIN_KEY_INVALID: ErrorReason
ERROR_REASON_PERMISSION_DENIED: ErrorReason
ERROR_REASON_INVALID_ARGUMENT: ErrorReason
ERROR_REASON_UNKNOWN_SCOPE: ErrorReason
ERROR_REASON_KEY_NOT_FOUND: ErrorReason
ERROR_REASON_SCOPE_NOT_FOUND: ErrorReason
ERROR_REASON_ADMIN_KEY_NOT_FOUND: ErrorReason
ERROR_REASON_KEY_REVOKED: ErrorReason
ERROR_REASON_SCOPE_IN_USE: ErrorReason
ERROR_REASON_STORE_UNAVAILABLE: ErrorReason
ERROR_REASON_INTERNAL: ErrorReason
ERROR_REASON_AUTH_THROTTLED: ErrorReason
ERROR_REASON_WEBHOOK_ENDPOINT_NOT_FOUND: ErrorReason
ERROR_REASON_VALIDATOR_SESSION_ENDED: ErrorReason
