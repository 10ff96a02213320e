"""Encrypted and plaintext devices; a key repair only when the key really changed (C05)."""

from __future__ import annotations

import base64

from aioesphomeapi.client import APIClient
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from custom_components.predictive_maintenance.const import DOMAIN
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from custom_components.predictive_maintenance.device.link import ConnectFailure

from .conftest import EntryFactory, SimDeviceFactory
from .helpers import state_value, wait_for

MAC = "02:00:00:00:04:01"
KEY = base64.b64encode(bytes(range(32))).decode()
NEW_KEY = base64.b64encode(bytes(range(50, 82))).decode()


def _online(hass: HomeAssistant) -> bool:
    return state_value(hass, MAC, "health_score") not in (None, STATE_UNAVAILABLE)


def _key_issues(hass: HomeAssistant) -> list[str]:
    """Translation keys of our key repair issues (the repair replaces a reauth flow)."""
    return [
        str(issue.translation_key)
        for issue in ir.async_get(hass).issues.values()
        if issue.domain == DOMAIN and issue.translation_key in ("invalid_key", "encryption_removed")
    ]


def _reauth_flows(hass: HomeAssistant) -> list[object]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"].get("source") == SOURCE_REAUTH
    ]


async def test_encrypted_device(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """With the right key the device connects over Noise and reports."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    await setup_entry(device, noise_psk=KEY)
    await wait_for(lambda: _online(hass), what="online with encryption")
    assert device.handshake_failures == 0


async def test_plaintext_device_with_empty_key(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """An entry without a key (stored as "") talks plaintext."""
    device = await sim_device(mac=MAC)
    await setup_entry(device, noise_psk="")
    await wait_for(lambda: _online(hass), what="online in plaintext")


async def test_key_change_raises_one_key_issue_after_two_failures(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C05 B: the device got a new key; one repair issue after the 2nd failure, no reauth."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    coordinator: DeviceCoordinator = entry.runtime_data
    await wait_for(lambda: _online(hass), what="online")

    device.set_noise_psk(NEW_KEY)
    await device.restart(wait=True)
    await wait_for(
        lambda: device.handshake_failures >= 1, hass=hass, fire_timers=True, what="1st failure"
    )
    await wait_for(
        lambda: coordinator.diagnostics()["consecutive_key_failures"] == 1, what="failure seen"
    )
    await hass.async_block_till_done()
    assert _key_issues(hass) == []
    assert not _online(hass)

    await wait_for(
        lambda: device.handshake_failures >= 2, hass=hass, fire_timers=True, what="2nd failure"
    )
    await wait_for(lambda: _key_issues(hass) == ["invalid_key"], hass=hass, what="key issue")
    await wait_for(
        lambda: device.handshake_failures >= 4, hass=hass, fire_timers=True, what="more failures"
    )
    await hass.async_block_till_done()
    assert _key_issues(hass) == ["invalid_key"]
    assert _reauth_flows(hass) == []
    assert coordinator.data.connect_failure is ConnectFailure.INVALID_KEY


async def test_flaky_drops_do_not_start_reauth(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C05 A: connections cut off again and again with the right key never ask for a key."""
    device = await sim_device(mac=MAC, noise_psk=KEY, max_connections=1)
    entry = await setup_entry(device, noise_psk=KEY)
    coordinator: DeviceCoordinator = entry.runtime_data
    await wait_for(lambda: _online(hass), what="online")
    for _ in range(3):
        await device.crash()
        await device.wait_online()
        await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="back")

    # Another client takes the only slot: our attempts are accepted and closed at once.
    await device.crash()
    await device.wait_online()
    intruder = APIClient(device.host, device.port, None, noise_psk=KEY)
    await intruder.connect(login=False)
    try:
        attempts = device.connection_attempts
        await wait_for(
            lambda: device.connection_attempts >= attempts + 3,
            hass=hass,
            fire_timers=True,
            what="rejected attempts",
        )
        assert not _online(hass)
    finally:
        await intruder.disconnect()
    await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="back after slot")
    await hass.async_block_till_done()
    assert _reauth_flows(hass) == []
    assert _key_issues(hass) == []
    assert coordinator.diagnostics()["consecutive_key_failures"] == 0


async def test_encryption_removed_from_device_asks_for_key(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C05 C: a device re-flashed without encryption is no silent downgrade: a repair."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    coordinator: DeviceCoordinator = entry.runtime_data
    await wait_for(lambda: _online(hass), what="online")

    device.set_noise_psk(None)
    await device.restart(wait=True)
    await wait_for(
        lambda: _key_issues(hass) == ["encryption_removed"],
        hass=hass,
        fire_timers=True,
        what="encryption removed issue",
    )
    assert not _online(hass)
    assert coordinator.data.connect_failure is ConnectFailure.PLAINTEXT_ONLY
