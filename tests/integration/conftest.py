"""Fixtures for Home Assistant tests against simulated ESPHome devices.

Generic on purpose: any test here can start simulated devices (`sim_device`) and set up
monitored entries for them (`setup_entry`). Sockets are enabled for every test in this
folder, since the simulator listens on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from unittest.mock import PropertyMock, patch

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import format_mac
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.predictive_maintenance.const import CONF_NOISE_PSK, DOMAIN
from simulator import DeviceConfig, SimulatedDevice

type SimDeviceFactory = Callable[..., Awaitable[SimulatedDevice]]
type EntryFactory = Callable[..., Awaitable[MockConfigEntry]]

# Tests drive time themselves: no background pushes, a clock that moves only with
# advance(), and a short reboot so reconnects do not wait on the device.
SIM_DEFAULTS: dict[str, Any] = {
    "port": 0,
    "push_interval": None,
    "time_scale": 0.0,
    "reboot_delay": 0.2,
}


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Allow real TCP to the simulator (the HA test plugin disables sockets)."""


@pytest.fixture
async def sim_device() -> AsyncIterator[SimDeviceFactory]:
    """Start simulated devices (DeviceConfig keyword arguments); stop them all afterwards."""
    started: list[SimulatedDevice] = []

    async def start(**config: Any) -> SimulatedDevice:
        device = SimulatedDevice(DeviceConfig(**{**SIM_DEFAULTS, **config}))
        await device.start()
        started.append(device)
        return device

    yield start
    for device in started:
        await device.stop()


def entry_for(
    device: SimulatedDevice, noise_psk: str | None = None, **kwargs: Any
) -> MockConfigEntry:
    """Return a config entry (not yet added) that monitors a simulated device."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=device.config.friendly_name or device.name,
        unique_id=format_mac(device.mac),
        data={
            CONF_HOST: device.host,
            CONF_PORT: device.port,
            CONF_NOISE_PSK: noise_psk if noise_psk is not None else (device.noise_psk or ""),
        },
        **kwargs,
    )


@pytest.fixture
async def setup_entry(hass: HomeAssistant) -> AsyncIterator[EntryFactory]:
    """Add and set up an entry for a device; every loaded entry is unloaded afterwards."""
    entries: list[MockConfigEntry] = []

    async def setup(
        device: SimulatedDevice, noise_psk: str | None = None, **kwargs: Any
    ) -> MockConfigEntry:
        entry = entry_for(device, noise_psk, **kwargs)
        entry.add_to_hass(hass)
        entries.append(entry)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        return entry

    yield setup
    for entry in entries:
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
def enable_all_entities() -> Iterator[None]:
    """Create entities that are disabled by default as enabled."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield
