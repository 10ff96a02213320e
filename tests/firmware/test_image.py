"""ESP32 image parsing, checks and the simulator's image builder, against each other."""

from __future__ import annotations

import contextlib
import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.predictive_maintenance.firmware import (
    ChecksumMismatchError,
    InvalidImageError,
    WrongChipError,
    WrongProjectError,
    check_image,
    ensure_image_matches,
    parse_image,
    verify_checksums,
)
from custom_components.predictive_maintenance.firmware.image import xor_checksum
from simulator.firmware_images import CHIP_IDS, SlotImage, build_image

from .conftest import IMAGE_SIZE, PROJECT


def test_round_trip(image: bytes) -> None:
    info = parse_image(image)
    assert info.project_name == PROJECT
    assert info.version == "1.0.1"
    assert info.chip_family == "ESP32"
    assert info.chip_id == 0
    assert info.segment_count == 4
    assert info.hash_appended
    assert info.image_length == info.file_size == IMAGE_SIZE
    assert info.md5 == hashlib.md5(image).hexdigest()
    assert info.sha256 == hashlib.sha256(image).hexdigest()
    assert info.app.idf_version == "v5.3.2"
    assert info.app.compile_date == "Dec  3 2026"
    assert len(info.app.elf_sha256) == 64


@pytest.mark.parametrize("chip", sorted(CHIP_IDS))
def test_chip_families(chip: str) -> None:
    info = parse_image(build_image(project_name="p", version="2.0.0", chip_family=chip, size=32768))
    assert info.chip_family == chip
    assert info.chip_id == CHIP_IDS[chip]
    ensure_image_matches(info, project_name="p", chip_family=chip.lower().replace("-", ""))


def test_builder_is_deterministic_and_exact() -> None:
    first = build_image(project_name="p", version="1.0.0", size=20_000 * 16)
    assert first == build_image(project_name="p", version="1.0.0", size=20_000 * 16)
    assert first != build_image(project_name="p", version="1.0.1", size=20_000 * 16)
    assert len(first) == 320_000
    with pytest.raises(ValueError, match="multiple of 16"):
        build_image(project_name="p", version="1", size=100_001)


def test_wrong_project_refused(image: bytes) -> None:
    with pytest.raises(WrongProjectError, match=r"project 'acme\.env_sensor'.*'acme\.other'"):
        check_image(image, project_name="acme.other", chip_family="ESP32")


def test_wrong_chip_refused() -> None:
    s3 = build_image(project_name=PROJECT, version="1.0.1", chip_family="ESP32-S3", size=32768)
    with pytest.raises(
        WrongChipError, match="built for ESP32-S3, the device is an ESP32-C3"
    ) as err:
        check_image(s3, project_name=PROJECT, chip_family="esp32c3")
    assert err.value.actual == "ESP32-S3"


def test_checksums(image: bytes) -> None:
    md5 = hashlib.md5(image).hexdigest()
    sha = hashlib.sha256(image).hexdigest()
    verify_checksums(image, md5=md5.upper(), sha256=sha)
    info = check_image(image, project_name=PROJECT, chip_family="ESP32", md5=md5, sha256=sha)
    assert info.version == "1.0.1"
    with pytest.raises(ChecksumMismatchError, match="md5 mismatch") as err:
        verify_checksums(image, md5="0" * 32)
    assert err.value.actual == md5
    with pytest.raises(ChecksumMismatchError, match="sha256 mismatch"):
        verify_checksums(image, md5=md5, sha256="f" * 64)
    with pytest.raises(ValueError, match="32 hex"):
        verify_checksums(image, md5="xyz")


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes((data[at] ^ 0x01,)) + data[at + 1 :]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: b"\xe8" + d[1:], "magic 0xe8"),
        (lambda d: d[:1] + b"\x00" + d[2:], "segment count 0"),
        (lambda d: d[:40_000], "runs past the end"),
        (lambda d: d[:-40], "before its checksum byte|past the end"),
        (lambda d: d[:-10], "inside its appended SHA-256"),
        (lambda d: _flip(d, 40_000), "segment checksum mismatch"),
        (lambda d: _flip(d, len(d) - 33), "segment checksum mismatch"),
        (lambda d: _flip(d, len(d) - 1), "appended SHA-256 does not match"),
        (lambda d: _flip(d, 32), "no app descriptor"),
        (lambda d: d[:10], "too short"),
    ],
)
def test_damaged_images_refused(small_image: bytes, mutate: object, message: str) -> None:
    assert callable(mutate)
    with pytest.raises(InvalidImageError, match=message):
        parse_image(mutate(small_image))


def test_first_segment_too_small(small_image: bytes) -> None:
    damaged = small_image[:28] + struct.pack("<I", 16) + small_image[32:]
    with pytest.raises(InvalidImageError, match="too small for an app descriptor"):
        parse_image(damaged)


def test_xor_checksum_matches_naive_loop() -> None:
    data = bytes(range(256)) * 3 + b"\x5a\xa5\x01"
    naive = 0xEF
    for byte in data:
        naive ^= byte
    assert xor_checksum(data) == naive
    assert xor_checksum(b"") == 0xEF
    assert xor_checksum(b"\x12") == 0x12 ^ 0xEF


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_only_raise_invalid_image(data: bytes) -> None:
    with contextlib.suppress(InvalidImageError):
        parse_image(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=65_535), st.integers(min_value=1, max_value=255))
def test_any_single_byte_corruption_is_caught_or_harmless(at: int, mask: int) -> None:
    original = build_image(project_name="p", version="1.0.0", size=65_536)
    damaged = original[:at] + bytes((original[at] ^ mask,)) + original[at + 1 :]
    try:
        info = parse_image(damaged)
    except InvalidImageError:
        return
    # Only header fields outside segment data, checksum and hash can change unnoticed.
    assert at < 24
    assert info.file_size == len(original)


def test_simulator_reads_what_the_parser_reads(image: bytes) -> None:
    slot = SlotImage.from_bytes(image)
    info = parse_image(image)
    assert (slot.project_name, slot.version) == (info.project_name, info.version)
    assert slot.md5 == info.md5
    assert not slot.crash_loop
    bad = build_image(project_name=PROJECT, version="9.9.9", size=32768, crash_loop=True)
    assert SlotImage.from_bytes(bad).crash_loop
    parse_image(bad)  # still a well-formed image
    with pytest.raises(ValueError, match="not an ESP32"):
        SlotImage.from_bytes(b"\x00" * 1024)
