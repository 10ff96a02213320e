"""The entities a simulated ESP32 exposes, as ESPHome's wifi_signal/uptime/debug components do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class EntityCategory(IntEnum):
    """Values of the api.proto EntityCategory enum."""

    NONE = 0
    CONFIG = 1
    DIAGNOSTIC = 2


class StateClass(IntEnum):
    """Values of the api.proto SensorStateClass enum."""

    NONE = 0
    MEASUREMENT = 1
    TOTAL_INCREASING = 2


def fnv1_hash(text: str) -> int:
    """32-bit FNV-1 (multiply, then xor), which ESPHome uses to derive entity keys."""
    value = 2166136261
    for byte in text.encode():
        value = (value * 16777619) & 0xFFFFFFFF
        value ^= byte
    return value


@dataclass(frozen=True, kw_only=True)
class SensorSpec:
    object_id: str
    name: str
    unit: str
    device_class: str
    accuracy_decimals: int
    state_class: StateClass = StateClass.MEASUREMENT
    icon: str = ""
    entity_category: EntityCategory = EntityCategory.DIAGNOSTIC

    @property
    def key(self) -> int:
        return fnv1_hash(self.object_id)


@dataclass(frozen=True, kw_only=True)
class TextSensorSpec:
    object_id: str
    name: str
    icon: str = ""
    entity_category: EntityCategory = EntityCategory.DIAGNOSTIC

    @property
    def key(self) -> int:
        return fnv1_hash(self.object_id)


@dataclass(frozen=True, kw_only=True)
class ButtonSpec:
    object_id: str
    name: str
    device_class: str = "restart"
    icon: str = ""
    entity_category: EntityCategory = EntityCategory.CONFIG

    @property
    def key(self) -> int:
        return fnv1_hash(self.object_id)


@dataclass(frozen=True, kw_only=True)
class SwitchSpec:
    object_id: str
    name: str
    icon: str = ""
    entity_category: EntityCategory = EntityCategory.CONFIG

    @property
    def key(self) -> int:
        return fnv1_hash(self.object_id)


WIFI_SIGNAL = "wifi_signal"
UPTIME = "uptime"
INTERNAL_TEMPERATURE = "internal_temperature"
HEAP_FREE = "heap_free"
HEAP_MAX_BLOCK = "heap_max_block"
HEAP_MIN_FREE = "heap_min_free"
LOOP_TIME = "loop_time"
RESET_REASON = "reset_reason"
RESTART_BUTTON = "restart"
SAFE_MODE_BUTTON = "safe_mode"

SENSORS: tuple[SensorSpec, ...] = (
    SensorSpec(
        object_id=WIFI_SIGNAL,
        name="WiFi Signal",
        unit="dBm",
        device_class="signal_strength",
        accuracy_decimals=0,
    ),
    SensorSpec(
        object_id=UPTIME,
        name="Uptime",
        unit="s",
        device_class="duration",
        accuracy_decimals=0,
        state_class=StateClass.TOTAL_INCREASING,
        icon="mdi:timer-outline",
    ),
    SensorSpec(
        object_id=INTERNAL_TEMPERATURE,
        name="Internal Temperature",
        unit="°C",
        device_class="temperature",
        accuracy_decimals=1,
    ),
    SensorSpec(
        object_id=HEAP_FREE,
        name="Heap Free",
        unit="B",
        device_class="data_size",
        accuracy_decimals=0,
        icon="mdi:counter",
    ),
    SensorSpec(
        object_id=HEAP_MAX_BLOCK,
        name="Heap Max Block",
        unit="B",
        device_class="data_size",
        accuracy_decimals=0,
        icon="mdi:counter",
    ),
    SensorSpec(
        object_id=HEAP_MIN_FREE,
        name="Heap Min Free",
        unit="B",
        device_class="data_size",
        accuracy_decimals=0,
        icon="mdi:counter",
    ),
    SensorSpec(
        object_id=LOOP_TIME,
        name="Loop Time",
        unit="ms",
        device_class="duration",
        accuracy_decimals=0,
        icon="mdi:timer-outline",
    ),
)
TEXT_SENSORS: tuple[TextSensorSpec, ...] = (
    TextSensorSpec(object_id=RESET_REASON, name="Reset Reason", icon="mdi:restart"),
)
BUTTONS: tuple[ButtonSpec, ...] = (
    ButtonSpec(object_id=RESTART_BUTTON, name="Restart"),
    ButtonSpec(object_id=SAFE_MODE_BUTTON, name="Safe Mode Boot", icon="mdi:restart-alert"),
)
METRICS: tuple[str, ...] = tuple(spec.object_id for spec in SENSORS)


def extra_sensor(object_id: str) -> SensorSpec:
    """A generic numeric sensor for a replayed metric that is not one of the standard ones."""
    return SensorSpec(
        object_id=object_id,
        name=object_id.replace("_", " ").title(),
        unit="",
        device_class="",
        accuracy_decimals=2,
        entity_category=EntityCategory.NONE,
    )
