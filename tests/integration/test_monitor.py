"""DeviceMonitor: states in, samples and reboots out; pure, no Home Assistant."""

from __future__ import annotations

import math

from aioesphomeapi import SensorInfo, SensorState, TextSensorInfo, TextSensorState

from custom_components.predictive_maintenance.analytics import DeviceAnalytics
from custom_components.predictive_maintenance.device.reboots import UptimeReading
from custom_components.predictive_maintenance.monitor import DeviceMonitor

T0 = 1_700_000_000.0
UPTIME, HEAP, REASON = 1, 2, 3
ENTITIES = [
    SensorInfo(object_id="uptime", key=UPTIME, unit_of_measurement="s"),
    SensorInfo(object_id="heap_free", key=HEAP, unit_of_measurement="B"),
    TextSensorInfo(object_id="reset_reason", key=REASON),
]


def _monitor(last_uptime: UptimeReading | None = None) -> DeviceMonitor:
    monitor = DeviceMonitor(DeviceAnalytics("aa:bb:cc:dd:ee:ff"), last_uptime)
    monitor.session_started("esp32dev", ENTITIES)
    return monitor


def _burst(monitor: DeviceMonitor, at: float, uptime: float, heap: float, reason: str) -> None:
    monitor.ingest(SensorState(key=UPTIME, state=uptime), at)
    monitor.ingest(SensorState(key=HEAP, state=heap), at)
    monitor.ingest(TextSensorState(key=REASON, state=reason), at)


def test_samples_reach_the_model_uptime_does_not() -> None:
    """Heap readings are learned; uptime only drives reboot detection."""
    monitor = _monitor()
    for n in range(5):
        _burst(monitor, T0 + 60 * n, 60.0 * n, 150_000.0 + n, "Power on")
    assert monitor.analytics.detectors["heap_free"].samples == 5
    assert "uptime" not in monitor.analytics.detectors
    assert monitor.values == {"uptime": 240.0, "heap_free": 150_004.0}
    assert monitor.reset_reason == "Power on"


def test_resent_state_after_reconnect_is_not_a_new_sample() -> None:
    """The first state after a reconnect repeats the last reading: learned once only."""
    monitor = _monitor()
    _burst(monitor, T0, 100.0, 150_000.0, "Power on")
    monitor.connection_lost(T0 + 30, expected=False)
    monitor.session_started("esp32dev", ENTITIES)
    _burst(monitor, T0 + 40, 140.0, 150_000.0, "Power on")
    assert monitor.analytics.detectors["heap_free"].samples == 1
    _burst(monitor, T0 + 100, 200.0, 150_000.0, "Power on")
    assert monitor.analytics.detectors["heap_free"].samples == 2


def test_reboot_waits_for_its_reset_reason() -> None:
    """Uptime arrives before the reset reason in a burst; the reboot gets the new reason."""
    monitor = _monitor()
    _burst(monitor, T0, 5_000.0, 150_000.0, "Power on")
    monitor.connection_lost(T0 + 10, expected=False)
    monitor.session_started("esp32dev", ENTITIES)
    _burst(monitor, T0 + 15, 3.0, 170_000.0, "Exception")
    (reboot,) = monitor.analytics.reboots.entries
    assert (reboot.reason, reboot.observed, reboot.expected, reboot.crash) == (
        "Exception",
        True,
        False,
        True,
    )


def test_invalid_readings_leave_the_model_identical() -> None:
    """NaN, inf and missing states change nothing (C08)."""
    monitor = _monitor()
    _burst(monitor, T0, 100.0, 150_000.0, "Power on")
    before = monitor.analytics.to_dict()
    for at, bad in enumerate((math.nan, math.inf, -math.inf)):
        assert not monitor.ingest(SensorState(key=HEAP, state=bad), T0 + 60 + at)
    assert not monitor.ingest(SensorState(key=HEAP, state=1.0, missing_state=True), T0 + 70)
    assert monitor.analytics.to_dict() == before
    assert monitor.values["heap_free"] == 150_000.0


def test_unknown_keys_are_ignored() -> None:
    """States of entities that are no metric change nothing."""
    monitor = _monitor()
    assert not monitor.ingest(SensorState(key=999, state=1.0), T0)
