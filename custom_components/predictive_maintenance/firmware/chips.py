"""ESP chip identifiers as they appear in image headers and in manifests."""

from __future__ import annotations

from typing import Final

# `esp_chip_id_t` values written into the image's extended header, and the `chipFamily`
# names ESP Web Tools manifests (and ESPHome's ESPHOME_VARIANT) use for the same chips.
CHIP_FAMILY_BY_ID: Final[dict[int, str]] = {
    0x0000: "ESP32",
    0x0002: "ESP32-S2",
    0x0005: "ESP32-C3",
    0x0009: "ESP32-S3",
    0x000C: "ESP32-C2",
    0x000D: "ESP32-C6",
    0x0010: "ESP32-H2",
    0x0012: "ESP32-P4",
    0x0014: "ESP32-C61",
    0x0017: "ESP32-C5",
}
CHIP_ID_BY_FAMILY: Final[dict[str, int]] = {name: cid for cid, name in CHIP_FAMILY_BY_ID.items()}


def normalize_chip_family(name: str) -> str:
    """Return the canonical spelling of a chip family ("esp32s3" -> "ESP32-S3")."""
    compact = name.strip().upper().replace("-", "").replace("_", "")
    for family in CHIP_ID_BY_FAMILY:
        if family.replace("-", "") == compact:
            return family
    return name.strip().upper()


def chip_family_name(chip_id: int) -> str:
    """Name of a chip id, or a readable placeholder for ids this table does not know."""
    return CHIP_FAMILY_BY_ID.get(chip_id, f"unknown chip 0x{chip_id:04x}")
