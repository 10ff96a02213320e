"""Repair issues of one monitored device: raised when a fault appears, deleted when it clears."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

DATA_ENTRY_ID: Final = "entry_id"
DATA_KIND: Final = "kind"
DATA_MAC: Final = "mac"

NO_METRICS_URL: Final = "https://esphome.io/components/debug.html"
NOT_ENCRYPTED_URL: Final = "https://esphome.io/components/api.html#configuration-variables"


class RepairIssue(StrEnum):
    """Every repair issue a device can have; the value is its translation key."""

    INVALID_KEY = "invalid_key"
    ENCRYPTION_REMOVED = "encryption_removed"
    UNREACHABLE = "unreachable"
    WRONG_DEVICE = "wrong_device"
    MONITORING_PAUSED = "monitoring_paused"
    NO_METRICS = "no_metrics"
    NOT_ENCRYPTED = "not_encrypted"

    @property
    def slot(self) -> str:
        """Return the part of the issue id; both key faults share one, so only one shows."""
        if self in (RepairIssue.INVALID_KEY, RepairIssue.ENCRYPTION_REMOVED):
            return "encryption_key"
        return self.value


_NOT_FIXABLE: Final = frozenset({RepairIssue.NO_METRICS})
_WARNINGS: Final = frozenset(
    {RepairIssue.NO_METRICS, RepairIssue.NOT_ENCRYPTED, RepairIssue.MONITORING_PAUSED}
)
_LEARN_MORE: Final = {
    RepairIssue.NO_METRICS: NO_METRICS_URL,
    RepairIssue.NOT_ENCRYPTED: NOT_ENCRYPTED_URL,
}


def issue_id(kind: RepairIssue, entry_id: str) -> str:
    """Return the issue registry id of one kind of fault of one entry."""
    return f"{kind.slot}_{entry_id}"


class DeviceIssues:
    """Keeps the issue registry in step with the faults the coordinator sees."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Bind to one config entry."""
        self._hass = hass
        self._entry = entry

    @callback
    def active(self) -> list[RepairIssue]:
        """Return the kinds of issue currently raised for this entry."""
        registry = ir.async_get(self._hass)
        found: list[RepairIssue] = []
        for kind in RepairIssue:
            issue = registry.async_get_issue(DOMAIN, issue_id(kind, self._entry.entry_id))
            if issue is not None and issue.active and issue.translation_key == kind.value:
                found.append(kind)
        return found

    @callback
    def raise_issue(
        self, kind: RepairIssue, *, mac: str | None = None, **placeholders: str
    ) -> None:
        """Create (or update) the issue; idempotent."""
        entry = self._entry
        data: dict[str, str | int | float | None] = {
            DATA_ENTRY_ID: entry.entry_id,
            DATA_KIND: kind.value,
        }
        if mac is not None:
            data[DATA_MAC] = mac
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id(kind, entry.entry_id),
            data=data,
            is_fixable=kind not in _NOT_FIXABLE,
            learn_more_url=_LEARN_MORE.get(kind),
            severity=ir.IssueSeverity.WARNING if kind in _WARNINGS else ir.IssueSeverity.ERROR,
            translation_key=kind.value,
            translation_placeholders={
                "name": entry.title,
                "host": str(entry.data.get(CONF_HOST, "")),
                "port": str(entry.data.get(CONF_PORT, "")),
                **placeholders,
            },
        )

    @callback
    def clear(self, *kinds: RepairIssue) -> None:
        """Delete these issues if they are raised."""
        for kind in kinds:
            ir.async_delete_issue(self._hass, DOMAIN, issue_id(kind, self._entry.entry_id))

    @callback
    def clear_all(self) -> None:
        """Delete every issue of the entry (unloaded or removed: nothing is watched)."""
        self.clear(*RepairIssue)
