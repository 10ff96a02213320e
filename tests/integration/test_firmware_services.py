"""check_updates, analyze and every refused apply_patch: translated errors, no change."""

from __future__ import annotations

import json
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr

from custom_components.predictive_maintenance.const import DOMAIN
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from simulator import SimulatedDevice, write_catalogue_release

from .conftest import EntryFactory, SimDeviceFactory
from .firmware_testing import (  # noqa: F401 - firmware_config_dir is a fixture
    IMAGE_SIZE,
    catalogue_folder,
    firmware_config_dir,
    ota_options,
    ready_manager,
    wait_online,
    write_catalogue,
)
from .helpers import push_and_wait, wait_for

pytestmark = pytest.mark.usefixtures("firmware_config_dir")


@pytest.fixture(autouse=True)
def _fast_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioesphomeapi waits 5 s before reconnecting after a planned reboot; tests need less."""
    monkeypatch.setattr("aioesphomeapi.reconnect_logic.EXPECTED_DISCONNECT_COOLDOWN", 0.2)


async def _setup(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    *,
    mac: str,
    entry_password: str | None = None,
    **config: Any,
) -> tuple[SimulatedDevice, DeviceCoordinator, str]:
    write_catalogue(hass)
    device = await sim_device(name=f"esp-{mac[-2:]}", mac=mac, **config)
    entry = await setup_entry(device, options=ota_options(device, entry_password))
    await ready_manager(hass)
    coordinator: DeviceCoordinator = entry.runtime_data
    await wait_online(coordinator, "1.0.0")
    found = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, coordinator.mac)})
    assert found is not None
    return device, coordinator, found.id


async def _call(hass: HomeAssistant, service: str, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


def _other_project_release(hass: HomeAssistant) -> None:
    """A manifest of our project whose image says it is another project's."""
    manifest = write_catalogue_release(
        catalogue_folder(hass), project_name="other.project", version="1.2.0", size=IMAGE_SIZE
    )
    document = json.loads(manifest.read_text())
    document["name"] = "acme.env_sensor"
    manifest.write_text(json.dumps(document))


async def test_check_updates_lists_newer_releases(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Newest first, with type, priority, size and summary."""
    _device, _coordinator, device_id = await _setup(
        hass, sim_device, setup_entry, mac="02:00:00:00:12:01"
    )
    response = await _call(hass, "check_updates", device_id=device_id)
    assert response["updates_available"] is True
    versions = [u["version"] for u in response["updates"]]
    assert versions == ["1.1.0", "1.0.1"]
    security = response["updates"][1]
    assert security["type"] == "security"
    assert security["priority"] == 90
    assert security["size_kb"] == IMAGE_SIZE / 1024
    assert security["summary"]


async def test_analyze_from_the_device_analytics(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """A crash reset and a newer security fix make a critical issue and a recommendation."""
    device, coordinator, device_id = await _setup(
        hass,
        sim_device,
        setup_entry,
        mac="02:00:00:00:12:02",
        initial_reset_reason="Exception",
    )
    await push_and_wait(device, coordinator)
    response = await _call(hass, "analyze", device_id=device_id)
    assert response["current_version"] == "1.0.0"
    kinds = {issue["type"] for issue in response["critical_issues"]}
    assert {"crash", "security_update"} <= kinds
    patches = response["recommended_patches"]
    assert patches[0]["patch_id"] == "acme.env_sensor@1.0.1"
    assert patches[0]["type"] == "security"
    assert "security fix" in patches[0]["reason"]
    assert all(p["patch_id"] != "acme.env_sensor@1.1.0" for p in patches)

    override = await _call(
        hass, "analyze", device_id=device_id, analytics={"crash_count": 5, "reset_reason": "Panic"}
    )
    assert "crash_loop" in {issue["type"] for issue in override["critical_issues"]}
    assert override["evidence"]["crash_count"] == 5


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"path": "../../secrets.bin"}, "firmware_path_outside_catalogue"),
        ({"path": "/etc/passwd"}, "firmware_path_outside_catalogue"),
        ({"path": "acme.env_sensor/9.9.9/firmware.ota.bin"}, "firmware_image_not_found"),
        ({"version": "9.9.9"}, "firmware_unknown_version"),
        ({"patch_id": "other.project@1.2.0"}, "firmware_wrong_project"),
        ({"version": "1.2.0"}, "firmware_wrong_project"),
        ({"path": "other.project/1.2.0/firmware.ota.bin"}, "firmware_wrong_project"),
        ({"version": "1.0.1", "patch_id": "acme.env_sensor@1.0.1"}, "firmware_choose_one"),
        ({"version": "1.0.0"}, "firmware_already_installed"),
    ],
)
async def test_bad_input_is_refused_without_touching_the_device(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    data: dict[str, Any],
    key: str,
) -> None:
    """Translated validation errors; the device never sees an OTA session."""
    device, _coordinator, device_id = await _setup(
        hass, sim_device, setup_entry, mac="02:00:00:00:12:03"
    )
    _other_project_release(hass)
    await ready_manager(hass)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "apply_patch", device_id=device_id, **data)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert device.firmware_version == "1.0.0"
    assert device.ota_sessions == []


@pytest.mark.parametrize(
    ("entry_password", "key"),
    [(None, "firmware_ota_password_missing"), ("wrong", "firmware_ota_password_wrong")],
)
async def test_ota_password_problems(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    entry_password: str | None,
    key: str,
) -> None:
    """C01 C: one attempt, a translated password error, the old firmware stays."""
    device, _coordinator, device_id = await _setup(
        hass,
        sim_device,
        setup_entry,
        mac="02:00:00:00:12:04",
        ota_password="right",
        entry_password=entry_password,
    )
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "apply_patch", device_id=device_id, version="1.0.1")
    assert err.value.translation_key == key
    assert device.firmware_version == "1.0.0"
    assert len(device.ota_sessions) <= 1  # one attempt, never retried
    assert device.ota_server.images == []


async def test_low_minimum_free_heap_defers_the_update(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C07 variant: below the 8 KB floor the update is deferred, nothing is sent."""
    device, coordinator, device_id = await _setup(
        hass, sim_device, setup_entry, mac="02:00:00:00:12:05"
    )
    device.set_value("heap_min_free", 1620)
    device.advance(30)
    await push_and_wait(device, coordinator)
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "apply_patch", device_id=device_id, version="1.0.1")
    assert err.value.translation_key == "firmware_low_memory"
    assert device.ota_sessions == []


async def test_unknown_device(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """A device id that does not exist is a translated validation error."""
    await _setup(hass, sim_device, setup_entry, mac="02:00:00:00:12:06")
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "apply_patch", device_id="no-such-device", version="1.0.1")
    assert err.value.translation_key == "unknown_device"


async def test_translations_exist_for_every_firmware_error(hass: HomeAssistant) -> None:
    """Messages render (no raw keys) for the errors above."""
    from homeassistant.helpers.translation import async_get_translations

    translations = await async_get_translations(hass, "en", "exceptions", [DOMAIN])
    for key in ("firmware_wrong_project", "firmware_ota_password_missing", "firmware_low_memory"):
        assert f"component.{DOMAIN}.exceptions.{key}.message" in translations


async def test_one_change_per_device_and_none_during_a_recovery(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """A second apply_patch while one runs is refused; so is one while a recovery runs."""
    device, coordinator, device_id = await _setup(
        hass, sim_device, setup_entry, mac="02:00:00:00:12:07"
    )
    first = hass.async_create_task(_call(hass, "apply_patch", device_id=device_id, version="1.0.1"))
    manager = hass.data["predictive_maintenance_firmware"]
    await wait_for(lambda: manager.is_busy(coordinator.config_entry.entry_id), what="busy")
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, "apply_patch", device_id=device_id, version="1.0.1")
    assert err.value.translation_key == "firmware_update_running"
    assert (await first)["result"] == "succeeded"
    assert not device.ota_server.sessions_overlapped

    healer = hass.data[DOMAIN].healers[coordinator.config_entry.entry_id]
    healer.recovering = True  # what DeviceHealer sets while it recovers this device
    try:
        with pytest.raises(HomeAssistantError) as err:
            await _call(hass, "rollback", device_id=device_id)
        assert err.value.translation_key == "firmware_recovery_running"
    finally:
        healer.recovering = False
    assert device.firmware_version == "1.0.1"
