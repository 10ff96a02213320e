"""Base entity: one device per config entry, available while the device is online."""

from __future__ import annotations

from homeassistant.helpers.device_registry import CONNECTION_NETWORK_MAC, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import DeviceCoordinator


class PredictiveMaintenanceEntity(CoordinatorEntity[DeviceCoordinator]):
    """An entity rendering part of a device's snapshot."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: DeviceCoordinator, description: EntityDescription) -> None:
        """Attach the entity to the coordinator's device."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.mac}_{description.key}"
        details = coordinator.data.details
        info = DeviceInfo(
            identifiers={(DOMAIN, coordinator.mac)},
            connections={(CONNECTION_NETWORK_MAC, coordinator.mac)},
            name=coordinator.config_entry.title,
        )
        if details is not None:
            manufacturer, model = details.maker_and_model
            info["manufacturer"] = manufacturer
            info["model"] = model
            info["sw_version"] = details.sw_version
        self._attr_device_info = info

    @property
    def available(self) -> bool:
        """Return True while the device is connected."""
        return super().available and self.coordinator.data.online
