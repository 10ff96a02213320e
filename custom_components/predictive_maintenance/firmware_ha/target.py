"""What the firmware feature needs to know about one monitored device."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from homeassistant.const import CONF_HOST

from custom_components.predictive_maintenance.const import (
    CONF_OTA_PASSWORD,
    CONF_OTA_PORT,
    DEFAULT_OTA_PORT,
)
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator

# Board names carry the variant: esp32-s3-devkitc-1, esp32c3, lolin_c3_mini, ...
_VARIANTS: Final = (
    (re.compile(r"s2"), "ESP32-S2"),
    (re.compile(r"s3"), "ESP32-S3"),
    (re.compile(r"c61"), "ESP32-C61"),
    (re.compile(r"c3"), "ESP32-C3"),
    (re.compile(r"c5"), "ESP32-C5"),
    (re.compile(r"c6"), "ESP32-C6"),
    (re.compile(r"c2"), "ESP32-C2"),
    (re.compile(r"h2"), "ESP32-H2"),
    (re.compile(r"p4"), "ESP32-P4"),
)


def chip_family_for(model: str) -> str:
    """Guess the chip family from the board name DeviceInfo reports (ESP32 if unsure)."""
    compact = model.lower().replace("-", "").replace("_", "")
    for pattern, family in _VARIANTS:
        if pattern.search(compact):
            return family
    return "ESP32"


@dataclass(frozen=True, slots=True)
class FirmwareTarget:
    """One device as the firmware feature sees it, at one instant."""

    entry_id: str
    mac: str
    name: str
    project: str
    version: str | None
    node_name: str
    chip_family: str
    host: str
    ota_port: int
    has_password: bool


def running_version(coordinator: DeviceCoordinator) -> str | None:
    """Return the version the device reports: its project's, else ESPHome's."""
    details = coordinator.data.details
    if details is None:
        return None
    return details.project_version or details.esphome_version or None


def target_of(coordinator: DeviceCoordinator) -> FirmwareTarget:
    """Return the device's firmware view from its entry and its latest DeviceInfo."""
    entry = coordinator.config_entry
    details = coordinator.data.details
    return FirmwareTarget(
        entry_id=entry.entry_id,
        mac=coordinator.mac,
        name=entry.title,
        project="" if details is None else details.project_name,
        version=running_version(coordinator),
        node_name="" if details is None else details.name,
        chip_family="ESP32" if details is None else chip_family_for(details.model),
        host=str(entry.data[CONF_HOST]),
        ota_port=int(entry.options.get(CONF_OTA_PORT, DEFAULT_OTA_PORT)),
        has_password=bool(entry.options.get(CONF_OTA_PASSWORD)),
    )


def ota_password(coordinator: DeviceCoordinator) -> str | None:
    """Return the device's OTA password (for the OTA client only; never log it)."""
    value = coordinator.config_entry.options.get(CONF_OTA_PASSWORD)
    return str(value) if value else None
