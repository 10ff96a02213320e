"""Fixtures for the simulator tests: real sockets on 127.0.0.1, no Home Assistant needed.

These tests run under the Home Assistant test plugin (.venv) and under plain pytest-asyncio
(.venv-latest, with --confcutdir=tests/simulator).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aioesphomeapi import APIClient

from simulator import DeviceConfig, SimulatedDevice
from simulator.fleet import demo_key

KEY_A = demo_key(1, "key-a")
KEY_B = demo_key(1, "key-b")


@pytest.fixture(autouse=True)
def _allow_sockets(request: pytest.FixtureRequest) -> None:
    """Re-enable sockets where pytest-socket (pulled in by the HA plugin) disables them."""
    with contextlib.suppress(pytest.FixtureLookupError):
        request.getfixturevalue("socket_enabled")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Shadow tests/conftest.py's fixture of this name: simulator tests need no `hass`."""


class Collector:
    """Callback that records what it is called with; tests wait on what it saw."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed = asyncio.Event()

    def __call__(self, item: Any) -> None:
        self.items.append(item)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[list[Any]], bool], limit: float = 10.0) -> None:
        async with asyncio.timeout(limit):
            while not predicate(self.items):
                self._changed.clear()
                await self._changed.wait()

    async def wait_for_count(self, count: int, limit: float = 10.0) -> None:
        await self.wait_for(lambda items: len(items) >= count, limit)


DeviceFactory = Callable[..., Awaitable[SimulatedDevice]]
ClientFactory = Callable[..., Awaitable[APIClient]]


@pytest.fixture
async def make_device() -> AsyncIterator[DeviceFactory]:
    """Start devices on ephemeral ports (push only when told); stopped after the test."""
    devices: list[SimulatedDevice] = []

    async def factory(**overrides: Any) -> SimulatedDevice:
        settings: dict[str, Any] = {
            "name": "esp-test",
            "push_interval": None,
            "time_scale": 0.0,
            "reboot_delay": 0.3,
        }
        settings.update(overrides)
        dev = SimulatedDevice(DeviceConfig(**settings))
        devices.append(dev)
        await dev.start()
        return dev

    yield factory
    for dev in devices:
        await dev.stop()


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """Connected aioesphomeapi clients, disconnected after the test."""
    clients: list[APIClient] = []

    async def factory(
        dev: SimulatedDevice, *, noise_psk: str | None = None, **kw: Any
    ) -> APIClient:
        client = APIClient(dev.host, dev.port, None, noise_psk=noise_psk, **kw)
        clients.append(client)
        async with asyncio.timeout(10):
            await client.connect(login=True)
        return client

    yield factory
    for client in clients:
        await client.disconnect(force=True)
