"""Predictive Maintenance for ESPHome devices."""

from __future__ import annotations

from homeassistant.components import zeroconf
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .coordinator import DeviceCoordinator, PredictiveMaintenanceConfigEntry
from .device.link import ZeroconfInstance
from .firmware_ha import (
    async_remove_firmware_entry,
    async_setup_firmware,
    async_setup_firmware_entry,
)
from .firmware_services import async_setup_firmware_services
from .issues import DeviceIssues
from .self_healing import (
    async_remove_healing,
    async_setup_healing,
    async_unload_healing,
    healing_runtime,
)
from .services import async_setup_services
from .storage import DeviceStore

PLATFORMS: list[Platform] = [Platform.EVENT, Platform.SENSOR, Platform.UPDATE]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Set up the integration: the self-healing services and their shared state."""
    healing_runtime(hass)
    async_setup_services(hass)
    await async_setup_firmware(hass)
    async_setup_firmware_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: PredictiveMaintenanceConfigEntry) -> bool:
    """Start monitoring one device.

    Setup never waits for the device: the link keeps reconnecting in the background and
    the entities are unavailable until the device answers.
    """
    store = DeviceStore(hass, entry.entry_id)
    coordinator = DeviceCoordinator(
        hass,
        entry,
        store=store,
        saved=await store.async_load(),
        zeroconf_instance=await _async_shared_zeroconf(hass),
    )
    entry.runtime_data = coordinator
    await coordinator.async_start()
    await async_setup_healing(hass, entry)
    async_setup_firmware_entry(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: PredictiveMaintenanceConfigEntry) -> bool:
    """Stop monitoring: close the connection and save what was learned."""
    unload_ok = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unload_ok:
        await async_unload_healing(hass, entry)
        await entry.runtime_data.async_stop()
        # Faults of a device nobody watches cannot be told to clear; setup raises them again.
        DeviceIssues(hass, entry).clear_all()
    return unload_ok


async def async_remove_entry(hass: HomeAssistant, entry: PredictiveMaintenanceConfigEntry) -> None:
    """Forget the learned models of a removed device."""
    await DeviceStore(hass, entry.entry_id).async_remove()
    await async_remove_healing(hass, entry.entry_id)
    await async_remove_firmware_entry(hass, entry)
    DeviceIssues(hass, entry).clear_all()


async def _async_shared_zeroconf(hass: HomeAssistant) -> ZeroconfInstance | None:
    # Zeroconf loads before integrations in production; without it (tests, minimal
    # installs) the link works by IP and ReconnectLogic starts no mDNS listener.
    if "zeroconf" not in hass.config.components:
        return None
    return await zeroconf.async_get_instance(hass)
