"""The device's OTA endpoint without an OTA client: ports, availability, overlap, catalogue files.

Runs in both venvs (no Home Assistant, no integration import); uploads with the
integration's OTA client are in test_ota_device.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import pytest

from simulator import (
    DeviceConfig,
    Fleet,
    SessionOutcome,
    SimulatedDevice,
    SlotImage,
    write_demo_catalogue,
)
from simulator.fleet import OTA_PORT_OFFSET

from .conftest import DeviceFactory

OTA_MAGIC = bytes((0x6C, 0x26, 0xF7, 0x5C, 0x45))


async def ota_hello(dev: SimulatedDevice) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open an OTA session up to the version answer; the device then waits for features."""
    assert dev.ota_port
    reader, writer = await asyncio.open_connection(dev.host, dev.ota_port)
    writer.write(OTA_MAGIC)
    async with asyncio.timeout(10):
        assert await reader.readexactly(2) == b"\x00\x02"
    return reader, writer


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):  # the device may have reset the connection
        await writer.wait_closed()


async def assert_ota_refused(dev: SimulatedDevice) -> None:
    assert dev.ota_port
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(dev.host, dev.ota_port)


async def test_initial_image_comes_from_the_config(make_device: DeviceFactory) -> None:
    dev = await make_device(project_name="acme.door", project_version="2.6.3")
    image = dev.firmware_image
    assert (image.project_name, image.version) == ("acme.door", "2.6.3")
    assert image.compilation_time == dev.config.compilation_time
    assert image.md5  # built from a real image
    assert dev.firmware_version == "2.6.3"
    assert dev.firmware_history == []
    assert not dev.firmware_pending_verify
    assert dev.ota_port not in (None, 0, dev.port)
    assert dev.ota_sessions == []


async def test_ota_port_is_stable_and_closed_while_down(make_device: DeviceFactory) -> None:
    dev = await make_device(reboot_delay=0.5)
    port = dev.ota_port
    _, writer = await ota_hello(dev)
    await close(writer)

    await dev.go_offline()
    await assert_ota_refused(dev)
    await dev.come_back()
    _, writer = await ota_hello(dev)
    await close(writer)

    for reset in (dev.crash, dev.power_cycle, dev.restart):
        await reset()
        assert dev.is_rebooting
        await assert_ota_refused(dev)
        await dev.wait_online()
        assert dev.ota_port == port  # back on the same (ephemeral) port
        _, writer = await ota_hello(dev)
        await close(writer)
    assert dev.reboots == ["Exception", "Power on", "Software/System restart"]
    assert dev.reset_reason == "Software/System restart"
    assert dev.firmware_history == []  # resets without an update change no image

    await dev.stop()
    await assert_ota_refused(dev)


async def test_offline_ends_a_running_session(make_device: DeviceFactory) -> None:
    dev = await make_device()
    reader, writer = await ota_hello(dev)
    await dev.go_offline()
    async with asyncio.timeout(10):
        assert await reader.read() == b""
    await close(writer)
    server = dev.ota_server
    assert server is not None
    await server.wait_for_sessions(1)
    assert server.sessions[0].outcome is SessionOutcome.SERVER_STOPPED
    assert not dev.is_rebooting
    assert dev.boot_count == 0


async def test_second_connection_during_a_session_is_refused(make_device: DeviceFactory) -> None:
    dev = await make_device()
    server = dev.ota_server
    assert server is not None
    _, first = await ota_hello(dev)
    assert server.busy
    reader, second = await asyncio.open_connection(dev.host, dev.ota_port)
    second.write(OTA_MAGIC)
    async with asyncio.timeout(10):
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            await reader.readexactly(2)
    await close(second)
    assert server.overlapping_connections == 1
    assert server.sessions_overlapped
    await close(first)
    await server.wait_for_sessions(1)
    assert [s.outcome for s in dev.ota_sessions] == [SessionOutcome.CLIENT_CLOSED]


async def test_stop_during_a_session_leaves_nothing_behind(make_device: DeviceFactory) -> None:
    dev = await make_device()
    _, writer = await ota_hello(dev)
    await dev.stop()
    assert dev.ota_sessions[0].outcome is SessionOutcome.SERVER_STOPPED
    await close(writer)


async def test_no_ota_server(make_device: DeviceFactory) -> None:
    dev = await make_device(ota_port=None)
    assert dev.ota_port is None
    assert dev.ota_server is None
    assert dev.ota_sessions == []
    with pytest.raises(RuntimeError):
        dev.set_ota_password("x")


def test_demo_fleet_ota_ports() -> None:
    fleet = Fleet.demo(base_port=16053)
    assert [dev.ota_port for dev in fleet] == [
        16053 + OTA_PORT_OFFSET + index for index in range(len(fleet))
    ]
    assert {dev.firmware_version for dev in fleet} == {"1.0.0"}
    assert {dev.ota_port for dev in Fleet.demo(base_port=0)} == {0}
    assert {dev.ota_port for dev in Fleet.demo(base_port=0, ota=False)} == {None}


def test_demo_catalogue_files(tmp_path: Path) -> None:
    devices = [
        SimulatedDevice(DeviceConfig(name="a", project_version="2.6.3")),
        SimulatedDevice(DeviceConfig(name="b", project_version="2.6.3")),
    ]
    written = write_demo_catalogue(tmp_path, devices, size=65_536)
    assert [(r.version, r.kind) for r in written] == [
        ("2.6.3", "current"),
        ("2.6.4", "security"),
        ("2.7.0", "bad"),
    ]
    for release in written:
        manifest = json.loads(release.manifest.read_text())
        assert manifest["name"] == "acme.env_sensor"
        assert manifest["version"] == release.version
        (build,) = manifest["builds"]
        assert build["chipFamily"] == "ESP32"
        image = SlotImage.from_bytes((release.manifest.parent / build["ota"]["path"]).read_bytes())
        assert (image.version, image.crash_loop) == (release.version, release.kind == "bad")
        assert image.md5 == build["ota"]["md5"]
    security = json.loads(written[1].manifest.read_text())
    assert security["patch_type"] == "security"
    assert security["fixes"] == ["firmware"]
    assert security["priority"] > json.loads(written[2].manifest.read_text())["priority"]
