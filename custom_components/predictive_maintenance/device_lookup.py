"""Find the loaded entry of a device id given to a service (shared by service modules)."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr

from .const import DOMAIN
from .coordinator import DeviceCoordinator


def coordinator_for_device(hass: HomeAssistant, device_id: str) -> DeviceCoordinator:
    """Return the coordinator of a device of ours, or raise a translated error."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_device",
            translation_placeholders={"device_id": device_id},
        )
    name = device.name_by_user or device.name or device_id
    if not any(domain == DOMAIN for domain, _ in device.identifiers):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="not_our_device",
            translation_placeholders={"name": name},
        )
    for entry_id in device.config_entries:
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is not None and entry.domain == DOMAIN and entry.state is ConfigEntryState.LOADED:
            coordinator: DeviceCoordinator = entry.runtime_data
            return coordinator
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="device_not_loaded",
        translation_placeholders={"name": name},
    )
