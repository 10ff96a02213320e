"""ESPHome OTA protocol constants (client and device side of `espota2`, version 2)."""

from __future__ import annotations

from typing import Final

MAGIC: Final = bytes((0x6C, 0x26, 0xF7, 0x5C, 0x45))
DEFAULT_PORT: Final = 3232
BLOCK_SIZE: Final = 8192

VERSION_1: Final = 1
VERSION_2: Final = 2

FEATURE_COMPRESSION: Final = 0x01
FEATURE_SHA256_AUTH: Final = 0x02
FEATURE_EXTENDED: Final = 0x04

RESPONSE_OK: Final = 0x00
RESPONSE_REQUEST_MD5_AUTH: Final = 0x01
RESPONSE_REQUEST_SHA256_AUTH: Final = 0x02
RESPONSE_HEADER_OK: Final = 0x40
RESPONSE_AUTH_OK: Final = 0x41
RESPONSE_UPDATE_PREPARE_OK: Final = 0x42
RESPONSE_BIN_MD5_OK: Final = 0x43
RESPONSE_RECEIVE_OK: Final = 0x44
RESPONSE_UPDATE_END_OK: Final = 0x45
RESPONSE_SUPPORTS_COMPRESSION: Final = 0x46
RESPONSE_CHUNK_OK: Final = 0x47
RESPONSE_FEATURE_FLAGS: Final = 0x48

ERROR_AUTH_INVALID: Final = 0x82
ERROR_MD5_MISMATCH: Final = 0x8B

OTA_TYPE_APP: Final = 0
OTA_TYPE_PARTITION_TABLE: Final = 1
OTA_TYPE_BOOTLOADER: Final = 2

# Device error codes, worded for a person who has to decide what to do next.
ERROR_MESSAGES: Final[dict[int, str]] = {
    0x80: "the device did not recognise the OTA handshake (bad magic bytes)",
    0x81: "the device could not prepare its flash for the update",
    0x82: "the device refused the OTA password",
    0x83: "writing the firmware to the device's flash failed",
    0x84: "the device could not finish the update",
    0x85: "the device needs a manual reset before it accepts an update (invalid bootstrapping)",
    0x86: "the device was flashed with the wrong flash size",
    0x87: "the device does not have the flash size this firmware needs",
    0x88: "the ESP8266 does not have enough free space for this firmware",
    0x89: "the firmware is larger than the device's OTA partition",
    0x8A: "the device has no OTA partition to write to",
    0x8B: "the firmware's MD5 did not match on the device (corrupted in transit)",
    0x8C: "the RP2040 does not have enough free space for this firmware",
    0x8D: "the device rejected the firmware signature",
    0x8E: "the device does not support this kind of OTA update",
    0x8F: "the device could not verify the new partition table",
    0x90: "updating the partition table failed",
    0x91: "the device could not verify the new bootloader",
    0x92: "updating the bootloader failed",
    0x93: "the device refuses to downgrade to an older firmware",
    0x94: "the device requires an encrypted OTA session, which this client does not speak",
    0xFF: "the device reported an unknown OTA error",
}


def describe_code(code: int) -> str:
    """Readable text for a device response code."""
    return ERROR_MESSAGES.get(code, f"unexpected response 0x{code:02x}")
