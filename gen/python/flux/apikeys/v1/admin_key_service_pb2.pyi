from flux.apikeys.v1 import api_key_pb2 as _api_key_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateAdminKeyRequest(_message.Message):
    __slots__ = ("name", "org_id", "validate_only", "local_validation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ORG_ID_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    LOCAL_VALIDATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    org_id: str
    validate_only: bool
    local_validation: bool
    def __init__(self, name: _Optional[str] = ..., org_id: _Optional[str] = ..., validate_only: bool = ..., local_validation: bool = ...) -> None: ...

class CreateAdminKeyResponse(_message.Message):
    __slots__ = ("admin_key", "secret")
    ADMIN_KEY_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    admin_key: _api_key_pb2.AdminKey
    secret: str
    def __init__(self, admin_key: _Optional[_Union[_api_key_pb2.AdminKey, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class ListAdminKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListAdminKeysResponse(_message.Message):
    __slots__ = ("admin_keys",)
    ADMIN_KEYS_FIELD_NUMBER: _ClassVar[int]
    admin_keys: _containers.RepeatedCompositeFieldContainer[_api_key_pb2.AdminKey]
    def __init__(self, admin_keys: _Optional[_Iterable[_Union[_api_key_pb2.AdminKey, _Mapping]]] = ...) -> None: ...

class RevokeAdminKeyRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class RevokeAdminKeyResponse(_message.Message):
    __slots__ = ("admin_key",)
    ADMIN_KEY_FIELD_NUMBER: _ClassVar[int]
    admin_key: _api_key_pb2.AdminKey
    def __init__(self, admin_key: _Optional[_Union[_api_key_pb2.AdminKey, _Mapping]] = ...) -> None: ...
