"""The automatic recovery policy: off by default, and its limits hold against real devices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.predictive_maintenance.const import EVENT_RECOVERY
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from custom_components.predictive_maintenance.healing import IssueType
from simulator import SimulatedDevice

from .conftest import EntryFactory, SimDeviceFactory
from .healing_helpers import healer_of, monitored, push
from .helpers import wait_for

MAC_A = "02:00:00:00:41:01"
MAC_B = "02:00:00:00:41:02"
LOW_HEAP = 18_000.0  # past the 20 kB failure limit: risk high at once
# Real time is frozen-but-ticking so the policy's clock (HA's) can jump by minutes.
FROZEN = pytest.mark.freeze_time("2026-12-03 12:00:00", tick=True)


async def enable_policy(hass: HomeAssistant, entry: MockConfigEntry, **options: Any) -> None:
    """Turn the policy on through the options flow."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    data = {
        "auto_recover": True,
        "auto_recover_risk": "high",
        "cooldown_minutes": 30,
        "max_attempts_per_day": 3,
        **options,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], data)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["auto_recover"] is True


def outcomes(events: list[Event], entry: MockConfigEntry | None = None) -> list[str]:
    """Return the finished phases (succeeded / failed) of the recoveries seen."""
    return [
        e.data["phase"]
        for e in events
        if e.data["phase"] in ("succeeded", "failed")
        and (entry is None or e.data["entry_id"] == entry.entry_id)
    ]


async def wait_outcomes(
    hass: HomeAssistant, events: list[Event], n: int, entry: MockConfigEntry | None = None
) -> None:
    """Wait (firing reconnect timers) until n recoveries finished."""
    await wait_for(
        lambda: len(outcomes(events, entry)) >= n,
        hass=hass,
        fire_timers=True,
        timeout=60,
        what=f"{n} recovery outcomes",
    )


def skipped(entry: MockConfigEntry, hass: HomeAssistant, reason: str) -> bool:
    """Return whether the audit log shows the policy held back for `reason`."""
    return any(
        e["phase"] == "skipped" and e.get("reason") == reason
        for e in healer_of(hass, entry).store.audit
    )


async def wait_skipped(hass: HomeAssistant, entry: MockConfigEntry, reason: str) -> None:
    """Wait until the policy recorded a skip for `reason`."""
    await wait_for(
        lambda: skipped(entry, hass, reason), hass=hass, fire_timers=True, what=f"skip {reason}"
    )


async def pass_time(
    freezer: FrozenDateTimeFactory,
    device: SimulatedDevice,
    coordinator: DeviceCoordinator,
    minutes: int,
) -> None:
    """Let time pass in steps short enough that the device never looks silent."""
    for _ in range(0, minutes, 4):
        freezer.tick(timedelta(minutes=4))
        await push(device, coordinator, 240)


async def test_policy_is_off_by_default(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """High risk with a recoverable issue changes nothing until the user opts in."""
    events = async_capture_events(hass, EVENT_RECOVERY)
    device, entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC_A)
    device.set_value("heap_free", LOW_HEAP)
    await push(device, coordinator)
    await wait_for(
        lambda: coordinator.data.report.risk_level in ("high", "critical"),
        hass=hass,
        fire_timers=True,
        what="high risk",
    )
    assert device.button_presses == []
    assert events == []
    assert list(healer_of(hass, entry).store.audit) == []


@FROZEN
async def test_policy_restarts_a_leaking_device_then_respects_the_cooldown(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Risk high + memory issue: restart; the next one only after the cooldown."""
    events = async_capture_events(hass, EVENT_RECOVERY)
    device, entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC_A)
    await enable_policy(hass, entry)
    device.set_value("heap_free", LOW_HEAP, until_reboot=True)
    await push(device, coordinator)
    await wait_outcomes(hass, events, 1)
    assert outcomes(events) == ["succeeded"]
    assert device.button_presses == ["restart"]
    assert [e.data["phase"] for e in events] == ["started", "succeeded"]
    assert events[0].data["trigger"] == "policy"
    assert events[0].data["issue_type"] == "memory"

    device.set_value("heap_free", LOW_HEAP, until_reboot=True)
    await push(device, coordinator)
    await wait_skipped(hass, entry, "cooldown")
    await pass_time(freezer, device, coordinator, 20)
    assert device.button_presses == ["restart"]

    await pass_time(freezer, device, coordinator, 12)
    await wait_outcomes(hass, events, 2)
    assert device.button_presses == ["restart", "restart"]


@FROZEN
async def test_policy_stops_at_the_daily_limit(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """max_attempts_per_day automatic recoveries in 24 h, then none."""
    events = async_capture_events(hass, EVENT_RECOVERY)
    device, entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC_A)
    await enable_policy(hass, entry, cooldown_minutes=1, max_attempts_per_day=2)
    for attempt in (1, 2):
        device.set_value("heap_free", LOW_HEAP, until_reboot=True)
        await push(device, coordinator)
        await wait_outcomes(hass, events, attempt)
        await pass_time(freezer, device, coordinator, 4)
    device.set_value("heap_free", LOW_HEAP, until_reboot=True)
    await push(device, coordinator)
    await wait_skipped(hass, entry, "daily_limit")
    await pass_time(freezer, device, coordinator, 8)
    assert device.button_presses == ["restart", "restart"]


@FROZEN
async def test_policy_does_not_repeat_a_recovery_that_did_not_help(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A restart that did not cure the leak is not retried until the condition clears."""
    events = async_capture_events(hass, EVENT_RECOVERY)
    device, entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC_A)
    await enable_policy(hass, entry, cooldown_minutes=5)
    device.set_value("heap_free", LOW_HEAP)  # survives the restart
    await push(device, coordinator)
    await wait_outcomes(hass, events, 1)
    assert outcomes(events) == ["failed"]
    await pass_time(freezer, device, coordinator, 12)
    await wait_skipped(hass, entry, "did_not_help")
    assert device.button_presses == ["restart"]

    device.set_value("heap_free", None)  # the condition clears for 10 minutes ...
    await pass_time(freezer, device, coordinator, 20)
    await wait_for(
        lambda: not healer_of(hass, entry).store.history.blocked, hass=hass, what="unblocked"
    )
    device.set_value("heap_free", LOW_HEAP, until_reboot=True)  # ... and comes back
    await push(device, coordinator)
    await wait_outcomes(hass, events, 2)
    assert outcomes(events) == ["failed", "succeeded"]
    assert device.button_presses == ["restart", "restart"]


async def test_policy_recovers_one_device_at_a_time(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Two devices at high risk: the second waits for the first to finish."""
    events = async_capture_events(hass, EVENT_RECOVERY)
    dev_a, entry_a, coord_a = await monitored(hass, sim_device, setup_entry, mac=MAC_A, name="a")
    dev_b, entry_b, coord_b = await monitored(hass, sim_device, setup_entry, mac=MAC_B, name="b")
    await enable_policy(hass, entry_a)
    await enable_policy(hass, entry_b)
    dev_a.set_value("heap_free", LOW_HEAP, until_reboot=True)
    dev_b.set_value("heap_free", LOW_HEAP, until_reboot=True)
    await push(dev_a, coord_a)
    await wait_for(lambda: bool(events), what="first recovery started")
    await push(dev_b, coord_b)
    await wait_skipped(hass, entry_b, "busy")
    await wait_outcomes(hass, events, 1, entry_a)
    await push(dev_b, coord_b)
    await wait_outcomes(hass, events, 1, entry_b)

    running = 0
    for event in events:
        running += 1 if event.data["phase"] == "started" else -1
        assert 0 <= running <= 1
    assert [(e.data["entry_id"], e.data["phase"]) for e in events] == [
        (entry_a.entry_id, "started"),
        (entry_a.entry_id, "succeeded"),
        (entry_b.entry_id, "started"),
        (entry_b.entry_id, "succeeded"),
    ]
    assert dev_a.button_presses == dev_b.button_presses == ["restart"]


async def test_policy_stays_away_during_a_firmware_update(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Never during a firmware update; right after it, the policy may act."""
    events = async_capture_events(hass, EVENT_RECOVERY)
    device, entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC_A)
    await enable_policy(hass, entry)
    coordinator.firmware_update_in_progress = True
    device.set_value("heap_free", LOW_HEAP, until_reboot=True)
    await push(device, coordinator)
    await wait_skipped(hass, entry, "firmware_update")
    assert device.button_presses == []
    coordinator.firmware_update_in_progress = False
    await push(device, coordinator)
    await wait_outcomes(hass, events, 1)
    assert device.button_presses == ["restart"]


@FROZEN
async def test_reboots_during_a_monitoring_gap_never_trigger_it(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """C04: three reboots while nobody watched are no crash loop and start nothing."""
    events = async_capture_events(hass, EVENT_RECOVERY)
    device, entry, coordinator = await monitored(
        hass, sim_device, setup_entry, mac=MAC_A, reboot_timeout=900.0
    )
    await enable_policy(hass, entry, auto_recover_risk="medium")
    await device.go_offline()
    await wait_for(lambda: not coordinator.link.connected, what="offline")
    freezer.tick(timedelta(seconds=3 * 900 + 300))
    device.advance(3 * 900 + 300)
    assert len(device.reboots) == 3
    await device.come_back()
    await wait_for(lambda: coordinator.link.connected, hass=hass, fire_timers=True, what="back")
    await push(device, coordinator)
    await wait_for(
        lambda: coordinator.data.report.reboots_24h >= 1,
        hass=hass,
        fire_timers=True,
        what="the gap reboot recorded",
    )
    await push(device, coordinator)
    report = coordinator.data.report
    assert report.crashes_24h == 0
    assert report.reboots_24h >= 1
    assert report.risk_level == "low"
    diagnosis = healer_of(hass, entry).diagnose()
    assert not diagnosis.issues_of(IssueType.CRASH_LOOP)
    assert device.button_presses == []
    assert events == []
