"""Wire self-healing into an entry's lifecycle: store, healer, policy listener."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from .audit import HealingStore
from .auto_recovery import AutoRecovery
from .const import DOMAIN
from .coordinator import PredictiveMaintenanceConfigEntry
from .healer import DeviceHealer, HealingRuntime


def healing_runtime(hass: HomeAssistant) -> HealingRuntime:
    """Return the integration-wide self-healing state (created on first use)."""
    runtime = hass.data.get(DOMAIN)
    if not isinstance(runtime, HealingRuntime):
        runtime = hass.data[DOMAIN] = HealingRuntime()
    return runtime


async def async_setup_healing(hass: HomeAssistant, entry: PredictiveMaintenanceConfigEntry) -> None:
    """Load the entry's audit log and start its policy listener."""
    store = HealingStore(hass, entry.entry_id)
    await store.async_load()
    runtime = healing_runtime(hass)
    healer = DeviceHealer(hass, entry, store, runtime)
    runtime.healers[entry.entry_id] = healer
    entry.async_on_unload(AutoRecovery(hass, healer).start())


async def async_unload_healing(
    hass: HomeAssistant, entry: PredictiveMaintenanceConfigEntry
) -> None:
    """Forget the entry's healer and save its audit log."""
    healer = healing_runtime(hass).healers.pop(entry.entry_id, None)
    if healer is not None:
        await healer.store.async_save()


async def async_remove_healing(hass: HomeAssistant, entry_id: str) -> None:
    """Delete the audit log of a removed entry."""
    await HealingStore(hass, entry_id).async_remove()
