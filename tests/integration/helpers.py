"""Helpers shared by the integration tests: waiting on conditions, finding entities."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import format_mac
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.predictive_maintenance.const import DOMAIN
from custom_components.predictive_maintenance.coordinator import DeviceCoordinator
from simulator import SimulatedDevice

DEFAULT_TIMEOUT = 30.0
_POLL = 0.02
# Beyond ReconnectLogic's longest backoff (60 s), so any pending reconnect timer fires.
_RECONNECT_JUMP = timedelta(seconds=61)
_FIRE_EVERY = 0.25


async def wait_for(
    predicate: Callable[[], bool],
    *,
    hass: HomeAssistant | None = None,
    fire_timers: bool = False,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    what: str = "condition",
) -> None:
    """Wait until predicate() holds; with fire_timers, let pending reconnect timers run.

    Firing timers may also end a pending asyncio timeout early; every code path that
    can hit (a connect attempt) recovers by retrying, so the loop converges.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    next_fire = loop.time()
    while not predicate():
        now = loop.time()
        if now > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        if fire_timers and hass is not None and now >= next_fire:
            async_fire_time_changed(hass, dt_util.utcnow() + _RECONNECT_JUMP)
            next_fire = now + _FIRE_EVERY
        await asyncio.sleep(_POLL)


def entity_id(hass: HomeAssistant, mac: str, key: str) -> str:
    """Return the entity id of one of our sensors by its unique id."""
    found = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{format_mac(mac)}_{key}")
    assert found is not None, f"no entity for {key}"
    return found


def state(hass: HomeAssistant, mac: str, key: str) -> State | None:
    """Return the current state of one of our sensors."""
    return hass.states.get(entity_id(hass, mac, key))


def state_value(hass: HomeAssistant, mac: str, key: str) -> str | None:
    """Return the state string of one of our sensors, None if it has none yet."""
    current = state(hass, mac, key)
    return None if current is None else current.state


async def push_and_wait(device: SimulatedDevice, coordinator: DeviceCoordinator) -> None:
    """Push the device's states and wait until the coordinator has received them."""
    await device.push_states()
    uptime = float(int(device.uptime))

    def arrived() -> bool:
        last = coordinator.last_uptime
        return last is not None and last.uptime == uptime

    await wait_for(arrived, what=f"uptime {uptime}")
