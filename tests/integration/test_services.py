"""The self-healing services against simulated devices: real restarts, real answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.predictive_maintenance import recovery
from custom_components.predictive_maintenance.const import DOMAIN
from custom_components.predictive_maintenance.device.reboots import UptimeReading

from .conftest import EntryFactory, SimDeviceFactory
from .healing_helpers import call, device_id, healer_of, monitored, push
from .helpers import wait_for

MAC = "02:00:00:00:40:01"
PSK = "px7tsbK3C7bpXHr2OevEV2ZMg/FrNBw2+O2pNPbedtA="
UP = UptimeReading(1e9, 0.0)


async def test_diagnose_healthy_device_reads_symptoms(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Symptoms are understood or echoed as not understood; a healthy device has no issue."""
    await monitored(hass, sim_device, setup_entry, mac=MAC)
    response = await call(
        hass,
        "diagnose",
        {
            "device_id": device_id(hass, MAC),
            "symptoms": ["slow performance", "high memory usage", "the cat looks sad"],
        },
    )
    diagnosis = response["diagnosis"]
    types = {issue["type"] for issue in diagnosis["issues"]}
    assert types <= {"configuration"}  # plaintext API only
    symptoms = {s["text"]: s for s in diagnosis["symptoms"]}
    assert symptoms["slow performance"]["issue_types"] == ["performance"]
    assert symptoms["high memory usage"]["issue_types"] == ["memory"]
    assert symptoms["the cat looks sad"]["understood"] is False
    text = " ".join(diagnosis["recommendations"])
    assert "not understood" in text
    assert "Checked performance" in text
    assert "Checked memory" in text


async def test_recover_memory_restarts_and_sees_the_heap_recover(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """memory -> restart button; succeeded only after uptime reset and heap recovered."""
    device, _entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    device.set_value("heap_free", 18_000.0, until_reboot=True)
    await push(device, coordinator, 3600)
    response = await call(
        hass, "recover", {"device_id": device_id(hass, MAC), "issue_type": "memory"}
    )
    actions = response["recovery_actions"]
    assert [a["action"] for a in actions] == ["restart", "verify_memory"]
    assert [a["status"] for a in actions] == ["succeeded", "succeeded"], actions
    assert device.button_presses == ["restart"]
    last = coordinator.last_uptime
    assert last is not None
    assert last.uptime < 60
    assert coordinator.monitor.values["heap_free"] > 18_000.0


async def test_recover_memory_fails_honestly_when_the_restart_does_not_cure_it(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """A leak that resumes at once: the restart happened, the heap did not recover."""
    device, _entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    device.set_value("heap_free", 18_000.0)
    await push(device, coordinator)
    response = await call(
        hass, "recover", {"device_id": device_id(hass, MAC), "issue_type": "memory"}
    )
    restart, verify = response["recovery_actions"]
    assert restart["status"] == "succeeded"
    assert verify["status"] == "failed"
    assert "no improvement" in verify["details"]
    assert device.button_presses == ["restart"]


async def test_recover_times_out_when_the_device_does_not_come_back(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The device went away after the press and stayed away: timed_out, not success."""
    monkeypatch.setattr(recovery.TIMEOUTS, "come_back", 3.0)
    device, _entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    task = hass.async_create_task(
        call(hass, "recover", {"device_id": device_id(hass, MAC), "issue_type": "memory"})
    )
    await wait_for(lambda: device.button_presses == ["restart"], what="restart pressed")
    await device.go_offline()
    await wait_for(task.done, timeout=60, what="recover")
    (restart,) = task.result()["recovery_actions"]
    assert restart["status"] == "timed_out"
    assert "did not come back" in restart["details"]
    assert not coordinator.link.connected


async def test_recover_crash_loop_boots_into_safe_mode(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """crash_loop -> safe_mode button; the device really boots into safe mode."""
    device, _entry, _coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    response = await call(
        hass, "recover", {"device_id": device_id(hass, MAC), "issue_type": "crash_loop"}
    )
    (action,) = response["recovery_actions"]
    assert action["action"] == "safe_mode"
    assert action["status"] == "succeeded", action
    assert device.button_presses == ["safe_mode"]
    assert device.in_safe_mode


async def test_recover_connectivity_reconnects_then_restarts_if_still_bad(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """A good signal after the reconnect ends it; a bad one is followed by a restart."""
    device, _entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    attempts = device.connection_attempts
    response = await call(
        hass, "recover", {"device_id": device_id(hass, MAC), "issue_type": "connectivity"}
    )
    reconnect, restart = response["recovery_actions"]
    assert reconnect["status"] == "succeeded"
    assert restart["status"] == "skipped"
    assert device.connection_attempts > attempts
    assert device.button_presses == []

    device.set_value("wifi_signal", -86.0)
    await push(device, coordinator)
    response = await call(
        hass, "recover", {"device_id": device_id(hass, MAC), "issue_type": "connectivity"}
    )
    statuses = [(a["action"], a["status"]) for a in response["recovery_actions"]]
    assert statuses == [
        ("reconnect", "succeeded"),
        ("restart", "succeeded"),
        ("verify_connectivity", "failed"),
    ]
    assert device.button_presses == ["restart"]


async def test_recover_reports_what_it_cannot_do(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """firmware and thermal without a load switch: unavailable with a reason, nothing pressed."""
    device, _entry, _coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    for issue_type, action in (("firmware", "rollback"), ("thermal", "none")):
        response = await call(
            hass, "recover", {"device_id": device_id(hass, MAC), "issue_type": issue_type}
        )
        (result,) = response["recovery_actions"]
        assert result["action"] == action
        assert result["status"] == "unavailable"
        assert result["details"]
    assert device.button_presses == []


@pytest.mark.freeze_time("2026-12-03 12:00:00", tick=True)
async def test_not_reporting_is_diagnosed_and_recovered_by_restart(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """C10: silent while connected; a restart recovers it once readings resume."""
    device, _entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    await push(device, coordinator)
    freezer.tick(timedelta(minutes=10))
    dev_id = device_id(hass, MAC)
    diagnosis = (await call(hass, "diagnose", {"device_id": dev_id}))["diagnosis"]
    (issue,) = [i for i in diagnosis["issues"] if i["type"] == "not_reporting"]
    assert issue["evidence"]["last_sample_age_s"] >= 590
    assert issue["evidence"]["expected_interval_s"] == 60
    assert issue["auto_recoverable"] is True
    validation = await call(hass, "validate", {"device_id": dev_id})
    assert validation["validation_result"] == "failed"

    response = await call(hass, "recover", {"device_id": dev_id, "issue_type": "not_reporting"})
    assert [(a["action"], a["status"]) for a in response["recovery_actions"]] == [
        ("restart", "succeeded"),
        ("verify_reporting", "succeeded"),
    ]
    validation = await call(hass, "validate", {"device_id": dev_id})
    checks = {c["check"]: c["status"] for c in validation["checks"]}
    assert checks["reporting"] == "passed"
    assert checks["reachable"] == "passed"


async def test_diagnose_fragmentation_c07(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C07: largest block under 10 % of free heap is fragmentation, with the ratio as evidence."""
    device, _entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    device.set_value("heap_free", 25_000.0)
    device.set_value("heap_max_block", 2_200.0)
    await push(device, coordinator)
    diagnosis = (await call(hass, "diagnose", {"device_id": device_id(hass, MAC)}))["diagnosis"]
    memory = {i["subtype"]: i for i in diagnosis["issues"] if i["type"] == "memory"}
    assert "fragmentation" in memory
    evidence = memory["fragmentation"]["evidence"]
    assert evidence["ratio"] < 0.10
    assert evidence["value"] == 2_200.0
    assert evidence["heap_free"] == 25_000.0
    assert diagnosis["severity"] in ("high", "critical")


async def test_diagnose_crash_loop_from_observed_crashes_c04(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C04: 3 observed crashes in an hour are a crash loop, risk at least medium."""
    device, _entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    for _ in range(3):
        await push(device, coordinator, 600)
        await device.crash("Task watchdog")
        await wait_for(
            lambda: coordinator.link.connected and (coordinator.last_uptime or UP).uptime < 1,
            hass=hass,
            fire_timers=True,
            what="back after the crash",
        )
    diagnosis = (await call(hass, "diagnose", {"device_id": device_id(hass, MAC)}))["diagnosis"]
    (issue,) = [i for i in diagnosis["issues"] if i["type"] == "crash_loop"]
    assert issue["evidence"]["crashes_1h"] == 3
    assert issue["evidence"]["reset_reasons"] == {"Task watchdog": 3}
    assert coordinator.data.report.risk_level in ("medium", "high", "critical")


async def test_repair_config_checks_and_reports(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """network, api, sensors, ota: what was checked, what needs the user."""
    device, entry, _coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    dev_id = device_id(hass, MAC)

    async def repairs(config_type: str) -> dict[str, dict[str, str]]:
        response = await call(
            hass, "repair_config", {"device_id": dev_id, "config_type": config_type}
        )
        return {item["item"]: item for item in response["repairs"]}

    network = await repairs("network")
    assert network["reachable"]["status"] == "ok"
    assert network["reconnect_rate"]["status"] == "ok"
    assert network["signal"]["status"] == "ok"
    api = await repairs("api")
    assert api["encryption"]["status"] == "needs_user"
    assert "api: encryption: key:" in api["encryption"]["action"]
    assert api["key"]["status"] == "ok"
    sensors = await repairs("sensors")
    assert {item["status"] for item in sensors.values()} == {"ok"}
    ota = await repairs("ota")
    assert ota["ota_port"]["status"] == "needs_user"  # nothing listens on 3232 here
    assert ota["ota_password"]["status"] == "needs_user"
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, "ota_port": device.ota_port, "ota_password": "s3cret"}
    )
    # Called without firing timers: that would end the port check's own timeout early.
    response = await hass.services.async_call(
        DOMAIN,
        "repair_config",
        {"device_id": dev_id, "config_type": "ota"},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    ota = {item["item"]: item for item in response["repairs"]}
    assert ota["ota_port"]["status"] == "ok"
    assert ota["ota_password"]["status"] == "ok"
    assert "s3cret" not in str(ota)
    assert device.button_presses == []


async def test_repair_config_sensors_names_the_missing_components(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """A device without `debug:` sensors: which metrics are missing and what to add."""
    device = await sim_device(mac=MAC)
    device.set_sensors(["wifi_signal", "uptime"])
    await setup_entry(device)
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    await wait_for(lambda: entry.runtime_data.link.connected, what="connected")
    response = await call(
        hass, "repair_config", {"device_id": device_id(hass, MAC), "config_type": "sensors"}
    )
    items = {item["item"]: item for item in response["repairs"]}
    assert items["uptime"]["status"] == "ok"
    assert items["heap_free"]["status"] == "needs_user"
    assert "debug" in items["heap_free"]["action"]
    assert "internal_temperature" in items["internal_temperature"]["action"]


async def test_validate_encrypted_healthy_device(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Reachable, encrypted, within thresholds, firmware as last seen: passed."""
    await monitored(hass, sim_device, setup_entry, mac=MAC, noise_psk=PSK)
    response = await call(hass, "validate", {"device_id": device_id(hass, MAC)})
    checks = {c["check"]: c for c in response["checks"]}
    assert response["validation_result"] == "passed", response
    assert checks["reachable"]["status"] == "passed"
    assert checks["encrypted"]["status"] == "passed"
    assert checks["metrics_within_thresholds"]["status"] == "passed"
    assert checks["baseline_healthy"]["status"] == "warning"  # still warming up
    assert checks["firmware_as_expected"]["status"] == "passed"
    assert checks["firmware_as_expected"]["details"] == "running 1.0.0"


async def test_validate_fails_on_a_firmware_rollback(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C02: the device comes back on an older version than it ran: rollback, validate fails."""
    device, _entry, coordinator = await monitored(
        hass, sim_device, setup_entry, mac=MAC, project_version="2.6.4"
    )
    device.set_firmware(project_version="2.6.3")
    await device.restart()
    await wait_for(
        lambda: (
            coordinator.link.connected
            and coordinator.data.details is not None
            and coordinator.data.details.project_version == "2.6.3"
        ),
        hass=hass,
        fire_timers=True,
        what="back on 2.6.3",
    )
    dev_id = device_id(hass, MAC)
    response = await call(hass, "validate", {"device_id": dev_id})
    checks = {c["check"]: c for c in response["checks"]}
    assert response["validation_result"] == "failed"
    assert checks["firmware_as_expected"]["details"] == "running 2.6.3, expected 2.6.4"
    diagnosis = (await call(hass, "diagnose", {"device_id": dev_id}))["diagnosis"]
    (issue,) = [i for i in diagnosis["issues"] if i["type"] == "firmware"]
    assert issue["subtype"] == "rollback"


# ---- bad input ----------------------------------------------------------------------


async def _expect_error(hass: HomeAssistant, service: str, data: dict[str, Any], key: str) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, service, data, blocking=True, return_response=True)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert str(err.value)  # the translated message renders with its placeholders


async def test_bad_input_gives_translated_errors_and_changes_nothing(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """Unknown device, another integration's device, unknown issue or config type."""
    device, entry, _coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    dev_id = device_id(hass, MAC)
    other_entry = MockConfigEntry(domain="other_integration")
    other_entry.add_to_hass(hass)
    other = dr.async_get(hass).async_get_or_create(
        config_entry_id=other_entry.entry_id, identifiers={("other_integration", "x")}, name="Lamp"
    )
    audit_before = list(healer_of(hass, entry).store.audit)

    for service in ("diagnose", "validate"):
        await _expect_error(hass, service, {"device_id": "nope"}, "unknown_device")
        await _expect_error(hass, service, {"device_id": other.id}, "not_our_device")
    await _expect_error(
        hass, "recover", {"device_id": dev_id, "issue_type": "gremlins"}, "unknown_issue_type"
    )
    await _expect_error(
        hass, "repair_config", {"device_id": dev_id, "config_type": "dns"}, "unknown_config_type"
    )
    assert device.button_presses == []
    assert list(healer_of(hass, entry).store.audit) == audit_before

    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await _expect_error(hass, "validate", {"device_id": dev_id}, "device_not_loaded")


async def test_recover_needs_a_connected_device(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """A restart of an offline device is a runtime failure, not a silent no-op."""
    device, _entry, coordinator = await monitored(hass, sim_device, setup_entry, mac=MAC)
    await device.go_offline()
    await wait_for(lambda: not coordinator.link.connected, what="offline")
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "recover",
            {"device_id": device_id(hass, MAC), "issue_type": "memory"},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "device_not_connected"
    assert device.button_presses == []


async def test_recover_thermal_turns_off_the_mapped_load_switch(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """With a load switch in the options: switch.turn_off, then the temperature must fall."""
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"heater": {"initial": True}}}
    )
    heater = "input_boolean.heater"
    assert await async_setup_component(
        hass,
        "switch",
        {
            "switch": [
                {
                    "platform": "template",
                    "switches": {
                        "heater": {
                            "value_template": f"{{{{ is_state('{heater}', 'on') }}}}",
                            "turn_on": {
                                "action": "input_boolean.turn_on",
                                "target": {"entity_id": heater},
                            },
                            "turn_off": {
                                "action": "input_boolean.turn_off",
                                "target": {"entity_id": heater},
                            },
                        }
                    },
                }
            ]
        },
    )
    await hass.async_block_till_done()
    device, _entry, coordinator = await monitored(
        hass, sim_device, setup_entry, mac=MAC, options={"thermal_load_switch": "switch.heater"}
    )
    device.set_value("internal_temperature", 82.0)
    await push(device, coordinator)
    diagnosis = (await call(hass, "diagnose", {"device_id": device_id(hass, MAC)}))["diagnosis"]
    (issue,) = [i for i in diagnosis["issues"] if i["type"] == "thermal"]
    assert issue["auto_recoverable"] is True

    task = hass.async_create_task(
        call(hass, "recover", {"device_id": device_id(hass, MAC), "issue_type": "thermal"})
    )
    await wait_for(lambda: hass.states.is_state("switch.heater", "off"), what="heater off")
    device.set_value("internal_temperature", 64.0)  # the load is off: the chip cools down
    await push(device, coordinator)
    await wait_for(task.done, what="recover")
    actions = task.result()["recovery_actions"]
    assert [(a["action"], a["status"]) for a in actions] == [
        ("load_switch_off", "succeeded"),
        ("verify_thermal", "succeeded"),
    ]
    assert device.button_presses == []
