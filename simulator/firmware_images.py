"""Firmware images for simulated devices: build them, read them, keep them in two slots.

`build_image` writes an ESP32 application image with a real image header, extended
header (chip id), segments, checksum byte, appended SHA-256 and `esp_app_desc_t`, padded
to an exact size; deterministic for the same arguments. It is written independently
of the integration's parser so that tests of one check the other.

`FirmwareSlots` models what ESP-IDF's app rollback does on the device (field case C02).
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

_IMAGE_MAGIC: Final = 0xE9
_APP_DESC_MAGIC: Final = 0xABCD5432
_CHECKSUM_SEED: Final = 0xEF
_HEADER_LEN: Final = 24
_SEGMENT_HEADER_LEN: Final = 8
_APP_DESC_LEN: Final = 256
_APP_DESC_AT: Final = _HEADER_LEN + _SEGMENT_HEADER_LEN
_CHIP_ID_AT: Final = 12
_HASH_APPENDED_AT: Final = 23
# Simulator-only tag in the first segment's rodata, right after the app descriptor:
# a device that boots an image carrying it crash-loops (a "bad firmware").
CRASH_LOOP_TAG: Final = b"PMSIM:CRASH-LOOP"
# Simulator-only, right after that: the ESPHome version the image was built with (the app
# descriptor has no field for it; real firmware reports a string compiled into the app).
ESPHOME_TAG: Final = b"PMSIM:ESPHOME="
_ESPHOME_FIELD_LEN: Final = 32

CHIP_IDS: Final[dict[str, int]] = {
    "ESP32": 0x0000,
    "ESP32-S2": 0x0002,
    "ESP32-C3": 0x0005,
    "ESP32-S3": 0x0009,
    "ESP32-C2": 0x000C,
    "ESP32-C6": 0x000D,
    "ESP32-H2": 0x0010,
}
DEFAULT_IMAGE_SIZE: Final = 1_572_864
MIN_IMAGE_SIZE: Final = 16_384
# (load address, length) of the small segments; the last (IROM) segment takes the rest.
_DROM = (0x3F400020, 4096)
_DRAM = (0x3FFB0000, 1024)
_IRAM = (0x40080000, 4096)
_IROM_ADDR: Final = 0x400D0020
_ENTRY: Final = 0x40081A3C


def _fixed(text: str, length: int) -> bytes:
    raw = text.encode()
    if len(raw) >= length:
        raise ValueError(f"{text!r} does not fit in {length - 1} bytes")
    return raw.ljust(length, b"\0")


def _app_descriptor(
    *, project_name: str, version: str, compile_time: str, compile_date: str, idf_version: str
) -> bytes:
    elf_sha = hashlib.sha256(f"{project_name}\0{version}".encode()).digest()
    return b"".join(
        (
            struct.pack("<II8x", _APP_DESC_MAGIC, 0),
            _fixed(version, 32),
            _fixed(project_name, 32),
            _fixed(compile_time, 16),
            _fixed(compile_date, 16),
            _fixed(idf_version, 32),
            elf_sha,
            bytes(80),
        )
    )


def build_image(
    *,
    project_name: str,
    version: str,
    chip_family: str = "ESP32",
    size: int = DEFAULT_IMAGE_SIZE,
    compile_time: str = "12:00:00",
    compile_date: str = "Dec  3 2026",
    idf_version: str = "v5.3.2",
    crash_loop: bool = False,
    seed: int = 0,
    esphome_version: str | None = None,
) -> bytes:
    """An ESP32 app image of exactly `size` bytes (a multiple of 16, >= 16 KiB).

    `esphome_version` is stored in a simulator-only tag that `SlotImage.from_bytes` reads
    back (a device reports it in DeviceInfo); without it the bytes are as before.
    """
    if size < MIN_IMAGE_SIZE or size % 16:
        raise ValueError(f"image size must be a multiple of 16 and >= {MIN_IMAGE_SIZE}")
    if chip_family not in CHIP_IDS:
        raise ValueError(f"unknown chip family {chip_family!r}")
    rng = random.Random(f"{project_name}|{version}|{chip_family}|{seed}")

    desc = _app_descriptor(
        project_name=project_name,
        version=version,
        compile_time=compile_time,
        compile_date=compile_date,
        idf_version=idf_version,
    )
    tag = CRASH_LOOP_TAG if crash_loop else bytes(len(CRASH_LOOP_TAG))
    if esphome_version is not None:
        tag += ESPHOME_TAG + _fixed(esphome_version, _ESPHOME_FIELD_LEN - len(ESPHOME_TAG))
    drom = desc + tag + rng.randbytes(_DROM[1] - len(desc) - len(tag))
    # Everything before the SHA-256 ends on a 16-byte boundary with the checksum byte
    # last; with 4 segments and 4-byte aligned lengths that leaves exactly 3 pad bytes.
    segments_total = size - 32 - _HEADER_LEN - 4 * _SEGMENT_HEADER_LEN - 4
    irom_len = segments_total - _DROM[1] - _DRAM[1] - _IRAM[1]
    segments = [
        (_DROM[0], drom),
        (_DRAM[0], rng.randbytes(_DRAM[1])),
        (_IRAM[0], rng.randbytes(_IRAM[1])),
        (_IROM_ADDR, rng.randbytes(irom_len)),
    ]
    header = struct.pack(
        "<BBBBIB3sHBHH4sB",
        _IMAGE_MAGIC,
        len(segments),
        0x02,  # DIO
        0x20,  # 4 MB flash, 40 MHz
        _ENTRY,
        0xEE,  # no WP pin
        bytes(3),
        CHIP_IDS[chip_family],
        0,
        0,
        0x018F,  # max chip revision v3.99
        bytes(4),
        1,  # SHA-256 appended
    )
    parts = [header]
    checksum = _CHECKSUM_SEED
    for address, data in segments:
        parts.append(struct.pack("<II", address, len(data)))
        parts.append(data)
        for byte in data:
            checksum ^= byte
    body = b"".join(parts)
    body += bytes(15 - len(body) % 16) + bytes((checksum,))
    image = body + hashlib.sha256(body).digest()
    if len(image) != size:
        raise AssertionError(f"built {len(image)} bytes instead of {size}")
    return image


@dataclass(frozen=True, kw_only=True)
class SlotImage:
    """What a simulated device knows about an image in one of its app slots."""

    project_name: str
    version: str
    compilation_time: str = ""
    crash_loop: bool = False
    md5: str = ""
    chip_family: str = "ESP32"
    esphome_version: str = ""  # empty: the image does not say

    @classmethod
    def from_bytes(cls, data: bytes) -> SlotImage:
        """Read the app descriptor the way a booting device would; ValueError if absent."""
        desc = data[_APP_DESC_AT : _APP_DESC_AT + _APP_DESC_LEN]
        if len(data) < _APP_DESC_AT + _APP_DESC_LEN or data[0] != _IMAGE_MAGIC:
            raise ValueError("not an ESP32 application image")
        if struct.unpack_from("<I", desc)[0] != _APP_DESC_MAGIC:
            raise ValueError("image has no app descriptor")

        def text(start: int, length: int) -> str:
            return desc[start : start + length].split(b"\0", 1)[0].decode(errors="replace")

        tag_at = _APP_DESC_AT + _APP_DESC_LEN
        esphome_at = tag_at + len(CRASH_LOOP_TAG)
        esphome = data[esphome_at : esphome_at + _ESPHOME_FIELD_LEN]
        esphome_version = (
            esphome[len(ESPHOME_TAG) :].split(b"\0", 1)[0].decode(errors="replace")
            if esphome.startswith(ESPHOME_TAG)
            else ""
        )
        (chip_id,) = struct.unpack_from("<H", data, _CHIP_ID_AT)
        chip = next((name for name, cid in CHIP_IDS.items() if cid == chip_id), f"0x{chip_id:04X}")
        return cls(
            project_name=text(48, 32),
            version=text(16, 32),
            compilation_time=f"{text(96, 16)}, {text(80, 16)}",
            crash_loop=data[tag_at : tag_at + len(CRASH_LOOP_TAG)] == CRASH_LOOP_TAG,
            md5=hashlib.md5(data).hexdigest(),
            chip_family=chip,
            esphome_version=esphome_version,
        )


def verify_image(data: bytes, *, chip_family: str = "ESP32") -> SlotImage:
    """What `esp_ota_end` checks before the device accepts an image; ValueError if it fails.

    The image must be an app image for this chip, and its appended SHA-256 must match.
    """
    image = SlotImage.from_bytes(data)
    if image.chip_family != chip_family:
        raise ValueError(f"image is for {image.chip_family}, the device is an {chip_family}")
    if data[_HASH_APPENDED_AT] == 1 and hashlib.sha256(data[:-32]).digest() != data[-32:]:
        raise ValueError("image SHA-256 does not match")
    return image


@dataclass(frozen=True, kw_only=True)
class BootOutcome:
    """What came up after `FirmwareSlots.boot`."""

    image: SlotImage
    rolled_back: bool = False
    rolled_back_from: SlotImage | None = None
    new_image: bool = False


@dataclass
class FirmwareSlots:
    """Two app slots with ESP-IDF's rollback rules, driven by simulated time.

    A device uses it like this::

        slots = FirmwareSlots(SlotImage(project_name="acme.env_sensor", version="1.0.0"))
        slots.install(SlotImage.from_bytes(received))   # OTA end: image staged for next boot
        outcome = slots.boot(now)                       # the OTA reboot: runs it, PENDING_VERIFY
        slots.update(now)                               # every tick: marks it valid once due
        slots.crash_due_at()                            # bad image: when the device must crash
        outcome = slots.boot(now)                       # any reset: rolls back if not yet valid

    `now` is the device's simulated clock in seconds. A new image boots pending
    verification; `update` marks it valid `boot_is_good_after` seconds after boot
    (ESPHome `safe_mode`, 60 s by default) unless it is a crash-loop image. A reset
    before that boots the previous image again (`BootOutcome.rolled_back`), which is
    what the device then reports as its `project_version`.
    """

    running: SlotImage
    boot_is_good_after: float = 60.0
    crash_after: float = 5.0
    boot_is_good_on_shutdown: bool = False
    previous: SlotImage | None = None
    staged: SlotImage | None = None
    pending_verify: bool = False
    boot_time: float = 0.0
    rollbacks: list[tuple[float, SlotImage, SlotImage]] = field(default_factory=list)
    """(time, image rolled back from, image rolled back to) for every rollback."""

    def __post_init__(self) -> None:
        if not 0 < self.crash_after < self.boot_is_good_after:
            raise ValueError("a crash-loop image must crash before it could be marked valid")

    def install(self, image: SlotImage) -> None:
        """Stage `image` in the other slot; it runs after the next `boot`.

        Starting an OTA marks the running image valid first, as ESPHome does.
        """
        self.pending_verify = False
        self.staged = image

    def update(self, now: float) -> bool:
        """Mark the running image valid if its boot has lasted long enough; True if it did now."""
        if (
            self.pending_verify
            and not self.running.crash_loop
            and now - self.boot_time >= self.boot_is_good_after
        ):
            self.pending_verify = False
            return True
        return False

    def crash_due_at(self) -> float | None:
        """Simulated time at which a crash-loop image resets the device, if it runs one."""
        return self.boot_time + self.crash_after if self.running.crash_loop else None

    def boot(self, now: float, *, orderly: bool = False) -> BootOutcome:
        """The device (re)starts at `now`: decide which image runs.

        `orderly` is a clean shutdown (restart button, OTA reboot); with
        `boot_is_good_on_shutdown` it marks a pending image valid first.
        """
        self.update(now)
        if self.pending_verify and orderly and self.boot_is_good_on_shutdown:
            self.pending_verify = False
        if self.pending_verify and self.previous is not None:
            failed, self.running, self.previous = self.running, self.previous, self.running
            self.pending_verify = False
            self.boot_time = now
            self.rollbacks.append((now, failed, self.running))
            return BootOutcome(image=self.running, rolled_back=True, rolled_back_from=failed)
        if self.staged is not None:
            self.previous, self.running, self.staged = self.running, self.staged, None
            self.pending_verify = True
            self.boot_time = now
            return BootOutcome(image=self.running, new_image=True)
        self.boot_time = now
        return BootOutcome(image=self.running)


def write_catalogue_release(
    folder: Path,
    *,
    project_name: str,
    version: str,
    chip_family: str = "ESP32",
    size: int = DEFAULT_IMAGE_SIZE,
    crash_loop: bool = False,
    summary: str | None = None,
    esphome_version: str | None = None,
    **metadata: object,
) -> Path:
    """Write ``<folder>/<project>/<version>/`` with `firmware.ota.bin` and `manifest.json`.

    `metadata` goes to the manifest's top level (`patch_type`, `priority`, `fixes`,
    `min_version`). Returns the manifest path. For demos and tests of the catalogue.
    """
    image = build_image(
        project_name=project_name,
        version=version,
        chip_family=chip_family,
        size=size,
        crash_loop=crash_loop,
        esphome_version=esphome_version,
    )
    release_dir = folder / project_name / version
    release_dir.mkdir(parents=True, exist_ok=True)
    (release_dir / "firmware.ota.bin").write_bytes(image)
    ota: dict[str, str] = {
        "path": "firmware.ota.bin",
        "md5": hashlib.md5(image).hexdigest(),
        "sha256": hashlib.sha256(image).hexdigest(),
        "summary": summary or f"{project_name} {version}",
    }
    manifest = {
        "name": project_name,
        "version": version,
        "builds": [{"chipFamily": chip_family, "ota": ota}],
        **metadata,
    }
    path = release_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
