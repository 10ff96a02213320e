"""The whole protocol layer in one go: catalogue -> image checks -> OTA -> device flash."""

from __future__ import annotations

from pathlib import Path

import pytest

from custom_components.predictive_maintenance.firmware import (
    FirmwareCatalogue,
    OTAClient,
    PatchType,
    WrongProjectError,
    async_read_firmware,
    check_image,
)
from simulator.firmware_images import FirmwareSlots, SlotImage, write_catalogue_release
from simulator.ota import ReceivedImage

from .conftest import PROJECT, ServerFactory


async def test_catalogue_to_device(tmp_path: Path, make_server: ServerFactory) -> None:
    for version in ("1.0.0", "1.0.1"):
        write_catalogue_release(tmp_path, project_name=PROJECT, version=version, size=65_536)
    write_catalogue_release(
        tmp_path,
        project_name=PROJECT,
        version="1.1.0",
        size=65_536,
        patch_type="bugfix",
        fixes=["memory_leak"],
        priority=50,
    )
    write_catalogue_release(tmp_path, project_name="acme.other", version="9.0.0", size=32_768)
    catalogue = await FirmwareCatalogue.async_load(folder=tmp_path)
    assert catalogue.problems == ()

    slots = FirmwareSlots(SlotImage(project_name=PROJECT, version="1.0.0"))

    def flash(received: ReceivedImage) -> None:
        slots.install(SlotImage.from_bytes(received.data))

    server = await make_server(password="pw", on_image=flash)

    release = catalogue.update_for(PROJECT, "ESP32", slots.running.version)
    assert release is not None
    assert (release.version, release.patch_type, release.fixes) == (
        "1.1.0",
        PatchType.BUGFIX,
        ("memory_leak",),
    )
    build = release.build_for("ESP32")
    assert build is not None
    data = await async_read_firmware(build)
    info = check_image(
        data, project_name=PROJECT, chip_family="ESP32", md5=build.md5, sha256=build.sha256
    )
    await OTAClient("127.0.0.1", server.port, password="pw").upload(data)
    await server.wait_idle()
    assert slots.boot(0.0, orderly=True).image.version == info.version == "1.1.0"

    other = catalogue.latest("acme.other", "ESP32")
    assert other is not None
    other_data = await async_read_firmware(other.builds[0])
    with pytest.raises(WrongProjectError):
        check_image(other_data, project_name=PROJECT, chip_family="ESP32")
