"""ESPHome native API framing, device side: plaintext and Noise (NNpsk0) transports.

A transport reads and writes ``(message_type, payload)`` pairs; `negotiate` looks at the
client's first byte and answers a mismatch the way the firmware does, so the real client
raises the same errors it raises against a real ESP32.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Protocol

from noise.connection import NoiseConnection

NOISE_PROTOCOL_NAME = b"Noise_NNpsk0_25519_ChaChaPoly_SHA256"
NOISE_PROLOGUE_PREFIX = b"NoiseAPIInit"
NOISE_CHOSEN_PROTOCOL = 0x01
PLAINTEXT_INDICATOR = 0x00
NOISE_INDICATOR = 0x01
MAX_FRAME_LEN = 0xFFFF
# The firmware's own wording; the client maps exactly this text to InvalidEncryptionKeyAPIError.
HANDSHAKE_MAC_FAILURE = "Handshake MAC failure"
BAD_INDICATOR = "Bad indicator byte"


class ProtocolError(Exception):
    """The peer broke the framing rules; the connection must be closed."""


class MessageTransport(Protocol):
    """A framed, possibly encrypted, message channel to one client."""

    async def read_message(self) -> tuple[int, bytes]: ...

    def encode_message(self, msg_type: int, payload: bytes) -> bytes: ...


def encode_varuint(value: int) -> bytes:
    """Protobuf-style base-128 varint."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


async def read_varuint(reader: asyncio.StreamReader) -> int:
    """Read a varint of at most 4 bytes (the client's own limit)."""
    result = 0
    for shift in range(0, 28, 7):
        byte = (await reader.readexactly(1))[0]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result
    raise ProtocolError("varuint longer than 4 bytes")


def decode_psk(noise_psk: str) -> bytes:
    """Decode a base64 API encryption key; raise ValueError unless it is 32 bytes."""
    try:
        raw = base64.b64decode(noise_psk, validate=True)
    except binascii.Error as err:
        raise ValueError("noise_psk is not valid base64") from err
    if len(raw) != 32:
        raise ValueError("noise_psk must decode to 32 bytes")
    return raw


def noise_frame(payload: bytes) -> bytes:
    """Wrap a payload in a Noise transport frame: 0x01, u16 big-endian length, payload."""
    if len(payload) > MAX_FRAME_LEN:
        raise ProtocolError("frame too large")
    return bytes((NOISE_INDICATOR,)) + len(payload).to_bytes(2, "big") + payload


async def read_noise_frame(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(3)
    if header[0] != NOISE_INDICATOR:
        raise ProtocolError("bad noise frame indicator")
    return await reader.readexactly(int.from_bytes(header[1:3], "big"))


class PlaintextTransport:
    """Frames: 0x00 | varuint(len) | varuint(type) | payload."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def read_message(self) -> tuple[int, bytes]:
        indicator = (await self._reader.readexactly(1))[0]
        if indicator != PLAINTEXT_INDICATOR:
            raise ProtocolError("bad plaintext indicator")
        return await self.read_body()

    async def read_body(self) -> tuple[int, bytes]:
        """Read the rest of a frame whose indicator byte was already consumed."""
        length = await read_varuint(self._reader)
        msg_type = await read_varuint(self._reader)
        if length > MAX_FRAME_LEN:
            raise ProtocolError("frame too large")
        payload = await self._reader.readexactly(length) if length else b""
        return msg_type, payload

    def encode_message(self, msg_type: int, payload: bytes) -> bytes:
        return (
            bytes((PLAINTEXT_INDICATOR,))
            + encode_varuint(len(payload))
            + encode_varuint(msg_type)
            + payload
        )


class NoiseTransport:
    """Frames after the handshake carry encrypt(u16 type | u16 length | payload)."""

    def __init__(self, reader: asyncio.StreamReader, proto: NoiseConnection) -> None:
        self._reader = reader
        self._proto = proto

    async def read_message(self) -> tuple[int, bytes]:
        frame = await read_noise_frame(self._reader)
        try:
            data = bytes(self._proto.decrypt(frame))
        except Exception as err:
            raise ProtocolError("decryption failed") from err
        if len(data) < 4:
            raise ProtocolError("decrypted message too short")
        return int.from_bytes(data[0:2], "big"), data[4:]

    def encode_message(self, msg_type: int, payload: bytes) -> bytes:
        header = msg_type.to_bytes(2, "big") + len(payload).to_bytes(2, "big")
        return noise_frame(bytes(self._proto.encrypt(header + payload)))


async def _noise_handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    psk: bytes,
    name: str,
    mac_hex: str,
) -> NoiseTransport | None:
    """Responder half of the handshake; the indicator of the client hello is already read."""
    hello_len = int.from_bytes(await reader.readexactly(2), "big")
    hello = await reader.readexactly(hello_len)
    prologue = NOISE_PROLOGUE_PREFIX + hello_len.to_bytes(2, "big") + hello
    server_hello = bytes((NOISE_CHOSEN_PROTOCOL,)) + f"{name}\0{mac_hex}\0".encode()
    writer.write(noise_frame(server_hello))

    message = await read_noise_frame(reader)
    proto = NoiseConnection.from_name(NOISE_PROTOCOL_NAME)
    proto.set_as_responder()
    proto.set_psks(psk)
    proto.set_prologue(prologue)
    proto.start_handshake()
    try:
        if not message or message[0] != 0x00:
            raise ProtocolError("bad handshake preamble")
        proto.read_message(message[1:])
    except Exception:
        writer.write(noise_frame(b"\x01" + HANDSHAKE_MAC_FAILURE.encode()))
        await writer.drain()
        return None
    writer.write(noise_frame(b"\x00" + bytes(proto.write_message())))
    await writer.drain()
    return NoiseTransport(reader, proto)


class _PrereadPlaintext(PlaintextTransport):
    """Plaintext transport whose first frame's indicator byte was consumed by negotiation."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        super().__init__(reader)
        self._first = True

    async def read_message(self) -> tuple[int, bytes]:
        if self._first:
            self._first = False
            return await self.read_body()
        return await super().read_message()


async def negotiate(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    noise_psk: str | None,
    name: str,
    mac: str,
) -> MessageTransport | None:
    """Set up the transport for a new client, or answer a mismatch and return None.

    `mac` is the colon form; the Noise server hello carries it as 12 lowercase hex digits.
    """
    indicator = (await reader.readexactly(1))[0]
    if noise_psk is None:
        if indicator == PLAINTEXT_INDICATOR:
            return _PrereadPlaintext(reader)
        # A leading 0x00 makes a Noise client raise EncryptionPlaintextAPIError.
        writer.write(b"\x00" + BAD_INDICATOR.encode())
        await writer.drain()
        return None
    if indicator != NOISE_INDICATOR:
        # Any frame starting 0x01 makes a plaintext client raise RequiresEncryptionAPIError.
        writer.write(noise_frame(b"\x01" + BAD_INDICATOR.encode()))
        await writer.drain()
        return None
    mac_hex = mac.replace(":", "").lower()
    return await _noise_handshake(reader, writer, decode_psk(noise_psk), name, mac_hex)
