"""Reboots inferred from uptime: crashes while monitored vs. reboots in a monitoring gap (C04)."""

from __future__ import annotations

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant

from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from simulator import REASON_EXCEPTION, REASON_SOFTWARE_RESTART

from .conftest import EntryFactory, SimDeviceFactory
from .helpers import push_and_wait, state, state_value, wait_for

MAC = "02:00:00:00:02:01"


def _online(hass: HomeAssistant) -> bool:
    return state_value(hass, MAC, "health_score") not in (None, STATE_UNAVAILABLE)


async def test_crashes_while_monitored_raise_risk(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Three crashes, each dropping the connection, count as crashes and raise the risk."""
    device = await sim_device(mac=MAC)
    entry = await setup_entry(device)
    coordinator: DeviceCoordinator = entry.runtime_data
    await wait_for(lambda: _online(hass), what="online")
    for _ in range(3):
        device.advance(1_200)
        await push_and_wait(device, coordinator)
        await device.crash(REASON_EXCEPTION)
        await wait_for(lambda: not coordinator.data.online, what="offline after crash")
        await device.wait_online()
        await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="back")
    await wait_for(
        lambda: coordinator.data.report.crashes_24h == 3, what="three crashes in the report"
    )
    reboots = coordinator.analytics.reboots.entries
    assert [(r.reason, r.observed, r.expected) for r in reboots] == [
        (REASON_EXCEPTION, True, False)
    ] * 3
    await wait_for(
        lambda: state_value(hass, MAC, "risk_level") in ("medium", "high", "critical"),
        what="risk above low",
    )
    risk = state(hass, MAC, "risk_level")
    assert risk is not None
    assert risk.attributes["crashes_24h"] == 3


async def test_requested_restart_is_not_a_crash(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """A restart the device announces (DisconnectRequest) is a reboot, not a crash."""
    device = await sim_device(mac=MAC)
    entry = await setup_entry(device)
    coordinator: DeviceCoordinator = entry.runtime_data
    device.advance(600)
    await push_and_wait(device, coordinator)
    await device.restart(REASON_SOFTWARE_RESTART)
    await device.wait_online()
    await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="back")
    await wait_for(lambda: len(coordinator.analytics.reboots.entries) == 1, what="one reboot")
    (reboot,) = coordinator.analytics.reboots.entries
    assert (reboot.reason, reboot.observed, reboot.expected) == (
        REASON_SOFTWARE_RESTART,
        True,
        True,
    )
    assert coordinator.data.report.crashes_24h == 0


async def test_reboots_in_a_monitoring_gap_are_one_unobserved_reboot(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C04: 8 reboots while the integration was unloaded give one reboot, not a crash."""
    device = await sim_device(mac=MAC, initial_uptime=86_400.0)
    entry = await setup_entry(device)
    coordinator: DeviceCoordinator = entry.runtime_data
    await push_and_wait(device, coordinator)
    health_before = coordinator.data.report.health_score
    assert await hass.config_entries.async_unload(entry.entry_id)
    await device.wait_for_clients(0)

    for _ in range(8):  # reboot_timeout: no API client for 15 min
        device.advance(900)
        await device.restart("Software reset", wait=True)
    device.advance(420)

    assert await hass.config_entries.async_setup(entry.entry_id)
    coordinator = entry.runtime_data
    await wait_for(lambda: coordinator.data.metrics.get("uptime") == 420.0, what="uptime 420")
    await wait_for(lambda: len(coordinator.analytics.reboots.entries) == 1, what="one reboot")
    (reboot,) = coordinator.analytics.reboots.entries
    assert (reboot.reason, reboot.observed) == ("Software reset", False)
    assert not reboot.crash
    await wait_for(lambda: coordinator.data.report.reboots_24h == 1, what="reboot in report")
    report = coordinator.data.report
    assert report.crashes_24h == 0
    assert report.anomaly_count == 0
    assert report.health_score == health_before
    assert state_value(hass, MAC, "risk_level") == "low"
