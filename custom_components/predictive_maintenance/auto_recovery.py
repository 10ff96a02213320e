"""The automatic recovery policy of one device, driven by its snapshots (off by default)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.util import dt as dt_util

from .analytics import RiskLevel
from .const import (
    CONF_AUTO_RECOVER,
    CONF_AUTO_RECOVER_RISK,
    CONF_COOLDOWN_MINUTES,
    CONF_MAX_ATTEMPTS_PER_DAY,
    DEFAULT_AUTO_RECOVER_RISK,
    DEFAULT_COOLDOWN_MINUTES,
    DEFAULT_MAX_ATTEMPTS_PER_DAY,
)
from .healer import DeviceHealer, RecoveryBusyError
from .healing import DecisionReason, Issue, PolicySettings, decide

_LOGGER = logging.getLogger(__name__)

# Reasons worth a line in the audit log: the policy would act but a limit holds it back.
AUDITED_SKIPS = frozenset(
    {
        DecisionReason.COOLDOWN,
        DecisionReason.DAILY_LIMIT,
        DecisionReason.DID_NOT_HELP,
        DecisionReason.FIRMWARE_UPDATE,
        DecisionReason.BUSY,
    }
)


def settings_from_options(options: Mapping[str, Any]) -> PolicySettings:
    """Read the policy settings from an entry's options (defaults when unset)."""
    try:
        level = RiskLevel(options.get(CONF_AUTO_RECOVER_RISK, DEFAULT_AUTO_RECOVER_RISK))
    except ValueError:
        level = RiskLevel(DEFAULT_AUTO_RECOVER_RISK)
    return PolicySettings(
        enabled=bool(options.get(CONF_AUTO_RECOVER, False)),
        min_risk=level,
        cooldown_s=float(options.get(CONF_COOLDOWN_MINUTES, DEFAULT_COOLDOWN_MINUTES)) * 60.0,
        max_attempts_per_day=int(
            options.get(CONF_MAX_ATTEMPTS_PER_DAY, DEFAULT_MAX_ATTEMPTS_PER_DAY)
        ),
    )


class AutoRecovery:
    """Evaluates the policy on every snapshot and runs a recovery in the background."""

    def __init__(self, hass: HomeAssistant, healer: DeviceHealer) -> None:
        """Bind to one device's healer."""
        self._hass = hass
        self._healer = healer
        self._task: asyncio.Task[None] | None = None

    def start(self) -> CALLBACK_TYPE:
        """Listen to the coordinator; returns the function that stops listening."""
        return self._healer.coordinator.async_add_listener(self._async_on_update)

    @callback
    def _async_on_update(self) -> None:
        healer = self._healer
        healer.track_firmware()
        settings = settings_from_options(healer.entry.options)
        if not settings.enabled or self._task is not None or healer.recovering:
            return
        coordinator = healer.coordinator
        snapshot = coordinator.data
        risk = snapshot.report.risk_level
        history = healer.store.history
        online = snapshot.online and coordinator.link.connected
        diagnosis = None
        if online and (risk.rank >= settings.min_risk.rank or history.blocked):
            diagnosis = healer.diagnose()
            history.observe(diagnosis, dt_util.utcnow().timestamp())
        decision = decide(
            settings,
            history,
            now=dt_util.utcnow().timestamp(),
            online=online,
            risk=risk,
            diagnosis=diagnosis,
            busy=healer.runtime.lock.locked(),
            firmware_update=healer.firmware_update_in_progress,
        )
        if decision.recover and decision.issue is not None:
            self._task = healer.entry.async_create_background_task(
                self._hass,
                self._async_recover(decision.issue),
                f"predictive_maintenance auto recovery {healer.name}",
            )
        elif decision.reason in AUDITED_SKIPS:
            healer.audit_skip(str(decision.reason), decision.issue)

    async def _async_recover(self, issue: Issue) -> None:
        try:
            await self._healer.async_recover(issue.type, automatic=True, issue=issue)
        except RecoveryBusyError:
            _LOGGER.debug("%s: another recovery started first", self._healer.name)
        finally:
            self._task = None
