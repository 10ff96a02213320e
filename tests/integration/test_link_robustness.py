"""A device that reboots while a client connects must not take Home Assistant down.

With aioesphomeapi 29.x, a DisconnectRequest in the same read as the handshake's last answer
leaves a connection that claims to be connected but has no frame helper; the next request
on it crashed the interpreter (a segfault, not an exception). The simulator sends the
DisconnectRequest right after its HelloResponse, so these tests hit that window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.predictive_maintenance.device.probe import (
    CannotConnectError,
    async_probe_device,
)

from .conftest import EntryFactory, SimDeviceFactory
from .helpers import state_value, wait_for

MAC = "02:00:00:00:08:01"
LINK_LOGGER = "custom_components.predictive_maintenance.device.link"
TORN_DOWN = "closed the connection during the handshake"
NO_TIMEOUT = 3600.0


def _online(hass: HomeAssistant) -> bool:
    return state_value(hass, MAC, "health_score") not in (None, STATE_UNAVAILABLE)


@contextlib.asynccontextmanager
async def _reconnect_timers_firing(hass: HomeAssistant) -> AsyncIterator[None]:
    """Let ReconnectLogic's cooldown timers run while the test waits on the device."""

    async def tick() -> None:
        while True:
            async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=61))
            await asyncio.sleep(0.1)

    task = asyncio.get_running_loop().create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_restart_right_after_connect_survives_and_recovers(
    hass: HomeAssistant,
    sim_device: SimDeviceFactory,
    setup_entry: EntryFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Reboots that land inside the handshake, again and again: no crash, back online."""
    caplog.set_level(logging.DEBUG, logger=LINK_LOGGER)
    device = await sim_device(mac=MAC)
    restarts = 4

    async def restart_on_every_hello() -> None:
        # Fired timers would end a short asyncio timeout at once; wait_for below bounds it.
        for _ in range(restarts):
            await device.wait_for_clients(1, timeout=NO_TIMEOUT)
            await device.restart()
            await device.wait_online(timeout=NO_TIMEOUT)

    saboteur = asyncio.get_running_loop().create_task(restart_on_every_hello())
    await setup_entry(device)
    async with _reconnect_timers_firing(hass):
        try:
            await wait_for(saboteur.done, timeout=60, what="the reboots")
        finally:
            saboteur.cancel()
        saboteur.result()
        await wait_for(lambda: _online(hass), what="online after the reboots")
    assert device.boot_count == restarts
    assert TORN_DOWN in caplog.text

    # The connection that finally came up is a working one.
    await device.push_states()
    await wait_for(
        lambda: state_value(hass, MAC, "health_score") not in (None, STATE_UNAVAILABLE),
        what="readings",
    )


async def test_probe_survives_a_restart_during_its_handshake(
    sim_device: SimDeviceFactory,
) -> None:
    """The config flow's probe reports cannot-connect instead of crashing."""
    device = await sim_device(mac=MAC)
    probe = asyncio.get_running_loop().create_task(
        async_probe_device(device.host, device.port, None)
    )
    await device.wait_for_clients(1)
    await device.restart()
    with pytest.raises(CannotConnectError):
        await probe
    await device.wait_online()
    identity = await async_probe_device(device.host, device.port, None)
    assert identity.mac == MAC.upper()
