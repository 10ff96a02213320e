"""Failure limits and warning thresholds of the canonical ESP32 metrics."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MetricLimit:
    """Where a metric becomes a problem.

    falls: True when failure means the value falling to ``failure`` (heap, RSSI),
        False when it means rising to it (temperature, loop time).
    """

    falls: bool
    warning: float
    failure: float
    unit: str
    action: str

    def state(self, value: float) -> int:
        """0 normal, 1 warning, 2 at or past the failure limit."""
        if self.falls:
            return 2 if value <= self.failure else 1 if value <= self.warning else 0
        return 2 if value >= self.failure else 1 if value >= self.warning else 0

    def headroom(self, value: float) -> float:
        """Distance to the failure limit in the metric's unit (negative once past it)."""
        return value - self.failure if self.falls else self.failure - value


LIMITS: dict[str, MetricLimit] = {
    "heap_free": MetricLimit(
        True,
        40_000.0,
        20_000.0,
        "B",
        "likely memory leak: schedule a restart and review recent firmware changes",
    ),
    "heap_max_block": MetricLimit(
        True,
        10_240.0,
        4_096.0,
        "B",
        "heap fragmentation: restart the device and reduce dynamic allocations",
    ),
    "heap_min_free": MetricLimit(
        True,
        16_384.0,
        8_192.0,
        "B",
        "memory headroom exhausted at peaks: defer OTA updates and reduce load",
    ),
    "internal_temperature": MetricLimit(
        False, 70.0, 80.0, "°C", "overheating: improve ventilation or reduce CPU load"
    ),
    "wifi_signal": MetricLimit(
        True,
        -80.0,
        -90.0,
        "dBm",
        "weak Wi-Fi: move the device or the access point, or add an antenna",
    ),
    "loop_time": MetricLimit(
        False,
        50.0,
        200.0,
        "ms",
        "main loop blocked: look for components that 'took a long time' in the logs",
    ),
}

FRAGMENTATION_RATIO = 0.10  # largest block below this share of free heap = fragmented


def limit_for(metric: str) -> MetricLimit | None:
    """The limit of a canonical metric, or None for metrics without one."""
    return LIMITS.get(metric)
