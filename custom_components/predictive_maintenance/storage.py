"""Persist what a device's models have learned, so a restart does not forget it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.storage import Store

from .analytics import DeviceAnalytics
from .const import DOMAIN
from .device.reboots import UptimeReading

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
STORAGE_MINOR_VERSION: Final = 1
# Learned baselines change slowly; losing a few minutes of samples costs nothing.
SAVE_DELAY: Final = 300.0

type StoredData = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SavedDevice:
    """What a previous run left behind for one device."""

    analytics: DeviceAnalytics | None = None
    uptime: UptimeReading | None = None


def storage_key(entry_id: str) -> str:
    """Return the storage key of one config entry."""
    return f"{DOMAIN}.{entry_id}"


def serialize(analytics: DeviceAnalytics, uptime: UptimeReading | None) -> StoredData:
    """Return the JSON-safe form of a device's learned state."""
    return {
        "analytics": analytics.to_dict(),
        "uptime": None if uptime is None else {"uptime": uptime.uptime, "at": uptime.at},
    }


def deserialize(data: object) -> SavedDevice:
    """Inverse of serialize; raises ValueError on anything it does not understand."""
    if not isinstance(data, dict):
        raise ValueError("stored device state must be a mapping")
    analytics = DeviceAnalytics.from_dict(data.get("analytics"))
    raw_uptime = data.get("uptime")
    uptime: UptimeReading | None = None
    if raw_uptime is not None:
        try:
            uptime = UptimeReading(float(raw_uptime["uptime"]), float(raw_uptime["at"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"bad stored uptime: {err!r}") from err
    return SavedDevice(analytics=analytics, uptime=uptime)


class DeviceStore:
    """One Store per config entry, written with a delay and once more on stop."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Bind to the entry's storage file."""
        self._store: Store[StoredData] = Store(
            hass, STORAGE_VERSION, storage_key(entry_id), minor_version=STORAGE_MINOR_VERSION
        )
        self._save_pending = False

    async def async_load(self) -> SavedDevice:
        """Return the saved state; a missing, corrupt or unknown store means a fresh start."""
        try:
            data = await self._store.async_load()
            if data is None:
                return SavedDevice()
            return deserialize(data)
        except (HomeAssistantError, NotImplementedError, ValueError, TypeError, KeyError) as err:
            _LOGGER.warning(
                "Discarding the saved models of %s and starting fresh: %s", self._store.key, err
            )
            return SavedDevice()

    def schedule_save(self, data_func: Callable[[], StoredData]) -> None:
        """Ask for a delayed save; repeated calls do not push the write further out."""
        if self._save_pending:
            return
        self._save_pending = True

        def collect() -> StoredData:
            self._save_pending = False
            return data_func()

        self._store.async_delay_save(collect, SAVE_DELAY)

    async def async_save(self, data: StoredData) -> None:
        """Write now (replaces any pending delayed write)."""
        self._save_pending = False
        await self._store.async_save(data)

    async def async_remove(self) -> None:
        """Delete the saved state (the entry was removed)."""
        await self._store.async_remove()
