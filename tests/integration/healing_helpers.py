"""Helpers of the self-healing tests: monitored simulated devices, service calls."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import format_mac
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.predictive_maintenance.const import DOMAIN
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from custom_components.predictive_maintenance.healer import DeviceHealer
from custom_components.predictive_maintenance.self_healing import healing_runtime
from simulator import SimulatedDevice

from .conftest import EntryFactory, SimDeviceFactory
from .helpers import push_and_wait, wait_for

# The simulator drops clients silent for 2.5 ping intervals of loop time; tests that jump
# the clock must not lose their connection to that.
CALM = {"ping_interval": 86_400.0}


async def monitored(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    *,
    options: dict[str, Any] | None = None,
    **config: Any,
) -> tuple[SimulatedDevice, MockConfigEntry, DeviceCoordinator]:
    """Start a simulated device, monitor it, and wait for its first readings."""
    device = await sim_device(**{**CALM, **config})
    entry = await setup_entry(device, options=options or {})
    coordinator: DeviceCoordinator = entry.runtime_data
    await wait_for(lambda: coordinator.link.connected, what="connected")
    device.advance(60)
    await push_and_wait(device, coordinator)
    return device, entry, coordinator


def device_id(hass: HomeAssistant, mac: str) -> str:
    """Return the registry id of a monitored device."""
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, format_mac(mac))})
    assert device is not None
    return device.id


def healer_of(hass: HomeAssistant, entry: MockConfigEntry) -> DeviceHealer:
    """Return the healer of a loaded entry."""
    return healing_runtime(hass).healers[entry.entry_id]


async def call(
    hass: HomeAssistant,
    service: str,
    data: dict[str, Any],
    *,
    timeout: float = 60.0,  # noqa: ASYNC109
) -> dict[str, Any]:
    """Call one of our services for its response, firing reconnect timers meanwhile."""
    task = hass.async_create_task(
        hass.services.async_call(DOMAIN, service, data, blocking=True, return_response=True)
    )
    await wait_for(task.done, hass=hass, fire_timers=True, timeout=timeout, what=service)
    result = task.result()
    assert isinstance(result, dict)
    return result


async def push(
    device: SimulatedDevice, coordinator: DeviceCoordinator, seconds: float = 60
) -> None:
    """Let simulated time pass and deliver the device's readings."""
    device.advance(seconds)
    await push_and_wait(device, coordinator)
