"""Field case C02, device side: ESP-IDF app rollback as the simulator models it."""

from __future__ import annotations

import pytest

from custom_components.predictive_maintenance.firmware import OTAClient
from simulator.firmware_images import FirmwareSlots, SlotImage, build_image
from simulator.ota import ReceivedImage

from .conftest import PROJECT, ServerFactory

OLD = SlotImage(project_name=PROJECT, version="2.6.3")
NEW = SlotImage(project_name=PROJECT, version="2.6.4")


def updated_slots() -> FirmwareSlots:
    """A device on 2.6.3 that just received 2.6.4 and rebooted into it at t=0."""
    slots = FirmwareSlots(OLD, boot_is_good_after=60.0)
    slots.install(NEW)
    outcome = slots.boot(0.0, orderly=True)
    assert outcome.new_image
    assert outcome.image == NEW
    assert slots.pending_verify
    return slots


def test_power_cycle_before_the_mark_rolls_back() -> None:
    slots = updated_slots()
    assert not slots.update(5.0)  # reports 2.6.4 with healthy metrics at t=5 s
    assert slots.running.version == "2.6.4"
    outcome = slots.boot(40.0)  # script A: power cycle at t=40 s
    assert outcome.rolled_back
    assert outcome.rolled_back_from == NEW
    assert outcome.image == OLD
    assert slots.running.version == "2.6.3"
    assert slots.rollbacks == [(40.0, NEW, OLD)]
    assert not slots.pending_verify
    assert slots.boot(50.0).image == OLD  # and it stays there


def test_power_cycle_after_the_mark_stays() -> None:
    slots = updated_slots()
    assert slots.update(60.0)
    assert not slots.pending_verify
    outcome = slots.boot(600.0)  # script B
    assert not outcome.rolled_back
    assert outcome.image == NEW
    assert slots.rollbacks == []


def test_reset_past_the_mark_without_a_tick_still_counts_as_good() -> None:
    slots = updated_slots()
    assert not slots.boot(61.0).rolled_back


def test_orderly_shutdown_marks_good_only_when_configured() -> None:
    slots = updated_slots()
    slots.boot_is_good_on_shutdown = True
    assert not slots.boot(10.0, orderly=True).rolled_back
    assert updated_slots().boot(10.0, orderly=True).rolled_back


def test_crash_loop_image_rolls_back_on_its_first_crash() -> None:
    bad = SlotImage(project_name=PROJECT, version="2.6.5", crash_loop=True)
    slots = FirmwareSlots(NEW, boot_is_good_after=60.0, crash_after=5.0)
    slots.install(bad)
    slots.boot(100.0)
    assert slots.crash_due_at() == 105.0
    assert not slots.update(1000.0)  # a crashing image is never marked valid
    outcome = slots.boot(105.0)
    assert outcome.rolled_back
    assert outcome.image == NEW
    assert slots.crash_due_at() is None


def test_starting_an_ota_marks_the_running_image_valid() -> None:
    slots = updated_slots()
    newer = SlotImage(project_name=PROJECT, version="2.6.5")
    slots.install(newer)  # the device was still pending verification of 2.6.4
    assert slots.boot(10.0).image == newer
    assert slots.previous == NEW
    assert slots.boot(20.0).image == NEW  # a rollback now returns to 2.6.4, not 2.6.3


def test_crash_must_come_before_the_mark() -> None:
    with pytest.raises(ValueError, match="crash before"):
        FirmwareSlots(OLD, boot_is_good_after=5.0, crash_after=10.0)


async def test_flash_from_ota_server(make_server: ServerFactory) -> None:
    slots = FirmwareSlots(OLD)

    def flash(received: ReceivedImage) -> None:
        slots.install(SlotImage.from_bytes(received.data))

    server = await make_server(on_image=flash)
    image = build_image(project_name=PROJECT, version="2.6.4", size=65_536)
    await OTAClient("127.0.0.1", server.port).upload(image)
    await server.wait_idle()
    assert slots.staged is not None
    assert slots.boot(0.0, orderly=True).image.version == "2.6.4"
