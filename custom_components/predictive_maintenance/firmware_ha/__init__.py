"""Firmware patching, Home Assistant side: manager, validation, rollback, audit, rollout."""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from custom_components.predictive_maintenance.const import DOMAIN
from custom_components.predictive_maintenance.coordinator import PredictiveMaintenanceConfigEntry

from .manager import FirmwareManager, rollback_issue_id
from .models import FirmwareTiming, Outcome, Stage, StageName, StageStatus, UpdateResult
from .rollout import interrupt_running

DATA_FIRMWARE: HassKey[FirmwareManager] = HassKey(f"{DOMAIN}_firmware")

__all__ = [
    "DATA_FIRMWARE",
    "FirmwareManager",
    "FirmwareTiming",
    "Outcome",
    "Stage",
    "StageName",
    "StageStatus",
    "UpdateResult",
    "async_remove_firmware_entry",
    "async_setup_firmware",
    "async_setup_firmware_entry",
    "firmware_manager",
]


async def async_setup_firmware(hass: HomeAssistant) -> FirmwareManager:
    """Create the manager once (async_setup) and load its state and catalogue."""
    if (manager := hass.data.get(DATA_FIRMWARE)) is not None:
        return manager
    manager = hass.data[DATA_FIRMWARE] = FirmwareManager(hass)
    await manager.async_setup()
    if interrupt_running(manager.store.rollouts):
        # A rollout that was running when Home Assistant stopped waits for rollout_resume.
        await manager.store.async_save()
    return manager


def firmware_manager(hass: HomeAssistant) -> FirmwareManager:
    """Return the manager; it exists once async_setup ran."""
    if (manager := hass.data.get(DATA_FIRMWARE)) is None:
        raise HomeAssistantError("the firmware manager is not set up")
    return manager


@callback
def async_setup_firmware_entry(
    hass: HomeAssistant, entry: PredictiveMaintenanceConfigEntry
) -> None:
    """Follow the entry's reported firmware version (device-side rollback detection)."""
    manager = hass.data.get(DATA_FIRMWARE)
    if manager is None:
        return
    coordinator = entry.runtime_data

    @callback
    def on_update() -> None:
        manager.async_track(coordinator)

    entry.async_on_unload(coordinator.async_add_listener(on_update))


async def async_remove_firmware_entry(
    hass: HomeAssistant, entry: PredictiveMaintenanceConfigEntry
) -> None:
    """Forget a removed device's kept images and firmware state; the audit log stays."""
    ir.async_delete_issue(hass, DOMAIN, rollback_issue_id(entry.entry_id))
    manager = hass.data.get(DATA_FIRMWARE)
    if manager is None or entry.unique_id is None:
        return
    mac = dr.format_mac(entry.unique_id)
    await manager.backups.async_remove(mac)
    if manager.store.devices.pop(mac, None) is not None:
        await manager.store.async_save()
