"""Repair issues against simulated devices: raised, fixed through their fix flow, cleared."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from homeassistant.components.repairs import RepairsFlowManager, repairs_flow_manager
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.predictive_maintenance.const import (
    CONF_MONITORING_PAUSED,
    CONF_NOISE_PSK,
    DOMAIN,
)
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from custom_components.predictive_maintenance.device.link import ConnectFailure
from custom_components.predictive_maintenance.issues import (
    NO_METRICS_URL,
    RepairIssue,
    issue_id,
)
from custom_components.predictive_maintenance.repairs import PROBE_ERRORS
from simulator import SimulatedDevice

from .conftest import EntryFactory, SimDeviceFactory
from .helpers import entity_id, push_and_wait, state_value, wait_for

MAC = "02:00:00:00:05:01"
OTHER_MAC = "02:00:00:00:05:0c"
KEY = base64.b64encode(bytes(range(32))).decode()
NEW_KEY = base64.b64encode(bytes(range(60, 92))).decode()
PACKAGE = Path(__file__).resolve().parents[2] / "custom_components" / DOMAIN
HARDWARE = ("internal_temperature", "wifi_signal", "heap_free", "heap_max_block", "heap_min_free")


# ---------------------------------------------------------------- helpers


def _issue(hass: HomeAssistant, entry: MockConfigEntry, kind: RepairIssue) -> ir.IssueEntry | None:
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id(kind, entry.entry_id))
    if issue is None or not issue.active or issue.translation_key != kind.value:
        return None
    return issue


def _issues(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    """Translation keys of the active issues of one entry."""
    return {
        str(issue.translation_key)
        for issue in ir.async_get(hass).issues.values()
        if issue.domain == DOMAIN
        and issue.active
        and (issue.data or {}).get("entry_id") == entry.entry_id
    }


def _reauth_flows(hass: HomeAssistant) -> list[Any]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"].get("source") == SOURCE_REAUTH
    ]


def _online(hass: HomeAssistant, mac: str = MAC) -> bool:
    return state_value(hass, mac, "health_score") not in (None, STATE_UNAVAILABLE)


async def _manager(hass: HomeAssistant) -> RepairsFlowManager:
    assert await async_setup_component(hass, "repairs", {})
    manager = repairs_flow_manager(hass)
    assert manager is not None
    return manager


async def _start_fix(
    hass: HomeAssistant, entry: MockConfigEntry, kind: RepairIssue
) -> tuple[RepairsFlowManager, dict[str, Any]]:
    manager = await _manager(hass)
    result = await manager.async_init(DOMAIN, data={"issue_id": issue_id(kind, entry.entry_id)})
    return manager, dict(result)


async def _configure(
    manager: RepairsFlowManager, result: dict[str, Any], user_input: dict[str, Any]
) -> dict[str, Any]:
    return dict(await manager.async_configure(result["flow_id"], user_input))


async def _learn(device: SimulatedDevice, coordinator: DeviceCoordinator, pushes: int) -> None:
    for _ in range(pushes):
        device.advance(30)
        await push_and_wait(device, coordinator)


def _coordinator(entry: MockConfigEntry) -> DeviceCoordinator:
    coordinator: DeviceCoordinator = entry.runtime_data
    return coordinator


# ---------------------------------------------------------------- strings


def test_every_issue_is_translated() -> None:
    """Each kind has a title; fixable ones a fix flow, the others a description."""
    for name in ("strings.json", "translations/en.json"):
        issues = json.loads((PACKAGE / name).read_text(encoding="utf-8"))["issues"]
        for kind in RepairIssue:
            strings = issues[kind.value]
            assert strings["title"], kind
            if kind is RepairIssue.NO_METRICS:
                assert "debug:" in strings["description"]
                assert "fix_flow" not in strings
            else:
                assert strings["fix_flow"]["step"], kind
                assert "description" not in strings, kind
                assert "entry_removed" in strings["fix_flow"]["abort"], kind
        form_errors = {key for _error, key in PROBE_ERRORS} | {"wrong_device", "unknown"}
        for kind in ("invalid_key", "encryption_removed", "not_encrypted", "unreachable"):
            assert form_errors <= set(issues[kind]["fix_flow"]["error"]), kind
        assert {"not_replaced", "already_monitored"} <= set(
            issues["wrong_device"]["fix_flow"]["abort"]
        )


# ---------------------------------------------------------------- encryption key (C05)


async def test_key_change_raises_one_issue_and_fix_flow_takes_the_new_key(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C05 B: one key issue after 2 failures, no reauth; the fix flow tests and saves the key."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    coordinator = _coordinator(entry)
    await wait_for(lambda: _online(hass), what="online")
    assert _issues(hass, entry) == set()

    device.set_noise_psk(NEW_KEY)
    await device.restart(wait=True)
    await wait_for(
        lambda: device.handshake_failures >= 1, hass=hass, fire_timers=True, what="1st failure"
    )
    await wait_for(
        lambda: coordinator.diagnostics()["consecutive_key_failures"] == 1, what="failure seen"
    )
    assert _issue(hass, entry, RepairIssue.INVALID_KEY) is None

    await wait_for(
        lambda: _issue(hass, entry, RepairIssue.INVALID_KEY) is not None,
        hass=hass,
        fire_timers=True,
        what="key issue",
    )
    await wait_for(
        lambda: device.handshake_failures >= 4, hass=hass, fire_timers=True, what="more failures"
    )
    await hass.async_block_till_done()
    assert _issues(hass, entry) == {"invalid_key"}
    assert _reauth_flows(hass) == []
    # HA raises its own repair for every reauth flow; there is none.
    assert not [i for i in ir.async_get(hass).issues.values() if i.domain != DOMAIN]
    issue = _issue(hass, entry, RepairIssue.INVALID_KEY)
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not _online(hass)

    manager, result = await _start_fix(hass, entry, RepairIssue.INVALID_KEY)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "key"
    result = await _configure(manager, result, {CONF_NOISE_PSK: KEY})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_key"}
    result = await _configure(manager, result, {CONF_NOISE_PSK: "not a key"})
    assert result["errors"] == {"base": "invalid_key"}
    assert entry.data[CONF_NOISE_PSK] == KEY

    result = await _configure(manager, result, {CONF_NOISE_PSK: f'"{NEW_KEY}"'})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.data[CONF_NOISE_PSK] == NEW_KEY
    await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="online, new key")
    await hass.async_block_till_done()
    assert _issues(hass, entry) == set()


async def test_repair_config_points_a_refused_key_to_its_repair_issue(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """repair_config api on a refused key sends the user to the key repair, never to reauth."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    coordinator = _coordinator(entry)
    await wait_for(lambda: _online(hass), what="online")
    device.set_noise_psk(NEW_KEY)
    await device.restart(wait=True)
    await wait_for(
        lambda: coordinator.data.connect_failure is ConnectFailure.INVALID_KEY,
        hass=hass,
        fire_timers=True,
        what="refused key published",
    )

    device_entry = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, dr.format_mac(MAC))})
    assert device_entry is not None
    response = await hass.services.async_call(
        DOMAIN,
        "repair_config",
        {"device_id": device_entry.id, "config_type": "api"},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    items = {item["item"]: item for item in response["repairs"]}
    assert items["key"]["status"] == "needs_user"
    assert "Repairs" in items["key"]["action"]
    await hass.async_block_till_done()
    assert _issues(hass, entry) == {"invalid_key"}
    assert _reauth_flows(hass) == []
    assert KEY not in str(response)
    assert NEW_KEY not in str(response)


async def test_key_issue_clears_when_the_old_key_works_again(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """The fault clears by itself (device flashed back): the issue goes, nobody is asked."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    await wait_for(lambda: _online(hass), what="online")
    device.set_noise_psk(NEW_KEY)
    await device.restart(wait=True)
    await wait_for(
        lambda: _issue(hass, entry, RepairIssue.INVALID_KEY) is not None,
        hass=hass,
        fire_timers=True,
        what="key issue",
    )
    device.set_noise_psk(KEY)
    await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="online again")
    assert _issues(hass, entry) == set()


async def test_one_key_issue_follows_the_device(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """New key first, then encryption removed: still one issue, now saying the latter."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    await wait_for(lambda: _online(hass), what="online")
    device.set_noise_psk(NEW_KEY)
    await device.restart(wait=True)
    await wait_for(
        lambda: _issues(hass, entry) == {"invalid_key"},
        hass=hass,
        fire_timers=True,
        what="key issue",
    )
    device.set_noise_psk(None)
    await wait_for(
        lambda: _issues(hass, entry) == {"encryption_removed"},
        hass=hass,
        fire_timers=True,
        what="encryption removed issue",
    )
    assert len([i for i in ir.async_get(hass).issues.values() if i.domain == DOMAIN]) == 1


async def test_flaky_drops_raise_no_key_issue(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C05 A: connections dropped again and again with the right key are no key problem."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    coordinator = _coordinator(entry)
    await wait_for(lambda: _online(hass), what="online")
    for _ in range(3):
        await device.crash()
        await device.wait_online()
        await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="back")
    await hass.async_block_till_done()
    assert _issues(hass, entry) == set()
    assert _reauth_flows(hass) == []
    assert coordinator.diagnostics()["consecutive_key_failures"] == 0


async def test_encryption_removed_is_no_silent_downgrade(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C05 C: the device went plaintext: an issue, not connected; empty key = keep going."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    coordinator = _coordinator(entry)
    await wait_for(lambda: _online(hass), what="online")

    device.set_noise_psk(None)
    await device.restart(wait=True)
    await wait_for(
        lambda: _issue(hass, entry, RepairIssue.ENCRYPTION_REMOVED) is not None,
        hass=hass,
        fire_timers=True,
        what="encryption removed issue",
    )
    assert _issues(hass, entry) == {"encryption_removed"}
    assert not _online(hass)
    assert coordinator.data.connect_failure is ConnectFailure.PLAINTEXT_ONLY
    assert not coordinator.data.online
    assert _reauth_flows(hass) == []

    manager, result = await _start_fix(hass, entry, RepairIssue.ENCRYPTION_REMOVED)
    assert result["type"] is FlowResultType.FORM, result
    result = await _configure(manager, result, {CONF_NOISE_PSK: NEW_KEY})
    assert result["errors"] == {"base": "device_not_encrypted"}
    assert entry.data[CONF_NOISE_PSK] == KEY

    result = await _configure(manager, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.data[CONF_NOISE_PSK] == ""
    await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="online, plaintext")
    await hass.async_block_till_done()
    # Monitoring goes on without encryption, with the standing warning about it.
    assert _issues(hass, entry) == {"not_encrypted"}


# ---------------------------------------------------------------- not encrypted


async def test_plaintext_device_gets_a_warning_until_it_has_a_key(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """An unencrypted device: warning; its fix flow takes the key once the device has one."""
    device = await sim_device(mac=MAC)
    entry = await setup_entry(device, noise_psk="")
    await wait_for(lambda: _online(hass), what="online")
    await wait_for(
        lambda: _issue(hass, entry, RepairIssue.NOT_ENCRYPTED) is not None, what="warning"
    )
    issue = _issue(hass, entry, RepairIssue.NOT_ENCRYPTED)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.is_fixable

    manager, result = await _start_fix(hass, entry, RepairIssue.NOT_ENCRYPTED)
    result = await _configure(manager, result, {CONF_NOISE_PSK: KEY})
    assert result["errors"] == {"base": "device_not_encrypted"}
    assert entry.data[CONF_NOISE_PSK] == ""

    device.set_noise_psk(KEY)
    await device.restart(wait=True)
    result = await _configure(manager, result, {CONF_NOISE_PSK: KEY})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.data[CONF_NOISE_PSK] == KEY
    await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="online, encrypted")
    await hass.async_block_till_done()
    assert _issues(hass, entry) == set()


# ---------------------------------------------------------------- no metrics


async def test_device_without_metrics_explains_what_to_add(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Only uptime and reset reason: a not-fixable issue that names the components."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    device.set_sensors(["uptime"])
    entry = await setup_entry(device, noise_psk=KEY)
    await wait_for(
        lambda: _issue(hass, entry, RepairIssue.NO_METRICS) is not None, what="no metrics"
    )
    issue = _issue(hass, entry, RepairIssue.NO_METRICS)
    assert issue is not None
    assert not issue.is_fixable
    assert issue.learn_more_url == NO_METRICS_URL
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["name"] == entry.title

    device.set_sensors(None)
    await device.restart(wait=True)
    await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="online")
    await wait_for(lambda: _issues(hass, entry) == set(), what="issue cleared")


# ---------------------------------------------------------------- unreachable


async def test_unreachable_after_30_minutes_and_new_address(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """30 min without an answer: issue; the fix flow only saves an address of this device."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    await wait_for(lambda: _online(hass), what="online")
    await device.go_offline()
    await wait_for(lambda: not _online(hass), what="offline")

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=29))
    await hass.async_block_till_done()
    assert _issue(hass, entry, RepairIssue.UNREACHABLE) is None
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=31))
    await wait_for(
        lambda: _issue(hass, entry, RepairIssue.UNREACHABLE) is not None, what="unreachable"
    )
    assert _issues(hass, entry) == {"unreachable"}

    stranger = await sim_device(mac=OTHER_MAC, noise_psk=KEY)
    moved = await sim_device(mac=MAC, noise_psk=KEY, name=device.name)
    manager, result = await _start_fix(hass, entry, RepairIssue.UNREACHABLE)
    assert result["step_id"] == "address"
    result = await _configure(manager, result, {CONF_HOST: device.host, CONF_PORT: device.port})
    assert result["errors"] == {"base": "cannot_connect"}
    result = await _configure(manager, result, {CONF_HOST: stranger.host, CONF_PORT: stranger.port})
    assert result["errors"] == {"base": "wrong_device"}
    assert entry.data[CONF_PORT] == device.port

    result = await _configure(manager, result, {CONF_HOST: moved.host, CONF_PORT: moved.port})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.data[CONF_PORT] == moved.port
    assert entry.data[CONF_NOISE_PSK] == KEY
    await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="online, moved")
    await hass.async_block_till_done()
    assert _issues(hass, entry) == set()


async def test_unreachable_issue_clears_when_the_device_answers(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Back at its old address: the issue goes away by itself."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    await wait_for(lambda: _online(hass), what="online")
    await device.go_offline()
    await wait_for(lambda: not _online(hass), what="offline")
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=31))
    await wait_for(
        lambda: _issue(hass, entry, RepairIssue.UNREACHABLE) is not None, what="unreachable"
    )
    await device.come_back()
    await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="back")
    assert _issues(hass, entry) == set()


# ---------------------------------------------------------------- replaced hardware (C06)


async def _replace_board(
    hass: HomeAssistant, device: SimulatedDevice, entry: MockConfigEntry, new_mac: str
) -> None:
    device.set_mac(new_mac)
    await device.restart(wait=True)
    await wait_for(
        lambda: _issue(hass, entry, RepairIssue.WRONG_DEVICE) is not None,
        hass=hass,
        fire_timers=True,
        what=f"wrong device issue for {entry.title}",
    )


async def test_replaced_board_follow_keeps_entities_and_rewarms_hardware_baselines(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C06 follow: new unique id and MAC, same entities; temperature/RSSI/heap warm up again."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    coordinator = _coordinator(entry)
    await wait_for(lambda: _online(hass), what="online")
    await _learn(device, coordinator, 6)
    learned = {m: d.samples for m, d in coordinator.analytics.detectors.items()}
    assert learned["internal_temperature"] >= 5
    assert learned["loop_time"] >= 5
    health_entity = entity_id(hass, MAC, "health_score")
    device_id = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, dr.format_mac(MAC))})
    assert device_id is not None

    await _replace_board(hass, device, entry, OTHER_MAC)
    issue = _issue(hass, entry, RepairIssue.WRONG_DEVICE)
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["new_mac"] == dr.format_mac(OTHER_MAC)
    assert not _online(hass)
    # Until the user decides, nothing from the new board reaches the models.
    await device.wait_for_subscribers(1)
    for _ in range(3):
        device.advance(30)
        await device.push_states()
    await hass.async_block_till_done()
    assert {m: d.samples for m, d in coordinator.analytics.detectors.items()} == learned

    manager, result = await _start_fix(hass, entry, RepairIssue.WRONG_DEVICE)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["follow", "stop"]
    result = await _configure(manager, result, {"next_step_id": "follow"})
    assert result["type"] is FlowResultType.CREATE_ENTRY

    new_mac = dr.format_mac(OTHER_MAC)
    assert entry.unique_id == new_mac
    assert entry.state is ConfigEntryState.LOADED
    assert entity_id(hass, OTHER_MAC, "health_score") == health_entity
    moved = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, new_mac)})
    assert moved is not None
    assert moved.id == device_id.id
    assert (dr.CONNECTION_NETWORK_MAC, new_mac) in moved.connections

    coordinator = _coordinator(entry)
    await wait_for(lambda: _online(hass, OTHER_MAC), hass=hass, fire_timers=True, what="online")
    samples = {m: d.samples for m, d in coordinator.analytics.detectors.items()}
    for metric in HARDWARE:
        assert samples.get(metric, 0) <= 1, metric
    assert samples["loop_time"] >= learned["loop_time"]
    await hass.async_block_till_done()
    assert _issues(hass, entry) == set()


async def test_replaced_board_stop_pauses_until_resumed(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C06 stop: the entry stays, nothing connects; resuming asks again while it is wrong."""
    device = await sim_device(mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    await wait_for(lambda: _online(hass), what="online")
    await _replace_board(hass, device, entry, OTHER_MAC)

    manager, result = await _start_fix(hass, entry, RepairIssue.WRONG_DEVICE)
    result = await _configure(manager, result, {"next_step_id": "stop"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await wait_for(lambda: _issues(hass, entry) == {"monitoring_paused"}, what="paused issue")
    await device.wait_for_clients(0)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_MONITORING_PAUSED] is True
    assert entry.unique_id == dr.format_mac(MAC)
    assert _coordinator(entry).data.paused
    assert hass.config_entries.async_get_entry(entry.entry_id) is not None

    # Still paused after a reload (a Home Assistant restart).
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert _issues(hass, entry) == {"monitoring_paused"}
    assert device.client_count == 0

    manager, result = await _start_fix(hass, entry, RepairIssue.MONITORING_PAUSED)
    assert result["step_id"] == "confirm"
    result = await _configure(manager, result, {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert not entry.data[CONF_MONITORING_PAUSED]
    await wait_for(
        lambda: _issues(hass, entry) == {"wrong_device"},
        hass=hass,
        fire_timers=True,
        what="asked again",
    )

    device.set_mac(MAC)
    await device.restart(wait=True)
    await wait_for(lambda: _online(hass), hass=hass, fire_timers=True, what="original back")
    assert _issues(hass, entry) == set()


async def test_five_replaced_boards_get_five_issues(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C06 variant: 5 boards replaced at once: 5 issues, no entry deleted."""
    entries: list[tuple[SimulatedDevice, MockConfigEntry]] = []
    for index in range(5):
        device = await sim_device(mac=f"02:00:00:00:06:{index:02x}", name=f"dev-{index}")
        entries.append((device, await setup_entry(device)))
    for device, _entry in entries:
        await device.wait_for_subscribers(1)
    for index, (device, _entry) in enumerate(entries):
        device.set_mac(f"02:00:00:00:07:{index:02x}")
        await device.restart()
    for _device, entry in entries:
        await wait_for(
            lambda entry=entry: _issue(hass, entry, RepairIssue.WRONG_DEVICE) is not None,
            hass=hass,
            fire_timers=True,
            what=f"issue of {entry.title}",
        )
    wrong = [
        issue
        for issue in ir.async_get(hass).issues.values()
        if issue.domain == DOMAIN and issue.translation_key == "wrong_device"
    ]
    assert len(wrong) == 5
    assert len({issue.issue_id for issue in wrong}) == 5
    assert len(hass.config_entries.async_entries(DOMAIN)) == 5
    for _device, entry in entries:
        assert entry.state is ConfigEntryState.LOADED


async def test_follow_refuses_a_board_that_is_already_monitored(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Following onto a MAC another entry monitors would merge two devices: refused."""
    device = await sim_device(mac=MAC)
    other = await sim_device(mac=OTHER_MAC, name="other")
    entry = await setup_entry(device)
    await setup_entry(other)
    await wait_for(lambda: _online(hass), what="online")
    await _replace_board(hass, device, entry, OTHER_MAC)

    manager, result = await _start_fix(hass, entry, RepairIssue.WRONG_DEVICE)
    result = await _configure(manager, result, {"next_step_id": "follow"})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_monitored"
    assert entry.unique_id == dr.format_mac(MAC)
    assert _issue(hass, entry, RepairIssue.WRONG_DEVICE) is not None


async def test_issues_go_with_the_entry(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Removing the entry removes its issues."""
    device = await sim_device(mac=MAC)
    entry = await setup_entry(device, noise_psk="")
    await wait_for(lambda: _issues(hass, entry) == {"not_encrypted"}, what="warning")
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert _issues(hass, entry) == set()
