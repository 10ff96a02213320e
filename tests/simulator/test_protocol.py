"""Framing details at byte level, the parts the client tests do not pin down."""

from __future__ import annotations

import asyncio

import pytest

from simulator import fnv1_hash
from simulator.protocol import (
    PlaintextTransport,
    ProtocolError,
    decode_psk,
    encode_varuint,
    read_varuint,
)

from .conftest import KEY_A, DeviceFactory


def feed(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def test_fnv1_matches_reference_vectors() -> None:
    assert fnv1_hash("") == 0x811C9DC5
    assert fnv1_hash("a") == 0x050C5D7E
    assert fnv1_hash("foobar") == 0x31F0B262


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 16_383, 16_384, 65_535])
async def test_varuint_round_trip(value: int) -> None:
    assert await read_varuint(feed(encode_varuint(value))) == value


async def test_varuint_longer_than_four_bytes_rejected() -> None:
    with pytest.raises(ProtocolError):
        await read_varuint(feed(b"\xff\xff\xff\xff\x01"))


async def test_plaintext_frame_round_trip() -> None:
    transport = PlaintextTransport(asyncio.StreamReader())
    frame = transport.encode_message(300, b"x" * 200)
    assert frame[:1] == b"\x00"
    assert await PlaintextTransport(feed(frame)).read_message() == (300, b"x" * 200)


def test_psk_validation() -> None:
    assert len(decode_psk(KEY_A)) == 32
    with pytest.raises(ValueError, match="32 bytes"):
        decode_psk("c2hvcnQ=")
    with pytest.raises(ValueError, match="base64"):
        decode_psk("not base64!")


async def raw_exchange(dev_port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", dev_port)
    try:
        writer.write(data)
        async with asyncio.timeout(10):
            return await reader.read()  # until the device closes
    finally:
        writer.close()
        await writer.wait_closed()


async def test_plaintext_device_answers_noise_hello_with_bad_indicator(
    make_device: DeviceFactory,
) -> None:
    dev = await make_device()
    answer = await raw_exchange(dev.port, b"\x01\x00\x00")
    assert answer == b"\x00Bad indicator byte"


async def test_noise_device_rejects_plaintext_with_noise_frame(make_device: DeviceFactory) -> None:
    dev = await make_device(noise_psk=KEY_A, mac="02:00:00:AB:CD:EF")
    answer = await raw_exchange(dev.port, PlaintextTransport(feed(b"")).encode_message(1, b""))
    assert answer[0] == 0x01
    assert answer[3:] == b"\x01Bad indicator byte"


async def test_noise_server_hello_carries_name_and_mac(make_device: DeviceFactory) -> None:
    dev = await make_device(name="esp-hello", noise_psk=KEY_A, mac="02:00:00:AB:CD:EF")
    # Client hello, then a handshake frame that cannot be valid: the device must name
    # itself, then reject the handshake with the firmware's MAC failure text.
    answer = await raw_exchange(dev.port, b"\x01\x00\x00" + b"\x01\x00\x31\x00" + b"\x00" * 48)
    hello_len = int.from_bytes(answer[1:3], "big")
    assert answer[3 : 3 + hello_len] == b"\x01esp-hello\x00020000abcdef\x00"
    assert answer[3 + hello_len + 3 :] == b"\x01Handshake MAC failure"
    assert dev.handshake_failures == 1
