"""Setup, unload and availability of a monitored device."""

from __future__ import annotations

import logging

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component

from custom_components.predictive_maintenance.const import DOMAIN
from custom_components.predictive_maintenance.coordinator import (
    PUBLISH_INTERVAL,
    DeviceCoordinator,
)
from custom_components.predictive_maintenance.device.link import UnknownCommandError

from .conftest import EntryFactory, SimDeviceFactory
from .helpers import entity_id, push_and_wait, state, state_value, wait_for

MAC = "02:00:00:00:01:01"


def _available(hass: HomeAssistant, mac: str = MAC) -> bool:
    return state_value(hass, mac, "health_score") not in (None, STATE_UNAVAILABLE)


async def test_setup_and_unload(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """The entry connects, renders the health sensors and closes the connection on unload."""
    device = await sim_device(name="esp-setup", friendly_name="ESP Setup", mac=MAC)
    entry = await setup_entry(device)
    assert entry.state is ConfigEntryState.LOADED
    await device.wait_for_subscribers(1)
    await wait_for(lambda: _available(hass), what="health score available")

    assert state_value(hass, MAC, "risk_level") == "low"
    risk = state(hass, MAC, "risk_level")
    assert risk is not None
    assert risk.attributes["options"] == ["low", "medium", "high", "critical"]
    assert float(state_value(hass, MAC, "health_score") or "nan") > 50
    assert state_value(hass, MAC, "anomaly_count") == "0"

    device_entry = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, dr.format_mac(MAC))})
    assert device_entry is not None
    assert device_entry.name == "ESP Setup"
    assert device_entry.manufacturer == "acme"
    assert device_entry.model == "env_sensor"
    assert device_entry.sw_version == "1.0.0 (ESPHome 2025.4.0)"
    assert (dr.CONNECTION_NETWORK_MAC, dr.format_mac(MAC)) in device_entry.connections

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    await device.wait_for_clients(0)
    assert state_value(hass, MAC, "health_score") == STATE_UNAVAILABLE


@pytest.mark.usefixtures("enable_all_entities")
async def test_metric_sensors_follow_the_device(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Raw metric sensors show what the device pushes, in canonical units."""
    device = await sim_device(mac=MAC)
    await setup_entry(device)
    await device.wait_for_subscribers(1)
    values = device.values
    await wait_for(
        lambda: state_value(hass, MAC, "heap_free") == str(values["heap_free"]),
        what="heap_free from the device",
    )
    assert state_value(hass, MAC, "wifi_signal") == str(values["wifi_signal"])
    assert state_value(hass, MAC, "internal_temperature") == str(values["internal_temperature"])
    assert state_value(hass, MAC, "uptime") == str(values["uptime"])

    device.advance(60)
    await device.push_states()
    later = device.values
    await wait_for(
        lambda: state_value(hass, MAC, "uptime") == str(later["uptime"]),
        what="uptime after a push",
    )


async def test_restart_makes_entities_unavailable_then_available(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device restart takes the entities offline; they return after the reconnect."""
    caplog.set_level(logging.INFO, logger="custom_components.predictive_maintenance")
    device = await sim_device(mac=MAC)
    await setup_entry(device)
    await wait_for(lambda: _available(hass), what="available")

    await device.restart()
    await wait_for(lambda: not _available(hass), what="unavailable after restart")
    await device.wait_online()
    await wait_for(lambda: _available(hass), hass=hass, fire_timers=True, what="back")

    assert caplog.text.count("Lost connection to") == 1
    assert caplog.text.count("is back online") == 1


async def test_device_down_at_setup_comes_up_later(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Setup succeeds while the device is down; entities become available once it answers."""
    device = await sim_device(mac=MAC)
    await device.go_offline()
    entry = await setup_entry(device)
    assert entry.state is ConfigEntryState.LOADED
    assert state_value(hass, MAC, "health_score") == STATE_UNAVAILABLE

    await device.come_back()
    await wait_for(lambda: _available(hass), hass=hass, fire_timers=True, what="available")


async def test_state_writes_are_throttled(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """A device pushing many times a second publishes at most about once a second."""
    device = await sim_device(mac=MAC)
    entry = await setup_entry(device)
    coordinator: DeviceCoordinator = entry.runtime_data
    await wait_for(lambda: _available(hass), what="available")
    publishes: list[float] = []
    unsubscribe = coordinator.async_add_listener(lambda: publishes.append(hass.loop.time()))
    started = hass.loop.time()
    for _ in range(30):
        device.advance(1)
        await push_and_wait(device, coordinator)
    elapsed = hass.loop.time() - started
    await wait_for(lambda: coordinator.data.metrics.get("uptime") == float(int(device.uptime)))
    unsubscribe()
    assert len(publishes) <= elapsed / PUBLISH_INTERVAL + 2


async def test_buttons_reach_the_device(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Commands go to the device's own button entities; unknown ones are refused."""
    device = await sim_device(mac=MAC)
    entry = await setup_entry(device)
    link = entry.runtime_data.link
    await wait_for(lambda: link.connected, what="connected")
    assert link.has_button("safe_mode")
    link.press_button("safe_mode")
    await device.wait_for(lambda: device.button_presses == ["safe_mode"])
    with pytest.raises(UnknownCommandError):
        link.press_button("factory_reset")


async def test_a_different_board_at_the_address_is_ignored(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another MAC answering at the device's address feeds nothing and shows unavailable."""
    device = await sim_device(mac=MAC)
    entry = await setup_entry(device)
    coordinator: DeviceCoordinator = entry.runtime_data
    await wait_for(lambda: _available(hass), what="available")
    samples = sum(d.samples for d in coordinator.analytics.detectors.values())

    device.set_mac("02:00:00:00:01:99")
    await device.restart(wait=True)
    await wait_for(lambda: coordinator.data.wrong_device, hass=hass, fire_timers=True, what="seen")
    device.advance(60)
    await device.push_states()
    await hass.async_block_till_done()
    assert not _available(hass)
    assert sum(d.samples for d in coordinator.analytics.detectors.values()) == samples
    assert "not as the monitored device" in caplog.text


async def test_unload_while_device_is_down(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Unloading during reconnect backoff leaves no timer or task behind."""
    device = await sim_device(mac=MAC)
    entry = await setup_entry(device)
    await wait_for(lambda: _available(hass), what="available")
    await device.go_offline()
    await wait_for(lambda: not _available(hass), what="unavailable")
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_update_entity_service_rerenders(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """homeassistant.update_entity works on a push-only coordinator."""
    device = await sim_device(mac=MAC)
    await setup_entry(device)
    await wait_for(lambda: _available(hass), what="available")
    assert await async_setup_component(hass, "homeassistant", {})
    await hass.services.async_call(
        "homeassistant",
        "update_entity",
        {"entity_id": entity_id(hass, MAC, "health_score")},
        blocking=True,
    )
    assert _available(hass)


async def test_six_devices_come_up_together(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C03 D: a small fleet is available right after setup, each with its own device."""
    scenarios = ("healthy", "healthy", "memory_leak", "overheating", "wifi_degradation")
    macs = [f"02:00:00:00:0a:{n:02x}" for n in range(6)]
    for n, mac in enumerate(macs):
        scenario = scenarios[n] if n < len(scenarios) else "crash_loop"
        device = await sim_device(name=f"esp-{n}", mac=mac, scenario=scenario, seed=n)
        await setup_entry(device)
    await wait_for(lambda: all(_available(hass, mac) for mac in macs), what="all available")
    registry = dr.async_get(hass)
    names = set()
    for mac in macs:
        device_entry = registry.async_get_device(identifiers={(DOMAIN, dr.format_mac(mac))})
        assert device_entry is not None
        names.add(device_entry.name)
    assert names == {f"esp-{n}" for n in range(6)}
