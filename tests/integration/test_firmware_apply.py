"""apply_patch and rollback against simulated devices with real OTA endpoints (C01, C02)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.predictive_maintenance.const import DOMAIN, EVENT_FIRMWARE
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from custom_components.predictive_maintenance.firmware_ha import FirmwareTiming
from custom_components.predictive_maintenance.firmware_ha.manager import rollback_issue_id
from simulator import OTAFaults, SimulatedDevice

from .conftest import EntryFactory, SimDeviceFactory
from .firmware_testing import (  # noqa: F401 - firmware_config_dir is a fixture
    FAST_TIMING,
    firmware_config_dir,
    ota_options,
    ready_manager,
    wait_online,
    write_catalogue,
)
from .helpers import push_and_wait

PASSWORD = "ota-s3cret-pw"
# Long enough for a test to act inside it; a failure ends it early.
SLOW_TIMING = FirmwareTiming(
    boot_good_delay=8.0, margin=4.0, down_timeout=15.0, back_timeout=30.0, ota_retry_pause=0.05
)


pytestmark = pytest.mark.usefixtures("firmware_config_dir")


@pytest.fixture(autouse=True)
def _fast_reconnect(monkeypatch: pytest.MonkeyPatch) -> None:
    """aioesphomeapi waits 5 s before reconnecting after a planned reboot; tests need less."""
    monkeypatch.setattr("aioesphomeapi.reconnect_logic.EXPECTED_DISCONNECT_COOLDOWN", 0.2)


def _device_id(hass: HomeAssistant, coordinator: DeviceCoordinator) -> str:
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, coordinator.mac)})
    assert device is not None
    return device.id


async def _setup(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    *,
    mac: str,
    timing: FirmwareTiming = FAST_TIMING,
    password: str | None = None,
    entry_password: str | None = None,
    **config: Any,
) -> tuple[SimulatedDevice, DeviceCoordinator, str]:
    write_catalogue(hass)
    device = await sim_device(name=f"esp-{mac[-2:]}", mac=mac, ota_password=password, **config)
    entry = await setup_entry(device, options=ota_options(device, entry_password))
    await ready_manager(hass, timing)
    coordinator: DeviceCoordinator = entry.runtime_data
    await wait_online(coordinator, "1.0.0")
    return device, coordinator, _device_id(hass, coordinator)


async def _apply(hass: HomeAssistant, device_id: str, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "apply_patch",
        {ATTR_DEVICE_ID: device_id, **data},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return dict(response)


def _stages(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {stage["stage"]: stage for stage in response["stages"]}


def _events(hass: HomeAssistant) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    @callback
    def record(event: Event) -> None:
        seen.append(dict(event.data))

    hass.bus.async_listen(EVENT_FIRMWARE, record)
    return seen


async def test_apply_patch_succeeds_after_the_watch_window(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
) -> None:
    """The device runs the patch; every stage passed; audit persisted, password nowhere."""
    device, coordinator, device_id = await _setup(
        hass,
        sim_device,
        setup_entry,
        mac="02:00:00:00:11:01",
        password=PASSWORD,
        entry_password=PASSWORD,
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await _apply(hass, device_id, version="1.0.1")
    elapsed = loop.time() - started
    assert response["result"] == "succeeded", response
    assert response["old_version"] == "1.0.0"
    assert response["new_version"] == "1.0.1"
    assert [s["stage"] for s in response["stages"]] == ["verify", "upload", "reboot", "validate"]
    assert all(s["status"] == "passed" for s in response["stages"])
    assert elapsed >= FAST_TIMING.watch_window
    assert device.firmware_version == "1.0.1"
    assert [event.how for event in device.firmware_history] == ["flash"]

    stored = hass_storage[f"{DOMAIN}.firmware"]["data"]
    assert stored["audit"][-1]["action"] == "update"
    assert stored["audit"][-1]["result"] == "succeeded"
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, coordinator.config_entry
    )
    firmware = diagnostics["firmware"]
    assert firmware["audit_log"][-1]["to_version"] == "1.0.1"
    assert diagnostics["entry"]["options"]["ota_password"] == "**REDACTED**"
    assert PASSWORD not in json.dumps(diagnostics)
    assert PASSWORD not in json.dumps(response)
    assert PASSWORD not in json.dumps(stored)

    # rollback re-flashes the image that ran before the last change.
    back = await hass.services.async_call(
        DOMAIN, "rollback", {ATTR_DEVICE_ID: device_id}, blocking=True, return_response=True
    )
    assert back is not None
    assert back["from_version"] == "1.0.1"
    assert back["to_version"] == "1.0.0"
    assert back["result"] == "succeeded", back
    assert device.firmware_version == "1.0.0"
    assert hass_storage[f"{DOMAIN}.firmware"]["data"]["audit"][-1]["action"] == "rollback"

    # Removing the device forgets its kept images and firmware state, not the audit log.
    manager = hass.data["predictive_maintenance_firmware"]
    assert await manager.backups.async_versions(coordinator.mac)
    await hass.config_entries.async_remove(coordinator.config_entry.entry_id)
    assert await manager.backups.async_versions(coordinator.mac) == []
    assert coordinator.mac not in manager.store.devices
    assert manager.store.audit_for(coordinator.mac)


async def test_interrupted_upload_keeps_the_old_firmware(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C01 B-like: every attempt drops mid-image; phase and offset reported, nothing flashed."""
    device, _coordinator, device_id = await _setup(
        hass, sim_device, setup_entry, mac="02:00:00:00:11:02"
    )
    device.set_ota_faults(OTAFaults(drop_at_byte=40_000, sessions=6))
    response = await _apply(hass, device_id, version="1.0.1")
    assert response["result"] == "failed"
    upload = _stages(response)["upload"]
    assert upload["status"] == "failed"
    assert upload["phase"] == "data"
    assert 0 < upload["offset"] < upload["total"]
    assert upload["attempts"] == 3
    assert "data phase" in upload["details"]
    assert _stages(response)["rollback"]["status"] == "skipped"
    assert "reboot" not in _stages(response)
    assert device.firmware_version == "1.0.0"
    assert device.firmware_history == []
    assert not device.ota_server.sessions_overlapped

    # Without asking for a response, the failure is an error with the reason.
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "apply_patch", {ATTR_DEVICE_ID: device_id, "version": "1.0.1"}, blocking=True
        )
    assert err.value.translation_key == "firmware_update_failed"
    assert device.firmware_version == "1.0.0"


async def test_bad_build_fails_validation_and_the_device_rolls_back(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """The crash-looping build resets before it is marked good: the device goes back."""
    device, coordinator, device_id = await _setup(
        hass, sim_device, setup_entry, mac="02:00:00:00:11:03", timing=SLOW_TIMING
    )
    events = _events(hass)
    task = hass.async_create_task(_apply(hass, device_id, version="1.1.0"))
    await wait_online(coordinator, "1.1.0")
    device.advance(6)  # the bad image crashes 5 s after boot; ESP-IDF boots 1.0.0 again
    response = await task
    assert response["result"] == "failed"
    assert "went back to 1.0.0 by itself (reset reason: Exception)" in response["reason"]
    stages = _stages(response)
    assert stages["validate"]["status"] == "failed"
    assert stages["rollback"]["status"] == "skipped"
    assert stages["rollback"]["details"] == "skipped: device already on the previous image"
    assert device.firmware_version == "1.0.0"
    assert [event.how for event in device.firmware_history] == ["flash", "rollback"]
    assert len(device.ota_server.images) == 1  # nothing re-flashed
    assert any(e["action"] == "device_rollback" for e in events)
    assert ir.async_get(hass).async_get_issue(
        DOMAIN, rollback_issue_id(coordinator.config_entry.entry_id)
    )
    # The update entity no longer offers the known bad build.
    manager = hass.data["predictive_maintenance_firmware"]
    assert "1.1.0" in manager.bad_versions("acme.env_sensor")
    await hass.async_block_till_done()
    entity_id = er.async_get(hass).async_get_entity_id(
        "update", DOMAIN, f"{coordinator.mac}_firmware"
    )
    assert entity_id is not None
    update = hass.states.get(entity_id)
    assert update is not None
    assert update.attributes["installed_version"] == "1.0.0"
    assert update.attributes["latest_version"] == "1.0.1"


async def test_failed_validation_flashes_the_previous_image(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """A crash after the image was marked good keeps it; auto rollback flashes 1.0.0 back."""
    device, coordinator, device_id = await _setup(
        hass,
        sim_device,
        setup_entry,
        mac="02:00:00:00:11:04",
        timing=SLOW_TIMING,
        boot_is_good_after=6.0,
    )
    task = hass.async_create_task(_apply(hass, device_id, version="1.0.1"))
    await wait_online(coordinator, "1.0.1")
    device.advance(7)  # marked valid: a reset keeps 1.0.1
    await device.crash(reason="Exception")
    response = await task
    assert response["result"] == "rolled_back", response
    stages = _stages(response)
    assert stages["validate"]["status"] == "failed"
    assert "restarted during" in stages["validate"]["details"]
    assert stages["rollback"]["status"] == "passed"
    assert device.firmware_version == "1.0.0"
    assert [event.how for event in device.firmware_history] == ["flash", "flash"]
    assert response["running_version"] == "1.0.0"


async def test_c02_a_power_cycle_inside_the_window(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C02 A: the device comes back on the old version; nothing re-flashed; issue and event."""
    device, coordinator, device_id = await _setup(
        hass,
        sim_device,
        setup_entry,
        mac="02:00:00:00:11:05",
        timing=SLOW_TIMING,
        boot_is_good_after=60.0,
    )
    events = _events(hass)
    task = hass.async_create_task(_apply(hass, device_id, version="1.0.1"))
    await wait_online(coordinator, "1.0.1")
    device.advance(40)
    await device.power_cycle()
    response = await task
    assert response["result"] == "failed"
    assert response["reason"] == "the device went back to 1.0.0 by itself (reset reason: Power on)"
    assert _stages(response)["rollback"]["details"] == (
        "skipped: device already on the previous image"
    )
    assert device.firmware_version == "1.0.0"
    assert len(device.ota_server.images) == 1
    rollbacks = [e for e in events if e["action"] == "device_rollback"]
    assert rollbacks
    assert rollbacks[0]["from_version"] == "1.0.1"
    assert rollbacks[0]["to_version"] == "1.0.0"
    assert rollbacks[0]["reset_reason"] == "Power on"
    manager = hass.data["predictive_maintenance_firmware"]
    audit = manager.store.audit_for(coordinator.mac)
    assert any(entry["action"] == "device_rollback" for entry in audit)
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, rollback_issue_id(coordinator.config_entry.entry_id)
    )
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["from_version"] == "1.0.1"
    # A later validate (self-healing's service, through the firmware hook) sees the mismatch.
    checked = await hass.services.async_call(
        DOMAIN, "validate", {ATTR_DEVICE_ID: device_id}, blocking=True, return_response=True
    )
    assert checked is not None
    assert checked["validation_result"] == "failed"
    firmware = next(c for c in checked["checks"] if c["check"] == "firmware_as_expected")
    assert firmware["status"] == "failed"
    assert "expected 1.0.1" in firmware["details"]


async def test_c02_b_power_cycle_after_the_window(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C02 B: success; a later power cycle keeps 1.0.1 and is not taken for a rollback."""
    device, coordinator, device_id = await _setup(
        hass, sim_device, setup_entry, mac="02:00:00:00:11:06", boot_is_good_after=60.0
    )
    events = _events(hass)
    task = hass.async_create_task(_apply(hass, device_id, version="1.0.1"))
    await wait_online(coordinator, "1.0.1")
    device.advance(600)
    response = await task
    assert response["result"] == "succeeded", response
    await device.power_cycle()
    await device.wait_for_version("1.0.1")
    await wait_online(coordinator, "1.0.1")
    await push_and_wait(device, coordinator)
    assert device.firmware_version == "1.0.1"
    assert not [e for e in events if e["action"] == "device_rollback"]


async def test_device_side_rollback_detected_later(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Hours after a good update the version drops back: event, audit entry, issue."""
    device, coordinator, device_id = await _setup(
        hass, sim_device, setup_entry, mac="02:00:00:00:11:07"
    )
    events = _events(hass)
    response = await _apply(hass, device_id, version="1.0.1")
    assert response["result"] == "succeeded"
    # The image was never marked good on the device (frozen clock): a power cycle reverts it.
    await device.power_cycle()
    await wait_online(coordinator, "1.0.0")
    await hass.async_block_till_done()
    rollbacks = [e for e in events if e["action"] == "device_rollback"]
    assert rollbacks
    assert rollbacks[0]["reset_reason"] == "Power on"
    assert ir.async_get(hass).async_get_issue(
        DOMAIN, rollback_issue_id(coordinator.config_entry.entry_id)
    )
    # rollback acknowledges a device that already went back: nothing is flashed.
    back = await hass.services.async_call(
        DOMAIN, "rollback", {ATTR_DEVICE_ID: device_id}, blocking=True, return_response=True
    )
    assert back is not None
    assert back["stages"][0]["details"] == "skipped: device already on the previous image"
    assert len(device.ota_server.images) == 1
    assert not ir.async_get(hass).async_get_issue(
        DOMAIN, rollback_issue_id(coordinator.config_entry.entry_id)
    )


async def test_version_changed_outside_home_assistant_becomes_expected(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """A device re-flashed from elsewhere: audited, and validate does not report a mismatch."""
    device, coordinator, device_id = await _setup(
        hass, sim_device, setup_entry, mac="02:00:00:00:11:09"
    )
    device.set_firmware(project_version="1.0.7")
    await device.restart(wait=True)
    await wait_online(coordinator, "1.0.7")
    await push_and_wait(device, coordinator)
    manager = hass.data["predictive_maintenance_firmware"]
    audit = manager.store.audit_for(coordinator.mac)
    changes = [entry for entry in audit if entry["action"] == "external_change"]
    assert [(c["from_version"], c["to_version"]) for c in changes] == [("1.0.0", "1.0.7")]
    checked = await hass.services.async_call(
        DOMAIN, "validate", {ATTR_DEVICE_ID: device_id}, blocking=True, return_response=True
    )
    assert checked is not None
    firmware = next(c for c in checked["checks"] if c["check"] == "firmware_as_expected")
    assert firmware["status"] != "failed", firmware
