"""The firmware update entity against a simulated device with a real OTA endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from homeassistant.components.update import ATTR_IN_PROGRESS, ATTR_UPDATE_PERCENTAGE
from homeassistant.const import ATTR_ENTITY_ID, STATE_ON
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er

from custom_components.predictive_maintenance.const import DOMAIN
from custom_components.predictive_maintenance.firmware_ha import FirmwareTiming

from .conftest import EntryFactory, SimDeviceFactory
from .firmware_testing import (  # noqa: F401 - firmware_config_dir is a fixture
    firmware_config_dir,
    ota_options,
    ready_manager,
    wait_online,
    write_catalogue,
)

pytestmark = pytest.mark.usefixtures("firmware_config_dir")

SLOW = FirmwareTiming(boot_good_delay=8.0, margin=4.0, down_timeout=15.0, back_timeout=30.0)


@pytest.fixture(autouse=True)
def _fast_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioesphomeapi waits 5 s before reconnecting after a planned reboot; tests need less."""
    monkeypatch.setattr("aioesphomeapi.reconnect_logic.EXPECTED_DISCONNECT_COOLDOWN", 0.2)


def _update_entity(hass: HomeAssistant, mac: str) -> str:
    found = er.async_get(hass).async_get_entity_id("update", DOMAIN, f"{mac}_firmware")
    assert found is not None
    return found


async def test_shows_versions_and_installs_with_progress(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Installed from DeviceInfo, latest from the catalogue; install reports progress."""
    write_catalogue(hass)
    device = await sim_device(name="esp-upd", mac="02:00:00:00:10:01")
    entry = await setup_entry(device, options=ota_options(device))
    await ready_manager(hass)
    coordinator = entry.runtime_data
    await wait_online(coordinator, "1.0.0")
    entity_id = _update_entity(hass, coordinator.mac)
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == STATE_ON
    assert state.attributes["installed_version"] == "1.0.0"
    # The bad build is the newest release, so it is what the catalogue offers first.
    assert state.attributes["latest_version"] == "1.1.0"
    assert state.attributes["release_summary"]

    seen: list[dict[str, Any]] = []

    @callback
    def record(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is not None and new.entity_id == entity_id:
            seen.append(dict(new.attributes))

    unsub = hass.bus.async_listen("state_changed", record)
    await hass.services.async_call(
        "update",
        "install",
        {ATTR_ENTITY_ID: entity_id, "version": "1.0.1"},
        blocking=True,
    )
    unsub()
    assert device.firmware_version == "1.0.1"
    await wait_online(coordinator, "1.0.1")
    await hass.async_block_till_done()
    percentages = [
        a[ATTR_UPDATE_PERCENTAGE] for a in seen if a.get(ATTR_UPDATE_PERCENTAGE) is not None
    ]
    assert percentages, "no progress reported"
    assert percentages == sorted(percentages)
    assert percentages[-1] == 100
    assert any(a[ATTR_IN_PROGRESS] is True for a in seen)
    final = hass.states.get(entity_id)
    assert final is not None
    assert final.attributes[ATTR_IN_PROGRESS] is False
    assert final.attributes["installed_version"] == "1.0.1"
    assert final.attributes["latest_version"] == "1.1.0"


async def test_failed_install_raises_the_reason(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Installing the bad build fails with a translated error; then 1.0.1 is offered."""
    write_catalogue(hass)
    device = await sim_device(name="esp-upd2", mac="02:00:00:00:10:02")
    entry = await setup_entry(device, options=ota_options(device))
    await ready_manager(hass, SLOW)
    coordinator = entry.runtime_data
    await wait_online(coordinator, "1.0.0")
    entity_id = _update_entity(hass, coordinator.mac)
    install = hass.async_create_task(
        hass.services.async_call("update", "install", {ATTR_ENTITY_ID: entity_id}, blocking=True)
    )
    await wait_online(coordinator, "1.1.0")
    device.advance(6)  # the bad build crashes; the device boots 1.0.0 again
    with pytest.raises(HomeAssistantError) as err:
        await install
    assert err.value.translation_key == "firmware_update_failed"
    assert "went back to 1.0.0 by itself" in str(err.value.translation_placeholders)
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.attributes[ATTR_IN_PROGRESS] is False
    assert state.attributes["latest_version"] == "1.0.1"
