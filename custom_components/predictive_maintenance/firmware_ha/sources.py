"""Where the catalogue comes from: the config folder and optional manifest URLs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Final

import aiohttp
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from custom_components.predictive_maintenance.const import DOMAIN
from custom_components.predictive_maintenance.firmware import FetchFn, FirmwareCatalogue
from custom_components.predictive_maintenance.firmware.catalogue import MAX_IMAGE_BYTES

_LOGGER = logging.getLogger(__name__)

FETCH_TIMEOUT: Final = aiohttp.ClientTimeout(total=60)
_CHUNK: Final = 64 * 1024


class CatalogueSources:
    """Folder `<config>/predictive_maintenance/firmware/`, URLs in `.../manifest_urls.txt`."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Resolve the paths in HA's config dir."""
        self._hass = hass
        base = Path(hass.config.path(DOMAIN))
        self.folder = base / "firmware"
        self.backups = base / "backups"
        self.urls_file = base / "manifest_urls.txt"

    def fetcher(self, max_bytes: int = MAX_IMAGE_BYTES) -> FetchFn:
        """Return a fetch function on HA's shared session that refuses big bodies."""
        session = async_get_clientsession(self._hass)

        async def fetch(url: str) -> bytes:
            async with session.get(url, timeout=FETCH_TIMEOUT) as response:
                response.raise_for_status()
                # Counted while reading: a missing or lying Content-Length changes nothing.
                body = bytearray()
                async for chunk in response.content.iter_chunked(_CHUNK):
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise ValueError(f"more than {max_bytes} bytes")
                return bytes(body)

        return fetch

    async def async_load(self) -> FirmwareCatalogue:
        """Load the folder and every URL; bad sources are skipped with a warning."""
        urls = await asyncio.to_thread(self._read_urls)
        return await FirmwareCatalogue.async_load(
            folder=self.folder, manifest_urls=urls, fetch=self.fetcher() if urls else None
        )

    def _read_urls(self) -> list[str]:
        try:
            lines = self.urls_file.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except OSError as err:
            _LOGGER.warning("Cannot read %s: %s", self.urls_file.name, err)
            return []
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
