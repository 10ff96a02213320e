"""Persisted firmware state: the audit log, per-device update history, known bad releases."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from custom_components.predictive_maintenance.const import DOMAIN

_LOGGER = logging.getLogger(__name__)

STORAGE_VERSION: Final = 1
STORAGE_KEY: Final = f"{DOMAIN}.firmware"
MAX_AUDIT_ENTRIES: Final = 500
MAX_ROLLOUTS: Final = 10


@dataclass(slots=True)
class DeviceFirmwareState:
    """What we know about one device's firmware between runs."""

    # The last change we made: (from, to); a rollback re-flashes `from`.
    last_from: str | None = None
    last_to: str | None = None
    # The version the device should run; a mismatch fails `validate` (C02 A).
    expected_version: str | None = None
    last_seen_version: str | None = None
    # Set when the device went back by itself; cleared by the next change we make.
    rolled_back_from: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "last_from": self.last_from,
            "last_to": self.last_to,
            "expected_version": self.expected_version,
            "last_seen_version": self.last_seen_version,
            "rolled_back_from": self.rolled_back_from,
        }

    @classmethod
    def from_dict(cls, data: Any) -> DeviceFirmwareState:
        """Inverse of as_dict; unknown keys are ignored."""
        if not isinstance(data, dict):
            raise TypeError("device firmware state must be a mapping")
        return cls(**{key: _opt_str(data.get(key)) for key in cls.__slots__})


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


class FirmwareStore:
    """One Store for the whole integration; a corrupt file means a fresh start."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Bind to the storage file; nothing is read before async_load()."""
        self._store: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, STORAGE_KEY)
        self.audit: deque[dict[str, Any]] = deque(maxlen=MAX_AUDIT_ENTRIES)
        self.devices: dict[str, DeviceFirmwareState] = {}
        # project -> version -> why it is known bad
        self.known_bad: dict[str, dict[str, dict[str, Any]]] = {}
        self.rollouts: dict[str, dict[str, Any]] = {}

    async def async_load(self) -> None:
        """Read what a previous run saved."""
        try:
            data = await self._store.async_load()
            if data is None:
                return
            audit = data["audit"]
            if not isinstance(audit, list) or not all(isinstance(e, dict) for e in audit):
                raise TypeError("audit log must be a list of mappings")
            devices = {
                str(mac): DeviceFirmwareState.from_dict(raw)
                for mac, raw in dict(data["devices"]).items()
            }
            known_bad = {
                str(project): {str(v): dict(why) for v, why in dict(versions).items()}
                for project, versions in dict(data["known_bad"]).items()
            }
            rollouts = {str(k): dict(v) for k, v in dict(data["rollouts"]).items()}
        except (HomeAssistantError, KeyError, TypeError, ValueError, AttributeError) as err:
            _LOGGER.warning("Discarding the firmware log %s: %s", STORAGE_KEY, err)
            return
        self.audit.extend(audit)
        self.devices = devices
        self.known_bad = known_bad
        self.rollouts = rollouts

    def device(self, mac: str) -> DeviceFirmwareState:
        """Return (creating) the state of one device."""
        return self.devices.setdefault(mac, DeviceFirmwareState())

    def add_audit(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Append an audit entry (stamped now); the caller saves."""
        stamped = {"at": dt_util.utcnow().isoformat(), **entry}
        self.audit.append(stamped)
        return stamped

    def audit_for(self, mac: str) -> list[dict[str, Any]]:
        """Return the audit entries of one device, oldest first."""
        return [entry for entry in self.audit if entry.get("mac") == mac]

    def mark_bad(self, project: str, version: str, *, reason: str, device: str) -> None:
        """Remember that a release failed on a device."""
        self.known_bad.setdefault(project, {})[version] = {
            "reason": reason,
            "device": device,
            "at": dt_util.utcnow().isoformat(),
        }

    def bad_versions(self, project: str) -> frozenset[str]:
        """Return the versions of a project known to be bad."""
        return frozenset(self.known_bad.get(project, {}))

    def save_rollout(self, rollout: dict[str, Any]) -> None:
        """Keep a rollout's state (the most recent MAX_ROLLOUTS)."""
        self.rollouts[str(rollout["rollout_id"])] = rollout
        while len(self.rollouts) > MAX_ROLLOUTS:
            self.rollouts.pop(next(iter(self.rollouts)))

    async def async_save(self) -> None:
        """Write now: firmware changes are rare and must not be lost."""
        await self._store.async_save(self._data())

    def _data(self) -> dict[str, Any]:
        return {
            "audit": list(self.audit),
            "devices": {mac: state.as_dict() for mac, state in self.devices.items()},
            "known_bad": self.known_bad,
            "rollouts": self.rollouts,
        }
