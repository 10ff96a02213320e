"""Recovery event entity: one per device, fired at every start and outcome of a recovery."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import DeviceCoordinator, PredictiveMaintenanceConfigEntry
from .entity import PredictiveMaintenanceEntity
from .healer import PHASE_FAILED, PHASE_STARTED, PHASE_SUCCEEDED, signal_recovery

PARALLEL_UPDATES = 0

EVENT_TYPES: Final = {
    PHASE_STARTED: "recovery_started",
    PHASE_SUCCEEDED: "recovery_succeeded",
    PHASE_FAILED: "recovery_failed",
}

RECOVERY_EVENT = EventEntityDescription(
    key="recovery",
    translation_key="recovery",
    event_types=["recovery_started", "recovery_succeeded", "recovery_failed"],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PredictiveMaintenanceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the recovery event entity of one monitored device."""
    async_add_entities([RecoveryEventEntity(entry.runtime_data, RECOVERY_EVENT)])


class RecoveryEventEntity(PredictiveMaintenanceEntity, EventEntity):
    """Fires recovery_started / recovery_succeeded / recovery_failed."""

    def __init__(self, coordinator: DeviceCoordinator, description: EventEntityDescription) -> None:
        """Attach to the device."""
        super().__init__(coordinator, description)

    @property
    def available(self) -> bool:
        """Stay available: a recovery often ends while the device is offline."""
        return True

    async def async_added_to_hass(self) -> None:
        """Listen for the device's recovery events."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_recovery(self.coordinator.config_entry.entry_id),
                self._async_on_recovery,
            )
        )

    @callback
    def _async_on_recovery(self, phase: str, data: dict[str, Any]) -> None:
        event_type = EVENT_TYPES.get(phase)
        if event_type is None:
            return
        attributes = {
            key: data[key] for key in ("issue_type", "subtype", "action", "trigger", "details")
        }
        self._trigger_event(event_type, attributes)
        self.async_write_ha_state()
