"""Field case C01: an upload abandoned while a chunk ack is only delayed.

Times are the real ones divided by 50 (device data timeout 105 s -> 2.1 s, client ack
timeout 160 s -> 3.2 s, ack held 94.5 s -> 1.89 s, retry pause 5 s -> 0.1 s): the ratios
that matter are kept, and the 0.21 s the device has left after the held ack arrives is
wide enough for a busy 2-core test machine.
"""

from __future__ import annotations

import itertools
import time

import pytest

from custom_components.predictive_maintenance.firmware import (
    OTAAuthError,
    OTAClient,
    OTANetworkError,
    OTAPhase,
    OTATimeouts,
    RetryPolicy,
)
from simulator.firmware_images import FirmwareSlots, SlotImage
from simulator.ota import OTAFaults, ReceivedImage, SessionOutcome

from .conftest import IMAGE_SIZE, PROJECT, ProgressLog, ServerFactory

SCALE = 1 / 50
T_DEV = 105.0 * SCALE
CLIENT_ACK = 160.0 * SCALE
HOLD = 94.5 * SCALE
PAUSE = 5.0 * SCALE
STALLED_BLOCK = 40
STALL_OFFSET = 327_680  # the end of block 40

TIMEOUTS = OTATimeouts(ack=CLIENT_ACK, device_data_timeout=T_DEV, handshake=CLIENT_ACK)
RETRY = RetryPolicy(attempts=3, pause=PAUSE)


class FlashingDevice:
    """The part of a simulated device that flashes what its OTA server received."""

    def __init__(self) -> None:
        self.slots = FirmwareSlots(SlotImage(project_name=PROJECT, version="1.0.0"))
        self.flashes = 0

    def on_image(self, received: ReceivedImage) -> None:
        self.flashes += 1
        self.slots.install(SlotImage.from_bytes(received.data))
        self.slots.boot(now=0.0, orderly=True)

    @property
    def version(self) -> str:
        return self.slots.running.version


def test_client_ack_timeout_outlasts_the_device() -> None:
    assert OTATimeouts().ack > OTATimeouts().device_data_timeout
    assert TIMEOUTS.ack > T_DEV


async def test_script_a_held_ack_completes(
    make_server: ServerFactory, image: bytes, progress: ProgressLog
) -> None:
    assert len(image) == IMAGE_SIZE
    device = FlashingDevice()
    server = await make_server(
        data_timeout=T_DEV,
        on_image=device.on_image,
        faults=OTAFaults(hold_ack=(STALLED_BLOCK, HOLD)),
    )
    client = OTAClient("127.0.0.1", server.port, timeouts=TIMEOUTS, retry=RETRY)

    result = await client.upload(image, progress=progress)
    await server.wait_idle()

    assert result.attempts == 1
    assert [s.outcome for s in server.sessions] == [SessionOutcome.SUCCESS]
    assert not server.sessions_overlapped  # no second session during the stall
    assert server.connections == 1
    ((block, hold_start, hold_end),) = server.sessions[0].ack_holds
    assert block == STALLED_BLOCK
    assert hold_end - hold_start >= HOLD
    during = [sent for t, sent, _ in progress.calls if hold_start <= t <= hold_end]
    before_end = [sent for t, sent, _ in progress.calls if t <= hold_end]
    assert set(during) <= {STALL_OFFSET}
    assert before_end[-1] == STALL_OFFSET  # 40/192 blocks, 20.8 %, for the whole stall
    assert STALL_OFFSET / len(image) == pytest.approx(0.208, abs=0.001)
    progress.assert_monotonic()
    assert progress.values[-1] == len(image)
    assert device.version == "1.0.1"
    assert device.flashes == 1


async def test_script_b_device_never_acks(
    make_server: ServerFactory, image: bytes, progress: ProgressLog
) -> None:
    device = FlashingDevice()
    server = await make_server(
        data_timeout=T_DEV,
        on_image=device.on_image,
        faults=OTAFaults(never_ack_from_block=STALLED_BLOCK),
    )
    client = OTAClient("127.0.0.1", server.port, timeouts=TIMEOUTS, retry=RETRY)

    started = time.monotonic()
    with pytest.raises(OTANetworkError) as err:
        await client.upload(image, progress=progress)
    elapsed = time.monotonic() - started
    await server.wait_idle()

    failure = err.value
    assert failure.phase is OTAPhase.DATA
    assert (failure.offset, failure.total) == (STALL_OFFSET, IMAGE_SIZE)
    assert "at byte 327,680 of 1,572,864" in str(failure)
    assert failure.attempts == RETRY.attempts
    assert elapsed <= failure.attempts * (CLIENT_ACK + PAUSE)
    sessions = server.sessions
    assert [s.outcome for s in sessions] == [SessionOutcome.DATA_TIMEOUT] * 3
    assert [s.bytes_received for s in sessions] == [STALL_OFFSET] * 3
    # Every retry started only after the device had let go of the previous session.
    assert not server.sessions_overlapped
    for previous, following in itertools.pairwise(sessions):
        assert previous.ended is not None
        assert following.started >= previous.ended
    assert device.version == "1.0.0"  # old image kept, nothing flashed
    assert device.flashes == 0
    assert device.slots.rollbacks == []
    progress.assert_monotonic()
    assert progress.values[-1] == STALL_OFFSET


async def test_script_c_wrong_password_single_attempt(
    make_server: ServerFactory, image: bytes
) -> None:
    server = await make_server(password="device-secret", data_timeout=T_DEV)
    client = OTAClient("127.0.0.1", server.port, password="not-it", timeouts=TIMEOUTS, retry=RETRY)
    with pytest.raises(OTAAuthError, match="refused the OTA password") as err:
        await client.upload(image)
    await server.wait_idle()
    assert err.value.attempts == 1
    assert err.value.code == 0x82
    assert server.connections == 1
    assert [s.outcome for s in server.sessions] == [SessionOutcome.AUTH_FAILED]
