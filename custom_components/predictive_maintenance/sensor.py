"""Health, risk and raw metric sensors of a monitored device."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfInformation,
    UnitOfTemperature,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .analytics import RiskLevel
from .coordinator import DeviceSnapshot, PredictiveMaintenanceConfigEntry
from .entity import PredictiveMaintenanceEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PredictiveMaintenanceSensorEntityDescription(SensorEntityDescription):
    """Describes a sensor that renders one value of the device snapshot."""

    value_fn: Callable[[DeviceSnapshot], StateType]
    attributes_fn: Callable[[DeviceSnapshot], dict[str, Any]] | None = None


def _health_attributes(snapshot: DeviceSnapshot) -> dict[str, Any]:
    report = snapshot.report
    return {
        # Rounded so attribute noise does not write a new state on every push.
        "components": {name: round(value, 1) for name, value in report.components.items()},
        "most_affected_metric": report.most_affected_metric,
        "not_reporting": snapshot.not_reporting,
    }


def _risk_attributes(snapshot: DeviceSnapshot) -> dict[str, Any]:
    report = snapshot.report
    return {
        "recommendations": list(report.recommendations),
        "metrics_affected": list(report.metrics_affected),
        "reboots_24h": report.reboots_24h,
        "crashes_24h": report.crashes_24h,
    }


def _time_to_failure(snapshot: DeviceSnapshot) -> float | None:
    hours = snapshot.report.time_to_failure_hours
    return None if hours is None else round(hours, 1)


HEALTH_SENSORS: tuple[PredictiveMaintenanceSensorEntityDescription, ...] = (
    PredictiveMaintenanceSensorEntityDescription(
        key="health_score",
        translation_key="health_score",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda snapshot: round(snapshot.report.health_score, 1),
        attributes_fn=_health_attributes,
    ),
    PredictiveMaintenanceSensorEntityDescription(
        key="risk_level",
        translation_key="risk_level",
        device_class=SensorDeviceClass.ENUM,
        options=[str(level) for level in RiskLevel],
        value_fn=lambda snapshot: str(snapshot.report.risk_level),
        attributes_fn=_risk_attributes,
    ),
    PredictiveMaintenanceSensorEntityDescription(
        key="anomaly_count",
        translation_key="anomaly_count",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda snapshot: snapshot.report.anomaly_count,
    ),
    PredictiveMaintenanceSensorEntityDescription(
        key="failure_probability",
        translation_key="failure_probability",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda snapshot: round(snapshot.report.failure_probability * 100.0, 1),
    ),
    PredictiveMaintenanceSensorEntityDescription(
        key="time_to_failure",
        translation_key="time_to_failure",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        suggested_display_precision=1,
        value_fn=_time_to_failure,
    ),
)


def _metric(name: str) -> Callable[[DeviceSnapshot], StateType]:
    def value(snapshot: DeviceSnapshot) -> StateType:
        return snapshot.metrics.get(name)

    return value


def _metric_sensor(
    *,
    translation_key: str,
    unit: str,
    device_class: SensorDeviceClass,
    precision: int,
) -> PredictiveMaintenanceSensorEntityDescription:
    # Raw readings duplicate the ESPHome integration's own entities; they are here to
    # show what the models see (after the plausibility filters), so off by default.
    return PredictiveMaintenanceSensorEntityDescription(
        key=translation_key,
        translation_key=translation_key,
        native_unit_of_measurement=unit,
        device_class=device_class,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=precision,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_metric(translation_key),
    )


# Keys are the canonical metric names of device.metrics.
METRIC_SENSORS: tuple[PredictiveMaintenanceSensorEntityDescription, ...] = (
    _metric_sensor(
        translation_key="wifi_signal",
        unit=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        precision=0,
    ),
    _metric_sensor(
        translation_key="internal_temperature",
        unit=UnitOfTemperature.CELSIUS,
        device_class=SensorDeviceClass.TEMPERATURE,
        precision=1,
    ),
    _metric_sensor(
        translation_key="heap_free",
        unit=UnitOfInformation.BYTES,
        device_class=SensorDeviceClass.DATA_SIZE,
        precision=0,
    ),
    _metric_sensor(
        translation_key="heap_max_block",
        unit=UnitOfInformation.BYTES,
        device_class=SensorDeviceClass.DATA_SIZE,
        precision=0,
    ),
    _metric_sensor(
        translation_key="heap_min_free",
        unit=UnitOfInformation.BYTES,
        device_class=SensorDeviceClass.DATA_SIZE,
        precision=0,
    ),
    _metric_sensor(
        translation_key="loop_time",
        unit=UnitOfTime.MILLISECONDS,
        device_class=SensorDeviceClass.DURATION,
        precision=0,
    ),
    _metric_sensor(
        translation_key="uptime",
        unit=UnitOfTime.SECONDS,
        device_class=SensorDeviceClass.DURATION,
        precision=0,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PredictiveMaintenanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of one monitored device."""
    coordinator = entry.runtime_data
    async_add_entities(
        PredictiveMaintenanceSensor(coordinator, description)
        for description in (*HEALTH_SENSORS, *METRIC_SENSORS)
    )


class PredictiveMaintenanceSensor(PredictiveMaintenanceEntity, SensorEntity):
    """A sensor rendering one value of the device snapshot."""

    entity_description: PredictiveMaintenanceSensorEntityDescription

    @property
    def native_value(self) -> StateType:
        """Return the value from the latest snapshot."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return explanatory attributes where the description defines them."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator.data)
