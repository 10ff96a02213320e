"""Simulated ESP32 devices speaking the ESPHome native API and OTA (tests, benchmarks, demos)."""

from __future__ import annotations

from .demo_catalogue import DemoRelease, write_demo_catalogue
from .device import DeviceConfig, FirmwareEvent, SimulatedDevice
from .entities import METRICS, fnv1_hash
from .firmware_images import FirmwareSlots, SlotImage, build_image, write_catalogue_release
from .fleet import Fleet
from .ota import OTAAuth, OTAFaults, OTAServer, OTASessionRecord, SessionOutcome
from .replay import ReplayTrace, nab_machine_temperature
from .scenarios import (
    REASON_EXCEPTION,
    REASON_POWER_ON,
    REASON_SOFTWARE_RESTART,
    REASON_TASK_WATCHDOG,
    SCENARIOS,
    Scenario,
    make_scenario,
)

__all__ = [
    "METRICS",
    "REASON_EXCEPTION",
    "REASON_POWER_ON",
    "REASON_SOFTWARE_RESTART",
    "REASON_TASK_WATCHDOG",
    "SCENARIOS",
    "DemoRelease",
    "DeviceConfig",
    "FirmwareEvent",
    "FirmwareSlots",
    "Fleet",
    "OTAAuth",
    "OTAFaults",
    "OTAServer",
    "OTASessionRecord",
    "ReplayTrace",
    "Scenario",
    "SessionOutcome",
    "SimulatedDevice",
    "SlotImage",
    "build_image",
    "fnv1_hash",
    "make_scenario",
    "nab_machine_temperature",
    "write_catalogue_release",
    "write_demo_catalogue",
]
