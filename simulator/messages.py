"""aioesphomeapi's protobuf classes and message ids, with version-tolerant construction.

The installed client's `api_pb2` decides which fields exist (29.x lacks e.g. DeviceInfo's
api_encryption_supported, 46.x lacks unique_id); fields it does not know are left out.
"""

from __future__ import annotations

from typing import Any

from aioesphomeapi import api_pb2
from aioesphomeapi.core import MESSAGE_TYPE_TO_PROTO

# The protobuf classes are generated at runtime and untyped.
Message = Any

PROTO_TO_MESSAGE_TYPE: dict[type[Any], int] = {
    cls: msg_type for msg_type, cls in MESSAGE_TYPE_TO_PROTO.items()
}

HELLO_REQUEST = 1
HELLO_RESPONSE = 2
AUTH_REQUEST = 3
AUTH_RESPONSE = 4
DISCONNECT_REQUEST = 5
DISCONNECT_RESPONSE = 6
PING_REQUEST = 7
PING_RESPONSE = 8
DEVICE_INFO_REQUEST = 9
LIST_ENTITIES_REQUEST = 11
SUBSCRIBE_STATES_REQUEST = 20
SWITCH_COMMAND_REQUEST = 33
BUTTON_COMMAND_REQUEST = 62


def make(message: str | int, /, **fields: Any) -> Message:
    """Build `api_pb2.<name>` (or the class of a message id, for classes renamed between
    versions), dropping fields this protobuf version does not have."""
    cls = MESSAGE_TYPE_TO_PROTO[message] if isinstance(message, int) else getattr(api_pb2, message)
    known = cls.DESCRIPTOR.fields_by_name
    return cls(**{key: value for key, value in fields.items() if key in known})


def message_type(message: Message) -> int:
    return PROTO_TO_MESSAGE_TYPE[type(message)]


class MessageDecodeError(ValueError):
    """A payload that does not parse as the message its id names."""


def decode(msg_type: int, payload: bytes) -> Message:
    """Parse a client message; None for ids this client version does not know."""
    cls = MESSAGE_TYPE_TO_PROTO.get(msg_type)
    if cls is None:
        return None
    try:
        return cls.FromString(payload)
    except Exception as err:  # protobuf's DecodeError; protobuf ships no type stubs
        raise MessageDecodeError(f"bad payload for message type {msg_type}") from err
