"""Reboots, crashes and network loss as a client sees them, including ReconnectLogic."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from aioesphomeapi import APIClient, ReconnectLogic

from simulator import SimulatedDevice, fnv1_hash

from .conftest import ClientFactory, Collector, DeviceFactory

UPTIME_KEY = fnv1_hash("uptime")
REASON_KEY = fnv1_hash("reset_reason")


async def connect_watched(dev: SimulatedDevice) -> tuple[APIClient, Collector]:
    """A connected client whose disconnects (the `expected` flag) are recorded."""
    stops = Collector()

    async def on_stop(expected: bool) -> None:
        stops(expected)

    client = APIClient(dev.host, dev.port, None)
    async with asyncio.timeout(10):
        await client.connect(on_stop=on_stop, login=True)
    return client, stops


async def assert_refused(dev: SimulatedDevice) -> None:
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(dev.host, dev.port)


async def button_key(client: APIClient, object_id: str) -> int:
    entities, _ = await client.list_entities_services()
    return next(e.key for e in entities if e.object_id == object_id)


async def reported_state(client: APIClient) -> tuple[float, str]:
    """(uptime, reset_reason) as the client receives them on subscribing."""
    states = Collector()
    client.subscribe_states(states)
    await states.wait_for(lambda items: {UPTIME_KEY, REASON_KEY} <= {s.key for s in items})
    by_key = {s.key: s.state for s in states.items}
    return by_key[UPTIME_KEY], by_key[REASON_KEY]


async def reported_uptime(client: APIClient) -> float:
    return (await reported_state(client))[0]


async def test_restart_button(make_device: DeviceFactory, make_client: ClientFactory) -> None:
    dev = await make_device(reboot_delay=2.0)
    dev.advance(500.0)
    client, stops = await connect_watched(dev)
    try:
        assert await reported_state(client) == (500.0, "Power on")
        client.button_command(await button_key(client, "restart"))
        await stops.wait_for_count(1)
        assert stops.items == [True]  # DisconnectRequest: an expected disconnect
        assert dev.button_presses == ["restart"]
        assert dev.is_rebooting
        await assert_refused(dev)
        await dev.wait_online()
    finally:
        await client.disconnect(force=True)
    again = await make_client(dev)
    assert await reported_state(again) == (0.0, "Software/System restart")
    assert dev.reset_reason == "Software/System restart"
    assert dev.boot_count == 1
    assert dev.reboots == ["Software/System restart"]
    assert not dev.in_safe_mode


async def test_crash_is_unexpected(make_device: DeviceFactory, make_client: ClientFactory) -> None:
    dev = await make_device(reboot_delay=2.0)
    client, stops = await connect_watched(dev)
    try:
        await dev.crash()
        await stops.wait_for_count(1)
        assert stops.items == [False]
        await assert_refused(dev)
    finally:
        await client.disconnect(force=True)
    await dev.wait_online()
    assert dev.reset_reason == "Exception"
    assert dev.uptime == 0.0


async def test_safe_mode_button(make_device: DeviceFactory, make_client: ClientFactory) -> None:
    dev = await make_device()
    client = await make_client(dev)
    client.button_command(await button_key(client, "safe_mode"))
    await dev.wait_for(lambda: dev.boot_count == 1 and dev.is_online)
    assert dev.in_safe_mode
    assert dev.button_presses == ["safe_mode"]
    await dev.restart(wait=True)
    assert not dev.in_safe_mode


async def test_offline_and_back(make_device: DeviceFactory, make_client: ClientFactory) -> None:
    dev = await make_device()
    dev.advance(100.0)
    client, stops = await connect_watched(dev)
    try:
        await dev.go_offline()
        await stops.wait_for_count(1)
        assert stops.items == [False]
        await assert_refused(dev)
        dev.advance(50.0)
        await dev.come_back()
    finally:
        await client.disconnect(force=True)
    again = await make_client(dev)
    assert await reported_uptime(again) == 150.0  # the device kept running
    assert dev.boot_count == 0


async def test_crash_while_offline_stays_offline(make_device: DeviceFactory) -> None:
    dev = await make_device(reboot_delay=0.05)
    await dev.go_offline()
    await dev.crash("Task watchdog")
    await dev.wait_for(lambda: not dev.is_rebooting)
    assert not dev.is_online
    assert dev.reset_reason == "Task watchdog"
    await dev.come_back()
    assert dev.is_online


def _reconnect_logic(client: APIClient, **callbacks: Any) -> ReconnectLogic:
    kwargs: dict[str, Any] = dict(callbacks)
    if "zeroconf_wake" in inspect.signature(ReconnectLogic.__init__).parameters:
        kwargs["zeroconf_wake"] = False
    return ReconnectLogic(client=client, **kwargs)


@pytest.mark.parametrize("how", ["restart", "crash"])
async def test_reconnect_logic_recovers(make_device: DeviceFactory, how: str) -> None:
    dev = await make_device(reboot_delay=0.3)
    client = APIClient(dev.host, dev.port, None)
    connects = Collector()
    disconnects = Collector()

    async def on_connect() -> None:
        connects(await client.device_info())

    async def on_disconnect(expected: bool) -> None:
        disconnects(expected)

    logic = _reconnect_logic(client, on_connect=on_connect, on_disconnect=on_disconnect)
    await logic.start()
    try:
        await connects.wait_for_count(1)
        if how == "restart":
            await dev.restart()
        else:
            await dev.crash()
        await disconnects.wait_for_count(1)
        assert disconnects.items == [how == "restart"]
        # Expected disconnects wait out a 5 s cooldown; crashes retry with backoff.
        await connects.wait_for_count(2, limit=30.0)
        await dev.wait_for_clients(1)
        assert dev.boot_count == 1
    finally:
        await logic.stop()
        await client.disconnect(force=True)


async def test_stop_leaves_nothing_running(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    before = asyncio.all_tasks()
    dev = await make_device(scenario="crash_loop", time_scale=1.0, push_interval=0.05)
    client = await make_client(dev)
    client.subscribe_states(lambda _state: None)
    await dev.wait_for_subscribers(1)
    await dev.restart()  # a reboot is pending when the device stops
    await dev.stop()
    assert asyncio.all_tasks() - before == set()
    assert not dev.is_online
