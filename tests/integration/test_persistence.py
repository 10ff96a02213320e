"""Learned models survive unload, HA stop and setup; a bad store means a fresh start."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant

from custom_components.predictive_maintenance.analytics import DeviceAnalytics
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from custom_components.predictive_maintenance.storage import STORAGE_VERSION, storage_key
from simulator import SimulatedDevice

from .conftest import EntryFactory, SimDeviceFactory, entry_for
from .helpers import push_and_wait

MAC = "02:00:00:00:05:01"


async def _learn(device: SimulatedDevice, coordinator: DeviceCoordinator, pushes: int) -> None:
    for _ in range(pushes):
        device.advance(60)
        await push_and_wait(device, coordinator)


def _samples(coordinator: DeviceCoordinator) -> dict[str, int]:
    return {metric: d.samples for metric, d in coordinator.analytics.detectors.items()}


async def test_models_survive_unload_and_setup(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
) -> None:
    """Learn, unload (final save), set up again: sample counts and baselines are back."""
    device = await sim_device(mac=MAC)
    entry = await setup_entry(device)
    coordinator: DeviceCoordinator = entry.runtime_data
    await _learn(device, coordinator, 20)
    learned = _samples(coordinator)
    assert learned["heap_free"] >= 20
    baseline = coordinator.analytics.to_dict()["detectors"]["heap_free"]

    assert await hass.config_entries.async_unload(entry.entry_id)
    stored = hass_storage[storage_key(entry.entry_id)]
    assert stored["version"] == STORAGE_VERSION
    assert stored["data"]["analytics"]["detectors"]["heap_free"] == baseline

    assert await hass.config_entries.async_setup(entry.entry_id)
    restored: DeviceCoordinator = entry.runtime_data
    assert restored is not coordinator
    assert _samples(restored) == learned
    assert restored.analytics.to_dict()["detectors"]["heap_free"] == baseline
    assert restored.last_uptime == coordinator.last_uptime
    # Uptime continued across the reload: no reboot is inferred (C03 D).
    device.advance(60)
    await push_and_wait(device, restored)
    assert len(restored.analytics.reboots.entries) == 0


async def test_models_are_saved_when_home_assistant_stops(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
) -> None:
    """On stop the link closes and the models are written without waiting for the delay."""
    device = await sim_device(mac=MAC)
    entry = await setup_entry(device)
    coordinator: DeviceCoordinator = entry.runtime_data
    await _learn(device, coordinator, 5)
    assert storage_key(entry.entry_id) not in hass_storage  # the delayed write is pending

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    await device.wait_for_clients(0)
    stored = hass_storage[storage_key(entry.entry_id)]["data"]
    assert stored["analytics"] == coordinator.analytics.to_dict()
    assert DeviceAnalytics.from_dict(stored["analytics"]).detectors["heap_free"].samples >= 5


@pytest.mark.parametrize(
    "stored",
    [
        {"version": 99, "minor_version": 1, "data": {"analytics": {}}},
        {"version": STORAGE_VERSION, "minor_version": 1, "data": {"analytics": {"version": 42}}},
        {"version": STORAGE_VERSION, "minor_version": 1, "data": "not a mapping"},
        {
            "version": STORAGE_VERSION,
            "minor_version": 1,
            "data": {"analytics": None, "uptime": {"uptime": "x"}},
        },
    ],
    ids=["unknown-store-version", "unknown-model-version", "garbage", "bad-uptime"],
)
async def test_bad_store_starts_fresh(
    hass: HomeAssistant,
    *,
    hass_storage: dict[str, Any],
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    caplog: pytest.LogCaptureFixture,
    stored: dict[str, Any],
) -> None:
    """A corrupt or unknown store logs a warning and never fails setup."""
    device = await sim_device(mac=MAC)
    entry = entry_for(device)
    hass_storage[storage_key(entry.entry_id)] = {"key": storage_key(entry.entry_id), **stored}
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert "Discarding the saved models" in caplog.text
    coordinator: DeviceCoordinator = entry.runtime_data
    assert coordinator.analytics.detectors == {}
    await hass.config_entries.async_unload(entry.entry_id)


async def test_removing_the_entry_deletes_its_models(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
) -> None:
    """A removed device leaves no learned state behind."""
    device = await sim_device(mac=MAC)
    entry = await setup_entry(device)
    await hass.config_entries.async_unload(entry.entry_id)
    assert storage_key(entry.entry_id) in hass_storage
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert storage_key(entry.entry_id) not in hass_storage
