"""Simulated ESP32 devices speaking the ESPHome native API, for tests, benchmarks and demos."""

from __future__ import annotations

from .device import DeviceConfig, SimulatedDevice
from .entities import METRICS, fnv1_hash
from .fleet import Fleet
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
    "DeviceConfig",
    "Fleet",
    "ReplayTrace",
    "Scenario",
    "SimulatedDevice",
    "fnv1_hash",
    "make_scenario",
    "nab_machine_temperature",
]
