"""Persisted memory of self-healing per device: audit log, policy history, firmware seen."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.storage import Store

from .const import DOMAIN
from .healing import PolicyHistory
from .healing.versions import VersionState

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
MAX_AUDIT_ENTRIES: Final = 100
# Audit entries are rare and worth keeping; a short delay only batches the two of an attempt.
SAVE_DELAY: Final = 5.0


def healing_storage_key(entry_id: str) -> str:
    """Return the storage key of one entry's self-healing state."""
    return f"{DOMAIN}.{entry_id}.healing"


class HealingStore:
    """One Store per config entry; a corrupt file means a fresh start, never a failed setup."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Bind to the entry's storage file; nothing is read before async_load()."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, healing_storage_key(entry_id)
        )
        self.audit: deque[dict[str, Any]] = deque(maxlen=MAX_AUDIT_ENTRIES)
        self.history = PolicyHistory()
        self.version = VersionState()

    async def async_load(self) -> None:
        """Read what a previous run saved."""
        try:
            data = await self._store.async_load()
            if data is None:
                return
            audit = data["audit"]
            if not isinstance(audit, list) or not all(isinstance(e, dict) for e in audit):
                raise TypeError("audit log must be a list of mappings")
            history = PolicyHistory.from_dict(data["history"])
            version = data["version"]
            state = VersionState(
                expected=_opt_str(version.get("expected")),
                rolled_back_from=_opt_str(version.get("rolled_back_from")),
            )
        except (HomeAssistantError, KeyError, TypeError, ValueError, AttributeError) as err:
            _LOGGER.warning("Discarding the self-healing log of %s: %s", self._store.key, err)
            return
        self.audit.extend(audit)
        self.history = history
        self.version = state

    def add(self, entry: dict[str, Any]) -> None:
        """Append an audit entry and save soon."""
        self.audit.append(entry)
        self.schedule_save()

    def schedule_save(self) -> None:
        """Save with a short delay."""
        self._store.async_delay_save(self._data, SAVE_DELAY)

    async def async_save(self) -> None:
        """Save now (unload)."""
        await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Delete the file (the entry was removed)."""
        await self._store.async_remove()

    def _data(self) -> dict[str, Any]:
        return {
            "audit": list(self.audit),
            "history": self.history.to_dict(),
            "version": {
                "expected": self.version.expected,
                "rolled_back_from": self.version.rolled_back_from,
            },
        }


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)
