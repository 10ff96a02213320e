"""Recovery events: the event entity, the bus event, and the persisted audit log."""

from __future__ import annotations

import json

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.predictive_maintenance.const import DOMAIN, EVENT_RECOVERY
from custom_components.predictive_maintenance.event import RECOVERY_EVENT

from .conftest import EntryFactory, SimDeviceFactory
from .healing_helpers import call, device_id, healer_of, monitored, push
from .helpers import wait_for

MAC = "02:00:00:00:42:01"
PSK = "px7tsbK3C7bpXHr2OevEV2ZMg/FrNBw2+O2pNPbedtA="


def event_entity_id(hass: HomeAssistant) -> str:
    """Return the id of the device's recovery event entity."""
    found = er.async_get(hass).async_get_entity_id("event", DOMAIN, f"{MAC.lower()}_recovery")
    assert found is not None
    return found


async def test_event_entity_and_bus_event_follow_a_recovery(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """recovery_started then recovery_succeeded / recovery_failed, on the entity and the bus."""
    events = async_capture_events(hass, EVENT_RECOVERY)
    device, _entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    entity_id = event_entity_id(hass)
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["event_types"] == list(RECOVERY_EVENT.event_types or [])
    assert state.attributes["friendly_name"] == "esp-sim Recovery"

    device.set_value("heap_free", 18_000.0, until_reboot=True)
    await push(device, coordinator)
    dev_id = device_id(hass, MAC)
    await call(hass, "recover", {"device_id": dev_id, "issue_type": "memory"})
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["event_type"] == "recovery_succeeded"
    assert state.attributes["issue_type"] == "memory"
    assert state.attributes["action"] == "restart"
    assert [e.data["phase"] for e in events] == ["started", "succeeded"]
    started = events[0].data
    assert started["device_id"] == dev_id
    assert started["issue_type"] == "memory"
    assert started["subtype"] == "low_heap"
    assert started["action"] == "restart"
    assert started["trigger"] == "service"

    device.set_value("heap_free", 18_000.0)  # not cured by a restart
    await push(device, coordinator)
    await call(hass, "recover", {"device_id": dev_id, "issue_type": "memory"})
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes["event_type"] == "recovery_failed"
    assert [e.data["phase"] for e in events][-1] == "failed"
    assert "no improvement" in events[-1].data["details"]


async def test_audit_log_persists_across_reload_and_shows_in_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
) -> None:
    """Every attempt and outcome is kept; a reload keeps it; diagnostics show it, no key."""
    _device, entry, coordinator = await monitored(
        hass, sim_device, setup_entry, mac=MAC, noise_psk=PSK
    )
    await call(hass, "recover", {"device_id": device_id(hass, MAC), "issue_type": "crash_loop"})
    await call(hass, "recover", {"device_id": device_id(hass, MAC), "issue_type": "thermal"})
    phases = [e["phase"] for e in healer_of(hass, entry).store.audit]
    assert phases == ["started", "succeeded", "unavailable"]

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for(lambda: entry.runtime_data.link.connected, what="connected after reload")
    assert entry.runtime_data is not coordinator
    audit = list(healer_of(hass, entry).store.audit)
    assert [e["phase"] for e in audit] == phases
    assert audit[1]["actions"][0]["action"] == "safe_mode"

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    healing = diagnostics["self_healing"]
    assert [e["phase"] for e in healing["audit_log"]] == phases
    assert healing["policy_history"]["attempts"]
    assert PSK not in json.dumps(diagnostics)
