"""Move a monitored device over to the board that replaced it (C06 "follow").

The entry, its Home Assistant device and its entities keep their ids, so entity ids,
history and customisations stay. What the models learned about the old chip's
temperature, radio and heap does not describe the new one, so those baselines warm up
again; everything else (anomaly and reboot history, loop time) carries on.
"""

from __future__ import annotations

from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er

from .const import DOMAIN
from .device.metrics import (
    HEAP_FREE,
    HEAP_MAX_BLOCK,
    HEAP_MIN_FREE,
    INTERNAL_TEMPERATURE,
    WIFI_SIGNAL,
)
from .storage import DeviceStore, serialize

HARDWARE_METRICS: Final = (
    INTERNAL_TEMPERATURE,
    WIFI_SIGNAL,
    HEAP_FREE,
    HEAP_MAX_BLOCK,
    HEAP_MIN_FREE,
)


async def async_follow_new_board(hass: HomeAssistant, entry: ConfigEntry, new_mac: str) -> None:
    """Re-key the entry, its device and entities to new_mac and restart the hardware baselines.

    The entry is unloaded while this happens (so the saved models are final and no entity
    is live while its unique id changes) and set up again at the end.
    """
    old_mac = dr.format_mac(entry.unique_id) if entry.unique_id else entry.entry_id
    new_mac = dr.format_mac(new_mac)
    await hass.config_entries.async_unload(entry.entry_id)

    store = DeviceStore(hass, entry.entry_id)
    saved = await store.async_load()
    if saved.analytics is not None:
        saved.analytics.reset_metrics(HARDWARE_METRICS)
        saved.analytics.device_id = new_mac
        # The new board's uptime has nothing to do with the old one's: no reboot to infer.
        await store.async_save(serialize(saved.analytics, None))

    device_registry = dr.async_get(hass)
    device = device_registry.async_get_device(identifiers={(DOMAIN, old_mac)})
    if device is not None:
        device_registry.async_update_device(
            device.id,
            new_identifiers={(DOMAIN, new_mac)},
            new_connections={(dr.CONNECTION_NETWORK_MAC, new_mac)},
        )

    entity_registry = er.async_get(hass)
    prefix = f"{old_mac}_"
    for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        if entity.unique_id.startswith(prefix):
            entity_registry.async_update_entity(
                entity.entity_id, new_unique_id=f"{new_mac}_{entity.unique_id[len(prefix) :]}"
            )

    hass.config_entries.async_update_entry(entry, unique_id=new_mac)
    await hass.config_entries.async_setup(entry.entry_id)
