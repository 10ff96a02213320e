"""Staged rollout (C02 C): canary, batches, halt on the failure ratio, persisted, resumable."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from custom_components.predictive_maintenance.const import DOMAIN, EVENT_ROLLOUT
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from custom_components.predictive_maintenance.firmware_ha import FirmwareTiming
from custom_components.predictive_maintenance.firmware_ha.rollout import new_rollout
from custom_components.predictive_maintenance.firmware_ha.store import STORAGE_KEY
from simulator import SimulatedDevice

from .conftest import EntryFactory, SimDeviceFactory
from .firmware_testing import (  # noqa: F401 - firmware_config_dir is a fixture
    firmware_config_dir,
    ota_options,
    ready_manager,
    wait_online,
    write_catalogue,
)

pytestmark = pytest.mark.usefixtures("firmware_config_dir")

ROLLOUT_TIMING = FirmwareTiming(
    boot_good_delay=1.2, margin=0.8, down_timeout=20.0, back_timeout=40.0, ota_retry_pause=0.05
)


@pytest.fixture(autouse=True)
def _fast_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioesphomeapi waits 5 s before reconnecting after a planned reboot; tests need less."""
    monkeypatch.setattr("aioesphomeapi.reconnect_logic.EXPECTED_DISCONNECT_COOLDOWN", 0.2)


async def _fleet(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory, size: int
) -> tuple[list[SimulatedDevice], list[DeviceCoordinator], list[str]]:
    write_catalogue(hass)
    devices, coordinators, ids = [], [], []
    registry = dr.async_get(hass)
    for index in range(size):
        device = await sim_device(
            name=f"esp-r{index:02d}", mac=f"02:00:00:00:13:{index:02x}", boot_is_good_after=60.0
        )
        entry = await setup_entry(device, options=ota_options(device))
        devices.append(device)
        coordinators.append(entry.runtime_data)
    await ready_manager(hass, ROLLOUT_TIMING)
    for coordinator in coordinators:
        await wait_online(coordinator, "1.0.0")
        found = registry.async_get_device(identifiers={(DOMAIN, coordinator.mac)})
        assert found is not None
        ids.append(found.id)
    return devices, coordinators, ids


async def _reverts_by_itself(device: SimulatedDevice) -> None:
    """C02 script A: power-cycle 40 s after booting the new image, before it is marked good."""
    await device.wait_for_version("1.0.1", timeout=120)
    device.advance(40)
    await device.power_cycle()


def _rollout_events(hass: HomeAssistant) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    @callback
    def record(event: Event) -> None:
        seen.append(dict(event.data))

    hass.bus.async_listen(EVENT_ROLLOUT, record)
    return seen


async def test_c02_c_rollout_halts_on_the_failure_ratio(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
) -> None:
    """20 devices, 3 roll back by themselves, canary 2, batch 5, max 10 %: halt, no batch 3."""
    devices, _coordinators, ids = await _fleet(hass, sim_device, setup_entry, 20)
    events = _rollout_events(hass)
    bad = [devices[2], devices[3], devices[4]]
    scripts = [asyncio.create_task(_reverts_by_itself(device)) for device in bad]
    response = await hass.services.async_call(
        DOMAIN,
        "rollout",
        {
            "version": "1.0.1",
            "device_ids": ids,
            "canary_count": 2,
            "batch_size": 5,
            "max_failure_ratio": 0.1,
        },
        blocking=True,
        return_response=True,
    )
    await asyncio.gather(*scripts)
    assert response is not None
    assert response["status"] == "halted", response
    assert response["batches_started"] == 2  # the canary and the first batch only
    assert sorted(d["device"] for d in response["failed_devices"]) == [
        "esp-r02",
        "esp-r03",
        "esp-r04",
    ]
    assert response["succeeded"] == 4
    assert response["pending"] == 13
    assert all(device.firmware_version == "1.0.0" for device in devices[7:])
    assert all(device.ota_sessions == [] for device in devices[7:])
    assert [device.firmware_version for device in devices[:2]] == ["1.0.1", "1.0.1"]
    phases = [event["phase"] for event in events]
    assert phases[0] == "started"
    assert phases[-1] == "halted"
    assert phases.count("batch_started") == 2

    stored = hass_storage[STORAGE_KEY]["data"]["rollouts"][response["rollout_id"]]
    assert stored["status"] == "halted"
    assert stored["next_batch"] == 2

    # Resumed with a looser limit, the rest of the fleet is updated.
    resumed = await hass.services.async_call(
        DOMAIN,
        "rollout_resume",
        {"rollout_id": response["rollout_id"], "max_failure_ratio": 0.5},
        blocking=True,
        return_response=True,
    )
    assert resumed is not None
    assert resumed["status"] == "completed", resumed
    assert resumed["succeeded"] == 17
    assert all(device.firmware_version == "1.0.1" for device in devices[5:])


async def test_rollout_interrupted_by_a_restart_resumes(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
) -> None:
    """A rollout saved as running is interrupted at start-up; rollout_resume finishes it."""
    write_catalogue(hass)
    devices = [
        await sim_device(name=f"esp-i{index}", mac=f"02:00:00:00:14:0{index}") for index in range(2)
    ]
    ids = ["rollout-entry-0", "rollout-entry-1"]
    rollout = new_rollout(
        project="acme.env_sensor",
        version="1.0.1",
        targets={ids[0]: "esp-i0", ids[1]: "esp-i1"},
        canary_count=1,
        batch_size=5,
        max_failure_ratio=0.1,
    )
    # What the previous run left behind: running, its canary in the middle of an update.
    rollout["results"][ids[0]] = {"status": "running", "reason": ""}
    hass_storage[STORAGE_KEY] = {
        "version": 1,
        "minor_version": 1,
        "key": STORAGE_KEY,
        "data": {
            "audit": [],
            "devices": {},
            "known_bad": {},
            "rollouts": {rollout["rollout_id"]: rollout},
        },
    }
    coordinators = []
    for device, entry_id in zip(devices, ids, strict=True):
        entry = await setup_entry(device, options=ota_options(device), entry_id=entry_id)
        coordinators.append(entry.runtime_data)
    manager = await ready_manager(hass, ROLLOUT_TIMING)
    restored = manager.store.rollouts[rollout["rollout_id"]]
    assert restored["status"] == "interrupted"
    assert restored["results"][ids[0]]["status"] == "pending"
    for coordinator in coordinators:
        await wait_online(coordinator, "1.0.0")

    resumed = await hass.services.async_call(
        DOMAIN, "rollout_resume", {}, blocking=True, return_response=True
    )
    assert resumed is not None
    assert resumed["status"] == "completed", resumed
    assert resumed["succeeded"] == 2
    assert [device.firmware_version for device in devices] == ["1.0.1", "1.0.1"]
    assert hass_storage[STORAGE_KEY]["data"]["rollouts"][rollout["rollout_id"]]["status"] == (
        "completed"
    )
