"""Fixtures for the firmware tests: real sockets on 127.0.0.1, no Home Assistant needed."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from simulator.firmware_images import build_image
from simulator.ota import OTAServer

PROJECT = "acme.env_sensor"
IMAGE_SIZE = 1_572_864  # 192 blocks of 8 KiB (field case C01)


@pytest.fixture(autouse=True)
def _allow_sockets(request: pytest.FixtureRequest) -> None:
    """Re-enable sockets where pytest-socket (pulled in by the HA plugin) disables them."""
    with contextlib.suppress(pytest.FixtureLookupError):
        request.getfixturevalue("socket_enabled")


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Shadow tests/conftest.py's fixture of this name: these tests need no `hass`."""


@pytest.fixture(scope="session")
def image() -> bytes:
    """A 1.5 MiB ESP32 image of acme.env_sensor 1.0.1."""
    return build_image(project_name=PROJECT, version="1.0.1", size=IMAGE_SIZE)


@pytest.fixture(scope="session")
def small_image() -> bytes:
    """A 64 KiB image, for tests where the size does not matter."""
    return build_image(project_name=PROJECT, version="1.0.2", size=65_536)


ServerFactory = Callable[..., Awaitable[OTAServer]]


@pytest.fixture
async def make_server() -> AsyncIterator[ServerFactory]:
    """OTA servers on ephemeral ports, stopped after the test."""
    servers: list[OTAServer] = []

    async def factory(**kwargs: Any) -> OTAServer:
        server = OTAServer(**kwargs)
        servers.append(server)
        await server.start()
        return server

    yield factory
    for server in servers:
        await server.stop()


class ProgressLog:
    """Progress callback that keeps (monotonic time, sent, total) for every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, int, int]] = []

    def __call__(self, sent: int, total: int) -> None:
        self.calls.append((time.monotonic(), sent, total))

    @property
    def values(self) -> list[int]:
        return [sent for _, sent, _ in self.calls]

    def assert_monotonic(self) -> None:
        values = self.values
        assert values == sorted(values), "progress went backwards"
        assert len(set(values)) == len(values), "progress repeated a value"


@pytest.fixture
def progress() -> ProgressLog:
    """A fresh progress recorder."""
    return ProgressLog()
