"""Config entry diagnostics: device, snapshot and analytics, with the key redacted."""

from __future__ import annotations

import base64
import json

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.predictive_maintenance.coordinator import DeviceCoordinator

from .conftest import EntryFactory, SimDeviceFactory
from .helpers import push_and_wait, state_value, wait_for

MAC = "02:00:00:00:06:01"
KEY = base64.b64encode(bytes(range(7, 39))).decode()


async def test_diagnostics_redact_the_key(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
) -> None:
    """The key never appears; device info, snapshot and model summary do."""
    device = await sim_device(name="esp-diag", friendly_name="ESP Diag", mac=MAC, noise_psk=KEY)
    entry = await setup_entry(device, noise_psk=KEY)
    coordinator: DeviceCoordinator = entry.runtime_data
    for _ in range(3):
        device.advance(60)
        await push_and_wait(device, coordinator)
    await wait_for(
        lambda: state_value(hass, MAC, "health_score") not in (None, STATE_UNAVAILABLE),
        what="online",
    )
    await wait_for(lambda: "heap_free" in coordinator.data.metrics, what="published metrics")

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)

    assert KEY not in json.dumps(diagnostics)
    assert diagnostics["entry"]["data"]["noise_psk"] == "**REDACTED**"
    assert diagnostics["entry"]["data"]["port"] == device.port
    assert diagnostics["device"]["mac"] == MAC.lower()
    assert diagnostics["device"]["friendly_name"] == "ESP Diag"
    snapshot = diagnostics["snapshot"]
    assert snapshot["online"] is True
    assert snapshot["metrics"]["heap_free"] > 0
    assert snapshot["report"]["risk_level"] == "low"
    assert diagnostics["analytics"]["samples"]["heap_free"] >= 3
    assert diagnostics["link"]["bindings"]["wifi_signal"] == {
        "metric": "wifi_signal",
        "unit": "dBm",
    }
