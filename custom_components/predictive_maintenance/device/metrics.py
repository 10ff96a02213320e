"""Map an ESPHome device's entities to monitored metrics and reject implausible readings.

Pure functions over aioesphomeapi model objects: no I/O, no Home Assistant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from aioesphomeapi import EntityInfo, SensorInfo, TextSensorInfo

WIFI_SIGNAL: Final = "wifi_signal"
UPTIME: Final = "uptime"
INTERNAL_TEMPERATURE: Final = "internal_temperature"
HEAP_FREE: Final = "heap_free"
HEAP_MAX_BLOCK: Final = "heap_max_block"
HEAP_MIN_FREE: Final = "heap_min_free"
LOOP_TIME: Final = "loop_time"
RESET_REASON: Final = "reset_reason"

KNOWN_METRICS: Final = (
    WIFI_SIGNAL,
    UPTIME,
    INTERNAL_TEMPERATURE,
    HEAP_FREE,
    HEAP_MAX_BLOCK,
    HEAP_MIN_FREE,
    LOOP_TIME,
)

# Canonical unit of every known metric; device readings are converted to it.
METRIC_UNITS: Final[dict[str, str]] = {
    WIFI_SIGNAL: "dBm",
    UPTIME: "s",
    INTERNAL_TEMPERATURE: "°C",
    HEAP_FREE: "B",
    HEAP_MAX_BLOCK: "B",
    HEAP_MIN_FREE: "B",
    LOOP_TIME: "ms",
}

_DURATION_TO_SECONDS: Final = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_TO_MS: Final = {"ms": 1.0, "s": 1000.0, "µs": 0.001, "us": 0.001}
_BYTES_TO_B: Final = {
    "b": 1.0,
    "bytes": 1.0,
    "byte": 1.0,
    "kb": 1024.0,
    "kib": 1024.0,
    "kbytes": 1024.0,
}
_TEMPERATURE_UNITS: Final = {"°c", "c", "°f", "f"}
_INTERNAL_TEMPERATURE_HINTS: Final = ("internal", "esp32", "esp", "cpu", "chip", "core", "soc")

# The original ESP32's temperature sensor returns raw 128 °F on a failed read: 53.33 °C.
_ESP32_INVALID_TEMPERATURE_C: Final = (128.0 - 32.0) / 1.8
_ESP32_INVALID_TEMPERATURE_TOLERANCE: Final = 0.05
_VARIANT_BOARD = re.compile(
    r"esp32[-_]?(s2|s3|c2|c3|c5|c6|c61|h2|p4)|(^|[-_])(s2|s3|c2|c3|c5|c6|h2|p4)($|[-_])"
)


class MetricKind(StrEnum):
    """Whether a metric carries numbers or text."""

    NUMBER = "number"
    TEXT = "text"


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricBinding:
    """How one device entity feeds one metric."""

    key: int
    object_id: str
    metric: str
    kind: MetricKind
    unit: str | None
    scale: float = 1.0
    offset: float = 0.0
    # Readings travel as float32; rounding to the device's own precision undoes the noise.
    decimals: int | None = None


def bind_entities(entities: Iterable[EntityInfo]) -> dict[int, MetricBinding]:
    """Return the metric bindings of a device's entities, keyed by entity key.

    The first entity that looks like a known metric claims it; later look-alikes are
    monitored under their own object id, so no reading is silently merged with another.
    """
    bindings: dict[int, MetricBinding] = {}
    claimed: set[str] = set()
    for info in entities:
        binding = _bind_entity(info)
        if binding is None:
            continue
        if binding.metric in claimed:
            if binding.kind is MetricKind.TEXT:
                continue
            binding = _unknown_sensor(info, binding.unit)
            if binding.metric in claimed:
                continue
        claimed.add(binding.metric)
        bindings[info.key] = binding
    return bindings


def _bind_entity(info: EntityInfo) -> MetricBinding | None:
    object_id = info.object_id.lower()
    if isinstance(info, TextSensorInfo):
        if RESET_REASON in object_id:
            return MetricBinding(
                key=info.key,
                object_id=info.object_id,
                metric=RESET_REASON,
                kind=MetricKind.TEXT,
                unit=None,
            )
        return None
    if not isinstance(info, SensorInfo):
        return None
    return _bind_known_sensor(info, object_id) or _unknown_sensor(
        info, info.unit_of_measurement or None
    )


def _bind_known_sensor(info: SensorInfo, object_id: str) -> MetricBinding | None:
    unit = info.unit_of_measurement.strip()
    unit_key = unit.lower()
    device_class = info.device_class

    def known(metric: str, scale: float = 1.0, offset: float = 0.0) -> MetricBinding:
        return MetricBinding(
            key=info.key,
            object_id=info.object_id,
            metric=metric,
            kind=MetricKind.NUMBER,
            unit=METRIC_UNITS[metric],
            scale=scale,
            offset=offset,
            decimals=info.accuracy_decimals,
        )

    if unit_key == "dbm" and (
        "wifi" in object_id or object_id in {"rssi", "signal", "signal_strength"}
    ):
        return known(WIFI_SIGNAL)
    if "uptime" in object_id and (unit_key in _DURATION_TO_SECONDS or not unit):
        return known(UPTIME, _DURATION_TO_SECONDS.get(unit_key, 1.0))
    if "loop_time" in object_id and (unit_key in _DURATION_TO_MS or not unit):
        return known(LOOP_TIME, _DURATION_TO_MS.get(unit_key, 1.0))
    if (
        "temperature" in object_id
        and (device_class == "temperature" or unit_key in _TEMPERATURE_UNITS)
        and any(hint in object_id for hint in _INTERNAL_TEMPERATURE_HINTS)
    ):
        if unit_key in {"°f", "f"}:
            return known(INTERNAL_TEMPERATURE, 1 / 1.8, -32 / 1.8)
        return known(INTERNAL_TEMPERATURE)
    if unit_key in _BYTES_TO_B and "psram" not in object_id:
        heap_metric = _heap_metric(object_id)
        if heap_metric is not None:
            return known(heap_metric, _BYTES_TO_B[unit_key])
    return None


def _heap_metric(object_id: str) -> str | None:
    if "min_free" in object_id or "minimum_free" in object_id:
        return HEAP_MIN_FREE
    if "block" in object_id:
        return HEAP_MAX_BLOCK
    if "free" in object_id or object_id == "heap":
        return HEAP_FREE
    return None


def _unknown_sensor(info: EntityInfo, unit: str | None) -> MetricBinding:
    return MetricBinding(
        key=info.key,
        object_id=info.object_id,
        metric=info.object_id,
        kind=MetricKind.NUMBER,
        unit=unit,
        decimals=info.accuracy_decimals if isinstance(info, SensorInfo) else None,
    )


def is_original_esp32(model: str) -> bool:
    """Return whether a board name denotes the original ESP32 (not S2/S3/C3/...)."""
    board = model.strip().lower()
    if not board or "8266" in board:
        return False
    return _VARIANT_BOARD.search(board) is None


def plausible_value(
    binding: MetricBinding,
    raw: float,
    *,
    missing: bool = False,
    original_esp32: bool = False,
) -> float | None:
    """Convert a reading to its canonical unit, or return None when it is no reading at all.

    None covers failed reads (missing, NaN, inf) and the sentinels ESPHome publishes before a
    sensor has a real value, so they never reach a model or an entity.
    """
    if missing or isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    if not math.isfinite(raw):
        return None
    if binding.decimals is not None and binding.decimals >= 0:
        raw = round(raw, binding.decimals)
    value = raw * binding.scale + binding.offset
    metric = binding.metric
    if metric == WIFI_SIGNAL:
        # -127 dBm is "not connected yet"; real RSSI lies in (-120, 0).
        return value if -120.0 <= value < 0.0 else None
    if metric == INTERNAL_TEMPERATURE:
        if original_esp32 and (
            abs(value - _ESP32_INVALID_TEMPERATURE_C) < _ESP32_INVALID_TEMPERATURE_TOLERANCE
        ):
            return None
        return value if -40.0 <= value <= 125.0 else None
    if metric in {UPTIME, HEAP_FREE, HEAP_MAX_BLOCK, HEAP_MIN_FREE, LOOP_TIME}:
        return value if value >= 0.0 else None
    return value


def plausible_text(raw: str, *, missing: bool = False) -> str | None:
    """Return a text reading, or None when the device sent no usable text."""
    if missing:
        return None
    text = raw.strip()
    return text or None
