"""Entity-to-metric mapping and plausibility filters (C08); pure, no Home Assistant."""

from __future__ import annotations

import math

import pytest
from aioesphomeapi import ButtonInfo, SensorInfo, TextSensorInfo

from custom_components.predictive_maintenance.device.metrics import (
    HEAP_FREE,
    HEAP_MAX_BLOCK,
    HEAP_MIN_FREE,
    INTERNAL_TEMPERATURE,
    LOOP_TIME,
    RESET_REASON,
    UPTIME,
    WIFI_SIGNAL,
    MetricBinding,
    MetricKind,
    bind_entities,
    is_original_esp32,
    plausible_text,
    plausible_value,
)


def _sensor(object_id: str, unit: str = "", device_class: str = "", key: int = 1) -> SensorInfo:
    return SensorInfo(
        object_id=object_id,
        key=key,
        name=object_id,
        unit_of_measurement=unit,
        device_class=device_class,
        accuracy_decimals=1,
    )


@pytest.mark.parametrize(
    ("object_id", "unit", "device_class", "metric"),
    [
        ("wifi_signal", "dBm", "signal_strength", WIFI_SIGNAL),
        ("living_room_wifi_signal", "dBm", "signal_strength", WIFI_SIGNAL),
        ("wifi_signal_db", "dBm", "", WIFI_SIGNAL),
        ("rssi", "dBm", "signal_strength", WIFI_SIGNAL),
        ("uptime", "s", "duration", UPTIME),
        ("kitchen_uptime", "min", "duration", UPTIME),
        ("internal_temperature", "°C", "temperature", INTERNAL_TEMPERATURE),
        ("esp32_temperature", "°C", "temperature", INTERNAL_TEMPERATURE),
        ("cpu_temperature", "°F", "", INTERNAL_TEMPERATURE),
        ("free", "B", "data_size", HEAP_FREE),
        ("heap_free", "B", "data_size", HEAP_FREE),
        ("block", "B", "data_size", HEAP_MAX_BLOCK),
        ("max_block", "B", "", HEAP_MAX_BLOCK),
        ("largest_free_block", "B", "", HEAP_MAX_BLOCK),
        ("heap_max_block", "B", "data_size", HEAP_MAX_BLOCK),
        ("min_free", "B", "data_size", HEAP_MIN_FREE),
        ("heap_min_free", "kB", "data_size", HEAP_MIN_FREE),
        ("loop_time", "ms", "duration", LOOP_TIME),
        ("my_device_loop_time", "ms", "", LOOP_TIME),
    ],
)
def test_known_metrics_by_object_id_class_and_unit(
    object_id: str, unit: str, device_class: str, metric: str
) -> None:
    """Real-world object ids of the ESPHome health components map to canonical metrics."""
    (binding,) = bind_entities([_sensor(object_id, unit, device_class)]).values()
    assert binding.metric == metric
    assert binding.kind is MetricKind.NUMBER


def test_units_are_converted_to_canonical() -> None:
    """Minutes, kilobytes and Fahrenheit become seconds, bytes and Celsius."""
    bindings = bind_entities(
        [
            _sensor("uptime", "min", key=1),
            _sensor("heap_free", "kB", key=2),
            _sensor("internal_temperature", "°F", key=3),
        ]
    )
    assert plausible_value(bindings[1], 2.0) == 120.0
    assert plausible_value(bindings[2], 100.0) == 102400.0
    assert plausible_value(bindings[3], 212.0) == pytest.approx(100.0)
    assert bindings[1].unit == "s"
    assert bindings[2].unit == "B"
    assert bindings[3].unit == "°C"


def test_unknown_and_unrelated_entities() -> None:
    """Unknown numeric sensors are monitored by object id; buttons and other text are not."""
    bindings = bind_entities(
        [
            _sensor("fragmentation", "%", key=1),
            _sensor("room_temperature", "°C", "temperature", key=2),
            _sensor("psram_free", "B", "data_size", key=3),
            ButtonInfo(object_id="restart", key=4, name="Restart"),
            TextSensorInfo(object_id="device", key=5, name="Device"),
            TextSensorInfo(object_id="reset_reason", key=6, name="Reset Reason"),
        ]
    )
    assert {b.key: b.metric for b in bindings.values()} == {
        1: "fragmentation",
        2: "room_temperature",
        3: "psram_free",
        6: RESET_REASON,
    }
    assert bindings[6].kind is MetricKind.TEXT
    assert bindings[1].unit == "%"


def test_second_look_alike_keeps_its_own_name() -> None:
    """Two Wi-Fi sensors never merge into one metric: the second keeps its object id."""
    bindings = bind_entities(
        [_sensor("wifi_signal", "dBm", key=1), _sensor("backup_wifi_signal", "dBm", key=2)]
    )
    assert bindings[1].metric == WIFI_SIGNAL
    assert bindings[2].metric == "backup_wifi_signal"


def _binding(metric: str, decimals: int | None = None) -> MetricBinding:
    return MetricBinding(
        key=1, object_id=metric, metric=metric, kind=MetricKind.NUMBER, unit=None, decimals=decimals
    )


@pytest.mark.parametrize(
    ("rssi", "expected"),
    [(-51.0, -51.0), (-120.0, -120.0), (-127.0, None), (-121.0, None), (0.0, None), (5.0, None)],
)
def test_rssi_sentinels_are_no_reading(rssi: float, expected: float | None) -> None:
    """-127 dBm and any RSSI >= 0 or < -120 dBm is "no reading" (C08)."""
    assert plausible_value(_binding(WIFI_SIGNAL), rssi) == expected


def test_esp32_raw_128_temperature_is_invalid_only_on_the_original_chip() -> None:
    """53.3 °C (raw 128 °F) is dropped on an original ESP32 and kept on other chips (C08)."""
    temperature = _binding(INTERNAL_TEMPERATURE, decimals=1)
    for reading in (53.3, 53.33, 53.333333):
        assert plausible_value(temperature, reading, original_esp32=True) is None
        assert plausible_value(temperature, reading, original_esp32=False) == round(reading, 1)
    assert plausible_value(temperature, 44.4, original_esp32=True) == 44.4
    assert plausible_value(temperature, 53.5, original_esp32=True) == 53.5
    assert plausible_value(temperature, 139.0) is None


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    "metric", [WIFI_SIGNAL, INTERNAL_TEMPERATURE, HEAP_FREE, LOOP_TIME, UPTIME, "custom"]
)
def test_non_finite_and_missing_are_rejected(metric: str, bad: float) -> None:
    """NaN, inf and states flagged missing never become a value (C08)."""
    assert plausible_value(_binding(metric), bad) is None
    assert plausible_value(_binding(metric), 42.0 if metric != WIFI_SIGNAL else -42.0) is not None
    assert plausible_value(_binding(metric), -42.0, missing=True) is None


def test_negative_counters_are_rejected() -> None:
    """Heap sizes, loop times and uptime cannot be negative."""
    for metric in (HEAP_FREE, HEAP_MAX_BLOCK, HEAP_MIN_FREE, LOOP_TIME, UPTIME):
        assert plausible_value(_binding(metric), -1.0) is None


def test_float32_noise_is_rounded_to_the_device_precision() -> None:
    """40.7000007629395 from the wire is 40.7, as the device meant it."""
    assert plausible_value(_binding(INTERNAL_TEMPERATURE, decimals=1), 40.7000007629395) == 40.7


@pytest.mark.parametrize(
    ("model", "original"),
    [
        ("esp32dev", True),
        ("nodemcu-32s", True),
        ("m5stack-core-esp32", True),
        ("esp32-s3-devkitc-1", False),
        ("esp32s3box", False),
        ("esp32-c3-devkitm-1", False),
        ("esp32-c6-devkitc-1", False),
        ("lolin_s2_mini", False),
        ("d1_mini_esp8266", False),
        ("", False),
    ],
)
def test_original_esp32_detection(model: str, original: bool) -> None:
    """Board names of S2/S3/C3/C6/H2 variants are not the original ESP32."""
    assert is_original_esp32(model) is original


def test_text_readings() -> None:
    """Empty or missing reset reasons are no reading."""
    assert plausible_text(" Power on ") == "Power on"
    assert plausible_text("") is None
    assert plausible_text("Exception", missing=True) is None
