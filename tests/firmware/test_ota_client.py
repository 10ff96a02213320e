"""The OTA client against the simulator's OTA server, over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from custom_components.predictive_maintenance.firmware import (
    CatalogueError,
    FirmwareBuild,
    FirmwareLocation,
    OTAAuthError,
    OTAClient,
    OTADeviceError,
    OTANetworkError,
    OTAPhase,
    OTATimeouts,
    RetryPolicy,
    async_read_firmware,
)
from simulator.ota import OTAAuth, OTAFaults, ReceivedImage, SessionOutcome

from .conftest import ProgressLog, ServerFactory

FAST_RETRY = RetryPolicy(attempts=3, pause=0.05)
PASSWORD = "correct horse battery"


def client_for(server_port: int, **kwargs: object) -> OTAClient:
    kwargs.setdefault("retry", FAST_RETRY)
    return OTAClient("127.0.0.1", server_port, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("password", "auth"),
    [(None, OTAAuth.SHA256), (PASSWORD, OTAAuth.SHA256), (PASSWORD, OTAAuth.MD5)],
    ids=["no-password", "sha256", "md5"],
)
async def test_upload_succeeds_with_progress(
    make_server: ServerFactory,
    image: bytes,
    progress: ProgressLog,
    password: str | None,
    auth: OTAAuth,
) -> None:
    server = await make_server(password=password, auth=auth)
    result = await client_for(server.port, password=password).upload(image, progress=progress)

    assert result.attempts == 1
    assert result.total == len(image)
    assert result.protocol_version == 2
    assert set(result.stages) == {"connect_auth", "prepare", "md5", "data", "end"}
    await server.wait_idle()
    assert [s.outcome for s in server.sessions] == [SessionOutcome.SUCCESS]
    assert server.images[0].data == image
    assert server.sessions[0].blocks_acked == 192
    progress.assert_monotonic()
    assert progress.values[0] == 8192
    assert progress.values[-1] == len(image)
    assert len(progress.values) == 192
    assert {total for _, _, total in progress.calls} == {len(image)}


@pytest.mark.parametrize(
    ("version", "extended"), [(2, False), (1, True)], ids=["legacy-header-ok", "v1-no-chunk-acks"]
)
async def test_older_devices(
    make_server: ServerFactory, small_image: bytes, version: int, extended: bool
) -> None:
    server = await make_server(version=version, extended_protocol=extended)
    result = await client_for(server.port).upload(small_image)
    assert result.protocol_version == version
    await server.wait_idle()
    assert server.images[0].data == small_image
    assert server.sessions[0].blocks_acked == (8 if version == 2 else 0)


async def test_image_with_partial_last_block(make_server: ServerFactory) -> None:
    server = await make_server()
    data = bytes(range(256)) * 100  # 25,600 B: three full blocks and a partial one
    progress = ProgressLog()
    await client_for(server.port).upload(data, progress=progress)
    await server.wait_idle()
    assert server.images[0].data == data
    assert server.sessions[0].blocks_acked == 4
    assert progress.values == [8192, 16384, 24576, 25600]


async def test_wrong_password_is_one_attempt(
    make_server: ServerFactory, small_image: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    server = await make_server(password=PASSWORD)
    client = client_for(server.port, password="hunter2-wrong")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(OTAAuthError) as err:
        await client.upload(small_image)

    assert err.value.attempts == 1
    assert err.value.phase is OTAPhase.AUTH
    assert err.value.code == 0x82
    assert "refused the OTA password" in str(err.value)
    await server.wait_idle()
    assert [s.outcome for s in server.sessions] == [SessionOutcome.AUTH_FAILED]
    for text in (str(err.value), repr(err.value), repr(client), caplog.text):
        assert "hunter2" not in text
    assert "REDACTED" in repr(client)
    assert PASSWORD not in repr(server)


async def test_missing_password(make_server: ServerFactory, small_image: bytes) -> None:
    server = await make_server(password=PASSWORD, auth=OTAAuth.MD5)
    with pytest.raises(OTAAuthError, match="requires an OTA password") as err:
        await client_for(server.port).upload(small_image)
    assert err.value.attempts == 1
    await server.wait_idle()
    assert len(server.sessions) == 1


async def test_interrupted_upload_is_retried_a_bounded_number_of_times(
    make_server: ServerFactory, image: bytes, progress: ProgressLog
) -> None:
    server = await make_server(faults=OTAFaults(drop_at_byte=100_000))
    with pytest.raises(OTANetworkError) as err:
        await client_for(server.port).upload(image, progress=progress)

    failure = err.value
    assert failure.phase is OTAPhase.DATA
    assert failure.offset == 106_496  # block 13, the one the device was reading, was sent
    assert failure.total == len(image)
    assert failure.attempts == 3
    assert "data phase failed" in str(failure)
    assert "at byte 106,496 of 1,572,864" in str(failure)
    await server.wait_idle()
    assert [s.outcome for s in server.sessions] == [SessionOutcome.DROPPED] * 3
    assert [s.bytes_received for s in server.sessions] == [100_000] * 3
    assert server.images == []  # the device keeps its old image
    assert not server.sessions_overlapped
    progress.assert_monotonic()
    assert progress.values[-1] == 106_496


async def test_retry_after_one_drop_succeeds(
    make_server: ServerFactory, image: bytes, progress: ProgressLog
) -> None:
    server = await make_server(faults=OTAFaults(drop_at_byte=500_000, sessions=1))
    result = await client_for(server.port).upload(image, progress=progress)
    assert result.attempts == 2
    await server.wait_idle()
    assert [s.outcome for s in server.sessions] == [SessionOutcome.DROPPED, SessionOutcome.SUCCESS]
    assert server.images[0].data == image
    progress.assert_monotonic()  # the second attempt starts at 0 but progress does not
    assert progress.values[-1] == len(image)


async def test_corrupt_data_is_an_md5_mismatch(
    make_server: ServerFactory, small_image: bytes
) -> None:
    server = await make_server(faults=OTAFaults(corrupt_data=True))
    with pytest.raises(OTADeviceError, match="MD5 did not match") as err:
        await client_for(server.port).upload(small_image)
    assert err.value.code == 0x8B
    assert err.value.phase is OTAPhase.END
    assert err.value.attempts == 1
    await server.wait_idle()
    assert [s.outcome for s in server.sessions] == [SessionOutcome.MD5_MISMATCH]
    assert server.images == []


async def test_device_errors_are_not_retried(
    make_server: ServerFactory, small_image: bytes
) -> None:
    server = await make_server(faults=OTAFaults(prepare_error=0x89))
    with pytest.raises(OTADeviceError, match="larger than the device's OTA partition") as err:
        await client_for(server.port).upload(small_image)
    assert (err.value.phase, err.value.code, err.value.attempts) == (OTAPhase.PREPARE, 0x89, 1)
    await server.wait_idle()
    assert len(server.sessions) == 1


async def test_too_big_for_the_partition(make_server: ServerFactory, small_image: bytes) -> None:
    server = await make_server(max_image_size=32_768)
    with pytest.raises(OTADeviceError) as err:
        await client_for(server.port).upload(small_image)
    assert err.value.code == 0x89


async def test_connection_refused_is_retried(small_image: bytes) -> None:
    with socket.socket() as sock:  # a port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OTANetworkError, match="cannot connect") as err:
        await client_for(port).upload(small_image)
    assert err.value.phase is OTAPhase.CONNECT
    assert err.value.attempts == 3


async def test_one_session_per_device_at_a_time(
    make_server: ServerFactory, image: bytes, small_image: bytes
) -> None:
    server = await make_server(faults=OTAFaults(bytes_per_second=8_000_000))
    first = client_for(server.port)
    second = OTAClient("127.0.0.1", server.port)  # another client object, same device

    results = await asyncio.gather(first.upload(image), second.upload(small_image))

    assert [r.attempts for r in results] == [1, 1]
    assert server.overlapping_connections == 0
    one, two = server.sessions
    assert one.ended is not None
    assert two.started >= one.ended
    await server.wait_idle()
    assert [i.data for i in server.images] == [image, small_image]


async def test_server_counts_overlapping_sessions(
    make_server: ServerFactory, small_image: bytes
) -> None:
    server = await make_server(data_timeout=1.0, faults=OTAFaults(never_ack_from_block=2))
    # The C01 bug: a client that gives up before the device does, and retries at once.
    hasty = client_for(
        server.port,
        timeouts=OTATimeouts(ack=0.3, device_data_timeout=0.2),
        retry=RetryPolicy(attempts=2, pause=0),
    )
    with pytest.raises(OTANetworkError):
        await hasty.upload(small_image)
    await server.wait_idle()
    assert server.sessions_overlapped
    await server.wait_for_sessions(1)


async def test_slow_link(make_server: ServerFactory, small_image: bytes) -> None:
    server = await make_server(faults=OTAFaults(bytes_per_second=400_000))
    progress = ProgressLog()
    result = await client_for(server.port).upload(small_image, progress=progress)
    assert result.stages["data"] >= 0.9 * len(small_image) / 400_000
    progress.assert_monotonic()


def test_timeouts_must_outlast_the_device() -> None:
    assert OTATimeouts().ack == 160.0
    assert OTATimeouts().device_data_timeout == 105.0
    with pytest.raises(ValueError, match="must be longer than the device's data timeout"):
        OTATimeouts(ack=105.0)
    with pytest.raises(ValueError, match="positive"):
        OTATimeouts(connect=0)
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


async def test_empty_image_refused() -> None:
    with pytest.raises(ValueError, match="image size"):
        await OTAClient("127.0.0.1", 1).upload(b"")


async def test_bad_magic_answered_like_the_firmware(make_server: ServerFactory) -> None:
    server = await make_server()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"HELLO")
    assert await reader.readexactly(1) == b"\x80"
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()
    await server.wait_for_sessions(1)
    await server.wait_idle()
    assert server.sessions[0].outcome is SessionOutcome.BAD_MAGIC


async def test_async_image_callback_may_stop_the_server(
    make_server: ServerFactory, small_image: bytes
) -> None:
    flashed: list[bytes] = []

    async def reboot(received: ReceivedImage) -> None:
        flashed.append(received.data)
        await server.stop()  # the device reboots: its OTA port goes away

    server = await make_server(on_image=reboot)
    await client_for(server.port).upload(small_image)
    await server.wait_idle()
    assert flashed == [small_image]
    with pytest.raises(OTANetworkError, match="cannot connect"):
        await client_for(server.port, retry=RetryPolicy(attempts=1)).upload(small_image)


async def test_missing_firmware_file_is_a_catalogue_error(tmp_path: Path) -> None:
    build = FirmwareBuild(
        chip_family="ESP32", location=FirmwareLocation(path=tmp_path / "gone.bin"), md5="0" * 32
    )
    with pytest.raises(CatalogueError, match=r"cannot read gone\.bin"):
        await async_read_firmware(build)
