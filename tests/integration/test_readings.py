"""Invalid readings never reach a model or an entity (C08); silent devices are flagged (C10)."""

from __future__ import annotations

import math

import pytest
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant

from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from custom_components.predictive_maintenance.device.reporting import MISSED_INTERVALS
from simulator import SimulatedDevice

from .conftest import EntryFactory, SimDeviceFactory
from .helpers import push_and_wait, state, state_value, wait_for

MAC = "02:00:00:00:07:01"


async def _push_value(
    device: SimulatedDevice, coordinator: DeviceCoordinator, metric: str, value: float
) -> None:
    device.set_value(metric, value)
    device.advance(60)
    await push_and_wait(device, coordinator)


@pytest.mark.usefixtures("enable_all_entities")
async def test_sentinels_and_failed_reads_change_nothing(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """-127 dBm, 53.3 °C on an original ESP32, NaN and inf: no sample, no nan, no anomaly."""
    device = await sim_device(mac=MAC, model="esp32dev")
    entry = await setup_entry(device)
    coordinator: DeviceCoordinator = entry.runtime_data
    for rssi, temperature in ((-51.0, 44.4), (-52.0, 44.6), (-51.0, 44.5)):
        device.set_value("wifi_signal", rssi)
        await _push_value(device, coordinator, "internal_temperature", temperature)
    await wait_for(
        lambda: state_value(hass, MAC, "internal_temperature") == "44.5", what="valid temperature"
    )

    signal = coordinator.analytics.to_dict()["detectors"]["wifi_signal"]
    temperature = coordinator.analytics.to_dict()["detectors"]["internal_temperature"]
    device.set_value("wifi_signal", -127.0)
    await _push_value(device, coordinator, "internal_temperature", 53.3)
    for bad in (math.nan, math.inf, -math.inf):
        await _push_value(device, coordinator, "internal_temperature", bad)
    device.set_value("wifi_signal", 0.0)
    await _push_value(device, coordinator, "internal_temperature", 53.3)

    detectors = coordinator.analytics.to_dict()["detectors"]
    assert detectors["wifi_signal"] == signal
    assert detectors["internal_temperature"] == temperature
    assert coordinator.analytics.report().anomaly_count == 0
    uptime = float(int(device.uptime))
    await wait_for(lambda: coordinator.data.metrics.get("uptime") == uptime, what="published")
    for key in ("internal_temperature", "wifi_signal", "health_score", "failure_probability"):
        current = state(hass, MAC, key)
        assert current is not None
        assert current.state not in ("nan", "inf", "-inf", STATE_UNAVAILABLE)
    assert state_value(hass, MAC, "internal_temperature") == "44.5"
    assert state_value(hass, MAC, "wifi_signal") == "-51.0"


async def test_53_3_is_a_normal_value_on_other_chips(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """On an ESP32-S3, 53.3 °C is a real temperature and is learned."""
    device = await sim_device(mac=MAC, model="esp32-s3-devkitc-1")
    entry = await setup_entry(device)
    coordinator: DeviceCoordinator = entry.runtime_data
    await _push_value(device, coordinator, "internal_temperature", 53.3)
    assert coordinator.analytics.last_values["internal_temperature"] == 53.3


async def test_connected_but_silent_device_is_flagged(
    hass: HomeAssistant, sim_device: SimDeviceFactory, setup_entry: EntryFactory
) -> None:
    """C10: after 5 missed intervals the device is not reporting; a push clears it."""
    device = await sim_device(mac=MAC)
    entry = await setup_entry(device)
    coordinator: DeviceCoordinator = entry.runtime_data
    device.advance(60)
    await push_and_wait(device, coordinator)
    last = coordinator.last_uptime
    assert last is not None
    samples = {m: d.samples for m, d in coordinator.analytics.detectors.items()}
    interval = coordinator.data.expected_interval

    coordinator.async_check_reporting(now=last.at + (MISSED_INTERVALS - 0.5) * interval)
    assert not coordinator.data.not_reporting
    coordinator.async_check_reporting(now=last.at + (MISSED_INTERVALS + 0.5) * interval)
    assert coordinator.data.not_reporting
    health = state(hass, MAC, "health_score")
    assert health is not None
    assert health.attributes["not_reporting"] is True
    assert health.state != STATE_UNAVAILABLE  # connected, so still available
    # Silence feeds nothing into the models and is no reboot.
    assert {m: d.samples for m, d in coordinator.analytics.detectors.items()} == samples
    assert len(coordinator.analytics.reboots.entries) == 0

    device.advance(60)
    await push_and_wait(device, coordinator)
    await wait_for(lambda: not coordinator.data.not_reporting, what="reporting again")
