"""Flashing simulated devices with the integration's real OTA client (field cases C01, C02).

The OTA client lives in custom_components.predictive_maintenance.firmware; importing it runs
the integration package's __init__, which needs Home Assistant. Without it (.venv-latest) the
module is skipped; tests/simulator/test_ota_basics.py covers what needs no client.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from aioesphomeapi import APIClient

pytest.importorskip("homeassistant")

from custom_components.predictive_maintenance.firmware import (
    FirmwareCatalogue,
    OTAAuthError,
    OTAClient,
    OTADeviceError,
    OTANetworkError,
    OTAPhase,
    OTAResult,
    PatchType,
    RetryPolicy,
    async_read_firmware,
    parse_image,
)
from simulator import (
    FirmwareEvent,
    OTAFaults,
    SessionOutcome,
    SimulatedDevice,
    build_image,
    write_demo_catalogue,
)

from .conftest import ClientFactory, Collector, DeviceFactory

PROJECT = "acme.env_sensor"
SIZE = 65_536  # 8 blocks of 8 KiB
PASSWORD = "correct horse battery"


def image(version: str, *, crash_loop: bool = False, **kwargs: object) -> bytes:
    return build_image(
        project_name=PROJECT,
        version=version,
        size=SIZE,
        crash_loop=crash_loop,
        compile_date="Dec  3 2026",
        compile_time="17:00:00",
        **kwargs,  # type: ignore[arg-type]
    )


async def flash(
    dev: SimulatedDevice, data: bytes, *, password: str | None = None, attempts: int = 1
) -> OTAResult:
    assert dev.ota_port
    client = OTAClient(
        dev.host, dev.ota_port, password=password, retry=RetryPolicy(attempts=attempts, pause=0.1)
    )
    async with asyncio.timeout(30):
        return await client.upload(data)


async def test_flash_reboots_into_the_new_version(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    dev = await make_device(project_version="1.0.0", reboot_delay=0.5)
    stops = Collector()

    async def on_stop(expected: bool) -> None:
        stops(expected)

    watcher = APIClient(dev.host, dev.port, None)
    try:
        async with asyncio.timeout(10):
            await watcher.connect(on_stop=on_stop, login=True)
        assert (await watcher.device_info()).project_version == "1.0.0"
        result = await flash(dev, image("1.1.0"))
        assert result.total == SIZE
        await stops.wait_for_count(1)
        assert stops.items == [True]  # DisconnectRequest first, as on a restart
    finally:
        await watcher.disconnect(force=True)
    await dev.wait_for_version("1.1.0")

    info = await (await make_client(dev)).device_info()
    assert info.project_name == PROJECT
    assert info.project_version == "1.1.0"
    assert info.compilation_time == "Dec  3 2026, 17:00:00"
    assert dev.reset_reason == "Software/System restart"
    assert dev.reboots == ["Software/System restart"]
    assert dev.firmware_history == [FirmwareEvent(0.0, "1.1.0", "flash")]
    assert [s.outcome for s in dev.ota_sessions] == [SessionOutcome.SUCCESS]

    assert dev.firmware_pending_verify
    dev.advance(59.0)
    assert dev.firmware_pending_verify
    dev.advance(1.0)
    assert not dev.firmware_pending_verify


async def test_ota_refused_while_rebooting(make_device: DeviceFactory) -> None:
    dev = await make_device(reboot_delay=1.0)
    await flash(dev, image("1.1.0"))
    await dev.wait_for(lambda: dev.is_rebooting)
    with pytest.raises(OTANetworkError) as err:
        await flash(dev, image("1.2.0"))
    assert err.value.phase is OTAPhase.CONNECT
    await dev.wait_for_version("1.1.0")
    assert len(dev.ota_sessions) == 1


async def test_power_cycle_before_boot_is_good_rolls_back(
    make_device: DeviceFactory, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """C02 script A: power cycle 40 s after the update; the bootloader goes back to 2.6.3."""
    dev = await make_device(
        project_version="2.6.3", esphome_version="2025.4.0", boot_is_good_after=60.0
    )
    original_compilation = dev.config.compilation_time
    await flash(dev, image("2.6.4", esphome_version="2026.1.1"))
    await dev.wait_for_version("2.6.4")
    dev.advance(5.0)
    info = await (await make_client(dev)).device_info()
    assert (info.project_version, info.esphome_version) == ("2.6.4", "2026.1.1")

    dev.advance(35.0)
    with caplog.at_level(logging.WARNING, logger="simulator"):
        await dev.power_cycle()
        await dev.wait_for_version("2.6.3")
    assert "OTA rollback detected!" in caplog.text

    info = await (await make_client(dev)).device_info()
    assert (info.project_version, info.compilation_time, info.esphome_version) == (
        "2.6.3",
        original_compilation,
        "2025.4.0",
    )
    assert dev.reset_reason == "Power on"
    assert [(e.version, e.how) for e in dev.firmware_history] == [
        ("2.6.4", "flash"),
        ("2.6.3", "rollback"),
    ]
    assert dev.firmware_history[1].sim_time == 40.0
    assert not dev.firmware_pending_verify


async def test_power_cycle_after_boot_is_good_keeps_the_update(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    """C02 script B: power cycle at t=600 s; the device stays on 2.6.4."""
    dev = await make_device(project_version="2.6.3", boot_is_good_after=60.0)
    await flash(dev, image("2.6.4"))
    await dev.wait_for_version("2.6.4")
    dev.advance(600.0)
    await dev.power_cycle(wait=True)
    info = await (await make_client(dev)).device_info()
    assert info.project_version == "2.6.4"
    assert dev.reset_reason == "Power on"
    assert [e.how for e in dev.firmware_history] == ["flash"]


@pytest.mark.parametrize(("good_on_shutdown", "after"), [(False, "2.6.3"), (True, "2.6.4")])
async def test_restart_before_boot_is_good(
    make_device: DeviceFactory, good_on_shutdown: bool, after: str
) -> None:
    """An orderly restart rolls back too, unless `boot_is_good_on_shutdown` marks it valid."""
    dev = await make_device(project_version="2.6.3", boot_is_good_on_shutdown=good_on_shutdown)
    await flash(dev, image("2.6.4"))
    await dev.wait_for_version("2.6.4")
    dev.advance(10.0)
    await dev.restart(wait=True)
    assert dev.firmware_version == after
    assert dev.reset_reason == "Software/System restart"


async def test_bad_image_crashes_and_the_device_rolls_back(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    """A crash-looping build resets before it is marked valid: back on the old image."""
    dev = await make_device(time_scale=20.0, reboot_delay=0.3)
    await flash(dev, image("1.1.0", crash_loop=True))
    await dev.wait_for(lambda: any(e.how == "rollback" for e in dev.firmware_history))
    await dev.wait_for_version("1.0.0")

    assert [(e.version, e.how) for e in dev.firmware_history] == [
        ("1.1.0", "flash"),
        ("1.0.0", "rollback"),
    ]
    flashed, rolled_back = dev.firmware_history
    assert rolled_back.sim_time - flashed.sim_time >= dev.config.bad_image_crash_after
    assert dev.reboots == ["Software/System restart", "Exception"]
    assert (await (await make_client(dev)).device_info()).project_version == "1.0.0"
    assert dev.reset_reason == "Exception"
    assert (dev.slots.rollbacks[0][1].version, dev.slots.rollbacks[0][2].version) == (
        "1.1.0",
        "1.0.0",
    )


async def test_bad_image_rolls_back_unseen_in_advanced_time(make_device: DeviceFactory) -> None:
    dev = await make_device()  # frozen clock: the crash falls due inside advance()
    await flash(dev, image("1.1.0", crash_loop=True))
    await dev.wait_for_version("1.1.0")
    dev.advance(4.0)
    assert dev.firmware_version == "1.1.0"
    dev.advance(120.0)
    assert dev.firmware_version == "1.0.0"
    assert dev.reboots == ["Software/System restart", "Exception"]
    assert [(e.sim_time, e.how) for e in dev.firmware_history] == [
        (0.0, "flash"),
        (5.0, "rollback"),
    ]
    dev.advance(600.0)
    assert dev.boot_count == 2  # the old image runs fine again


async def test_interrupted_upload_keeps_the_old_firmware(make_device: DeviceFactory) -> None:
    """C01-like: the link drops mid-image; nothing is flashed and the device does not reboot."""
    dev = await make_device(ota_faults=OTAFaults(drop_at_byte=24_576))
    with pytest.raises(OTANetworkError) as err:
        await flash(dev, image("1.1.0"))
    assert err.value.phase is OTAPhase.DATA
    server = dev.ota_server
    assert server is not None
    await server.wait_idle()
    (session,) = dev.ota_sessions
    assert (session.outcome, session.bytes_received) == (SessionOutcome.DROPPED, 24_576)
    assert dev.firmware_version == "1.0.0"
    assert dev.boot_count == 0
    assert not dev.is_rebooting
    assert dev.firmware_history == []
    assert server.images == []


async def test_retry_after_a_drop_uses_one_session_at_a_time(make_device: DeviceFactory) -> None:
    dev = await make_device()
    dev.set_ota_faults(OTAFaults(drop_at_byte=8_192, sessions=1))
    result = await flash(dev, image("1.1.0"), attempts=3)
    assert result.attempts == 2
    await dev.wait_for_version("1.1.0")
    assert [s.outcome for s in dev.ota_sessions] == [SessionOutcome.DROPPED, SessionOutcome.SUCCESS]
    server = dev.ota_server
    assert server is not None
    assert not server.sessions_overlapped
    assert dev.boot_count == 1


async def test_crash_during_an_upload_keeps_the_old_firmware(make_device: DeviceFactory) -> None:
    dev = await make_device(ota_faults=OTAFaults(hold_ack=(2, 30.0)))
    server = dev.ota_server
    assert server is not None
    upload = asyncio.create_task(flash(dev, image("1.1.0")))
    await server.wait_for(
        lambda: server.active_session is not None and server.active_session.blocks_acked == 1
    )
    await dev.crash()
    with pytest.raises(OTANetworkError):
        await upload
    await dev.wait_online()
    assert dev.ota_sessions[0].outcome is SessionOutcome.SERVER_STOPPED
    assert dev.firmware_version == "1.0.0"
    assert not server.busy  # the held session did not survive the reboot


async def test_wrong_password_is_refused(make_device: DeviceFactory) -> None:
    dev = await make_device(ota_password=PASSWORD)
    with pytest.raises(OTAAuthError) as err:
        await flash(dev, image("1.1.0"), password="wrong", attempts=3)
    assert err.value.attempts == 1  # never retried
    with pytest.raises(OTAAuthError):
        await flash(dev, image("1.1.0"))  # no password at all
    server = dev.ota_server
    assert server is not None
    await server.wait_for_sessions(2)
    assert [s.outcome for s in dev.ota_sessions] == [
        SessionOutcome.AUTH_FAILED,
        SessionOutcome.CLIENT_CLOSED,  # the client gives up on the challenge itself
    ]
    assert dev.firmware_version == "1.0.0"
    assert dev.boot_count == 0

    dev.set_ota_password("new one")
    with pytest.raises(OTAAuthError):
        await flash(dev, image("1.1.0"), password=PASSWORD)
    await flash(dev, image("1.1.0"), password="new one")
    await dev.wait_for_version("1.1.0")


async def test_md5_auth(make_device: DeviceFactory) -> None:
    dev = await make_device(ota_password=PASSWORD, ota_auth="md5")
    await flash(dev, image("1.1.0"), password=PASSWORD)
    await dev.wait_for_version("1.1.0")


@pytest.mark.parametrize(
    "data",
    [image("1.1.0", chip_family="ESP32-C3"), bytes(SIZE)],
    ids=["other-chip", "not-an-image"],
)
async def test_invalid_image_is_refused_at_the_end(make_device: DeviceFactory, data: bytes) -> None:
    dev = await make_device()
    with pytest.raises(OTADeviceError) as err:
        await flash(dev, data)
    assert err.value.code == 0x84
    server = dev.ota_server
    assert server is not None
    await server.wait_for_sessions(1)
    assert [s.outcome for s in dev.ota_sessions] == [SessionOutcome.IMAGE_REJECTED]
    assert (dev.firmware_version, dev.boot_count) == ("1.0.0", 0)


async def test_demo_catalogue_loads_and_flashes(make_device: DeviceFactory, tmp_path: Path) -> None:
    dev = await make_device()
    write_demo_catalogue(tmp_path, [dev], size=SIZE)
    catalogue = await FirmwareCatalogue.async_load(folder=tmp_path)
    assert catalogue.problems == ()
    assert [r.version for r in catalogue.releases_for(PROJECT, "ESP32")] == [
        "1.1.0",
        "1.0.1",
        "1.0.0",
    ]
    security = catalogue.get(PROJECT, "1.0.1")
    bad = catalogue.get(PROJECT, "1.1.0")
    assert security is not None
    assert bad is not None
    assert security.patch_type is PatchType.SECURITY
    assert security.fixes == ("firmware",)
    assert security.priority > bad.priority

    security_image = await async_read_firmware(security.builds[0])
    assert parse_image(security_image).app.version == "1.0.1"
    await flash(dev, security_image)
    await dev.wait_for_version("1.0.1")
    dev.advance(61.0)

    await flash(dev, await async_read_firmware(bad.builds[0]))
    await dev.wait_for_version("1.1.0")
    dev.advance(10.0)
    assert dev.firmware_version == "1.0.1"  # the bad build rolled back
    assert [(e.version, e.how) for e in dev.firmware_history] == [
        ("1.0.1", "flash"),
        ("1.1.0", "flash"),
        ("1.0.1", "rollback"),
    ]


async def test_stopped_during_the_ota_reboot_boots_the_new_image_on_start(
    make_device: DeviceFactory,
) -> None:
    dev = await make_device(reboot_delay=5.0)
    await flash(dev, image("1.1.0"))
    await dev.wait_for(lambda: dev.is_rebooting)
    await dev.stop()
    assert dev.firmware_version == "1.0.0"
    await dev.start()
    assert dev.firmware_version == "1.1.0"
    assert dev.uptime == 0.0
    assert [e.how for e in dev.firmware_history] == ["flash"]
    assert dev.firmware_pending_verify


async def test_no_state_pushes_while_an_upload_runs(
    make_device: DeviceFactory, make_client: ClientFactory
) -> None:
    """The OTA data phase blocks the firmware's main loop, so the API goes quiet."""
    dev = await make_device(push_interval=0.05, ota_faults=OTAFaults(hold_ack=(2, 0.6)))
    client = await make_client(dev)
    arrivals: list[float] = []
    states = Collector()

    def on_state(state: Any) -> None:
        arrivals.append(time.monotonic())
        states(state)

    client.subscribe_states(on_state)
    await states.wait_for_count(3 * len(dev.state_messages()))  # pushes are flowing
    await flash(dev, image("1.1.0"))
    (session,) = dev.ota_sessions
    ((_, held_from, held_until),) = session.ack_holds
    assert not [t for t in arrivals if held_from + 0.1 < t < held_until]
    await dev.wait_for_version("1.1.0")
