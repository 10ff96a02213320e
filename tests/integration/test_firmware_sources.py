"""Manifest URLs: fetched with HA's session, listed beside the folder; bodies are capped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.test_util.aiohttp import AiohttpClientMocker

from custom_components.predictive_maintenance.const import DOMAIN
from custom_components.predictive_maintenance.firmware_ha import FirmwareManager
from simulator import write_catalogue_release

from .firmware_testing import IMAGE_SIZE, firmware_config_dir  # noqa: F401 - a fixture

pytestmark = pytest.mark.usefixtures("firmware_config_dir")

BASE = "http://firmware.example/acme"


def _list_urls(hass: HomeAssistant, *urls: str) -> None:
    base = Path(hass.config.path(DOMAIN))
    base.mkdir(parents=True)
    (base / "manifest_urls.txt").write_text("# ours\n" + "\n".join(urls) + "\n")


async def test_manifest_urls_and_size_cap(
    hass: HomeAssistant, aioclient_mock: AiohttpClientMocker, tmp_path: Path
) -> None:
    """A URL manifest joins the catalogue; a body over the cap is refused."""
    published = tmp_path / "published"
    manifest = write_catalogue_release(
        published, project_name="acme.env_sensor", version="1.0.5", size=IMAGE_SIZE
    )
    image = (manifest.parent / "firmware.ota.bin").read_bytes()
    aioclient_mock.get(f"{BASE}/manifest.json", content=manifest.read_bytes())
    aioclient_mock.get(f"{BASE}/firmware.ota.bin", content=image)
    _list_urls(hass, f"{BASE}/manifest.json")

    manager = FirmwareManager(hass)
    await manager.async_setup()
    release = manager.catalogue.get("acme.env_sensor", "1.0.5")
    assert release is not None
    build = release.build_for("ESP32")
    assert build is not None
    assert build.location.url == f"{BASE}/firmware.ota.bin"
    assert json.loads(manifest.read_text())["version"] == "1.0.5"

    fetch = manager.sources.fetcher(max_bytes=1000)
    with pytest.raises(ValueError, match="more than 1000 bytes"):
        await fetch(f"{BASE}/firmware.ota.bin")
    assert await manager.sources.fetcher()(f"{BASE}/firmware.ota.bin") == image
