"""Self-healing of one device: diagnosis, recovery with its audit trail, validation."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util

from .analytics import Severity
from .audit import HealingStore
from .const import CONF_NOISE_PSK, CONF_THERMAL_LOAD_SWITCH, DOMAIN, EVENT_RECOVERY
from .coordinator import DeviceCoordinator, PredictiveMaintenanceConfigEntry
from .healing import (
    DeviceFacts,
    Diagnosis,
    Issue,
    IssueType,
    StepKind,
    ValidationResult,
    diagnose,
    facts_from_analytics,
    plan_for,
    validate,
)
from .healing.facts import count_recent
from .healing.versions import track_version
from .recovery import RecoveryAction, RecoveryExecutor, firmware_manager_of

_LOGGER = logging.getLogger(__name__)

PHASE_STARTED: Final = "started"
PHASE_SUCCEEDED: Final = "succeeded"
PHASE_FAILED: Final = "failed"
PHASE_UNAVAILABLE: Final = "unavailable"
PHASE_SKIPPED: Final = "skipped"


def signal_recovery(entry_id: str) -> str:
    """Dispatcher signal the event entity of one entry listens to."""
    return f"{DOMAIN}_recovery_{entry_id}"


class RecoveryBusyError(Exception):
    """Another device is being recovered (one at a time)."""

    def __init__(self, name: str) -> None:
        """Remember which device holds the lock."""
        super().__init__(name)
        self.name = name


@dataclass
class HealingRuntime:
    """Integration-wide self-healing state, in hass.data[DOMAIN]."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    recovering: str | None = None  # name of the device being recovered
    healers: dict[str, DeviceHealer] = field(default_factory=dict)


def _now() -> float:
    return dt_util.utcnow().timestamp()


def firmware_version(coordinator: DeviceCoordinator) -> str | None:
    """Return the version the device reports (its project's own when it has one)."""
    details = coordinator.data.details
    if details is None:
        return None
    return details.project_version or details.esphome_version or None


class DeviceHealer:
    """Diagnoses, recovers and validates one monitored device."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: PredictiveMaintenanceConfigEntry,
        store: HealingStore,
        runtime: HealingRuntime,
    ) -> None:
        """Bind to the entry's coordinator and persisted state."""
        self.hass = hass
        self.entry = entry
        self.coordinator = entry.runtime_data
        self.store = store
        self.runtime = runtime
        self.recovering = False

    @property
    def name(self) -> str:
        """Return the device's display name."""
        return self.entry.title

    @property
    def load_switch(self) -> str | None:
        """Return the switch the user mapped to cut the device's load, if any."""
        value = self.entry.options.get(CONF_THERMAL_LOAD_SWITCH)
        return str(value) if value else None

    def device_id(self) -> str | None:
        """Return the device registry id of the device."""
        device = dr.async_get(self.hass).async_get_device(
            identifiers={(DOMAIN, self.coordinator.mac)}
        )
        return None if device is None else device.id

    # ---- facts -------------------------------------------------------------------------

    @callback
    def track_firmware(self) -> None:
        """Follow the running version (called on every snapshot)."""
        running = firmware_version(self.coordinator)
        if running is None:
            return
        state = track_version(
            self.store.version,
            running,
            update_in_progress=self.firmware_update_in_progress,
        )
        if state != self.store.version:
            if state.rolled_back_from and not self.store.version.rolled_back_from:
                _LOGGER.warning(
                    "%s runs firmware %s after %s: it rolled back by itself",
                    self.name,
                    running,
                    state.rolled_back_from,
                )
            self.store.version = state
            self.store.schedule_save()

    def facts(self) -> DeviceFacts:
        """Return what the rules look at, now."""
        coordinator = self.coordinator
        snapshot = coordinator.data
        monitor = coordinator.monitor
        now = _now()
        online = snapshot.online and coordinator.link.connected
        base = facts_from_analytics(
            coordinator.analytics,
            report=snapshot.report,
            now=now,
            values=monitor.values,
            connected=online,
        )
        failure = snapshot.connect_failure
        last = monitor.last_sample_at
        version = self.store.version
        manager = firmware_manager_of(self.hass)
        flashed, went_back = (
            (None, False) if manager is None else manager.expected_firmware(coordinator.mac)
        )
        return dataclasses.replace(
            base,
            unexpected_disconnects_1h=count_recent(
                (at for at, expected in coordinator.disconnects if not expected), now
            ),
            not_reporting=online and monitor.is_silent(now),
            last_sample_age_s=None if last is None else max(0.0, now - last),
            expected_interval_s=monitor.expected_interval,
            bound_metrics=frozenset(b.metric for b in monitor.bindings),
            metrics_known=coordinator.device_info is not None,
            encrypted=bool(self.entry.data.get(CONF_NOISE_PSK)),
            connect_failure=None if failure is None else str(failure),
            key_problem=failure is not None and failure.is_key_problem,
            firmware_version=firmware_version(coordinator),
            last_known_version=flashed or version.expected,
            update_in_progress=self.firmware_update_in_progress,
            known_bad_versions=self._known_bad_versions(),
            rollback_seen=version.rolled_back_from is not None or went_back,
            load_switch=self.load_switch,
        )

    @property
    def firmware_update_in_progress(self) -> bool:
        """Return whether the firmware feature is changing the device's firmware."""
        manager = firmware_manager_of(self.hass)
        busy = manager is not None and manager.is_busy(self.entry.entry_id)
        return busy or self.coordinator.firmware_update_in_progress

    def _known_bad_versions(self) -> frozenset[str]:
        manager = firmware_manager_of(self.hass)
        details = self.coordinator.data.details
        if manager is None or details is None or not details.project_name:
            return frozenset()
        return manager.bad_versions(details.project_name)

    def diagnose(self, symptoms: list[str] | tuple[str, ...] = ()) -> Diagnosis:
        """Diagnose the device now."""
        return diagnose(self.facts(), symptoms)

    def validate(self) -> ValidationResult:
        """Validate the device now."""
        return validate(self.facts())

    # ---- recovery ----------------------------------------------------------------------

    async def async_recover(
        self, issue_type: IssueType, *, automatic: bool, issue: Issue | None = None
    ) -> list[RecoveryAction]:
        """Run the recovery of one issue type, audited, with events.

        Raises RecoveryBusyError when another recovery runs. Steps that cannot run are
        returned as unavailable without starting anything.
        """
        steps = plan_for(issue_type, load_switch=self.load_switch is not None)
        trigger = "policy" if automatic else "service"
        if all(step.kind is StepKind.UNAVAILABLE for step in steps) or (
            steps[0].kind is StepKind.ROLLBACK and firmware_manager_of(self.hass) is None
        ):
            actions = await RecoveryExecutor(self.hass, self.coordinator, None).async_run(
                issue_type, steps
            )
            self._audit(PHASE_UNAVAILABLE, issue_type, issue, trigger, actions)
            return actions
        runtime = self.runtime
        if runtime.lock.locked():
            raise RecoveryBusyError(runtime.recovering or "another device")
        if issue is None:
            found = self.diagnose().issues_of(issue_type)
            issue = found[0] if found else _manual_issue(issue_type)
        async with runtime.lock:
            runtime.recovering = self.name
            # A rollback is a firmware change: the firmware feature guards it itself and
            # refuses to start while this flag says a recovery runs.
            self.recovering = steps[0].kind is not StepKind.ROLLBACK
            try:
                return await self._async_run_locked(issue_type, issue, trigger, automatic, steps)
            finally:
                runtime.recovering = None
                self.recovering = False

    async def _async_run_locked(
        self,
        issue_type: IssueType,
        issue: Issue,
        trigger: str,
        automatic: bool,
        steps: tuple[Any, ...],
    ) -> list[RecoveryAction]:
        history = self.store.history
        history.record_attempt(_now(), issue, automatic=automatic)
        action = steps[0].kind.value
        self._emit(PHASE_STARTED, issue_type, issue, trigger, action=action, details="")
        executor = RecoveryExecutor(self.hass, self.coordinator, self.load_switch)
        try:
            actions = await executor.async_run(issue_type, steps)
        except asyncio.CancelledError:
            # Unloaded or stopped mid-recovery: say so rather than leave it "started".
            self._emit(
                PHASE_FAILED,
                issue_type,
                issue,
                trigger,
                action=action,
                details="interrupted: the entry was unloaded or Home Assistant stopped",
            )
            raise
        except Exception as err:
            # The outcome must be recorded whatever happened; the caller still sees the error.
            self._emit(
                PHASE_FAILED, issue_type, issue, trigger, action=action, details=f"error: {err}"
            )
            history.record_outcome(_now(), issue, helped=False)
            raise
        helped = bool(actions) and all(a.ok for a in actions)
        history.record_outcome(_now(), issue, helped=helped)
        details = "; ".join(f"{a.action}: {a.status} ({a.details})" for a in actions)
        phase = PHASE_SUCCEEDED if helped else PHASE_FAILED
        self._emit(
            phase, issue_type, issue, trigger, action=action, details=details, actions=actions
        )
        return actions

    def audit_skip(self, reason: str, issue: Issue | None) -> None:
        """Record why the policy did not act (once per change of reason)."""
        last = next(
            (e for e in reversed(self.store.audit) if e.get("trigger") == "policy"),
            None,
        )
        signature = None if issue is None else issue.signature
        if (
            last is not None
            and last.get("phase") == PHASE_SKIPPED
            and last.get("reason") == reason
            and last.get("signature") == signature
        ):
            return
        entry = self._entry(PHASE_SKIPPED, None if issue is None else issue.type, issue, "policy")
        entry["reason"] = reason
        self.store.add(entry)

    # ---- events and audit --------------------------------------------------------------

    def _entry(
        self, phase: str, issue_type: IssueType | None, issue: Issue | None, trigger: str
    ) -> dict[str, Any]:
        return {
            "at": dt_util.utcnow().isoformat(),
            "trigger": trigger,
            "phase": phase,
            "issue_type": None if issue_type is None else str(issue_type),
            "subtype": None if issue is None else issue.subtype,
            "signature": None if issue is None else issue.signature,
            "risk": str(self.coordinator.data.report.risk_level),
        }

    def _audit(
        self,
        phase: str,
        issue_type: IssueType,
        issue: Issue | None,
        trigger: str,
        actions: list[RecoveryAction],
    ) -> None:
        entry = self._entry(phase, issue_type, issue, trigger)
        entry["actions"] = [a.as_dict() for a in actions]
        self.store.add(entry)

    def _emit(
        self,
        phase: str,
        /,
        issue_type: IssueType,
        issue: Issue,
        trigger: str,
        *,
        action: str,
        details: str,
        actions: list[RecoveryAction] | None = None,
    ) -> None:
        entry = self._entry(phase, issue_type, issue, trigger)
        entry["action"] = action
        if actions is not None:
            entry["actions"] = [a.as_dict() for a in actions]
        self.store.add(entry)
        data = {
            "device_id": self.device_id(),
            "entry_id": self.entry.entry_id,
            "device_name": self.name,
            "issue_type": str(issue_type),
            "subtype": issue.subtype,
            "action": action,
            "phase": phase,
            "trigger": trigger,
            "details": details,
        }
        log = _LOGGER.warning if phase == PHASE_FAILED else _LOGGER.info
        log("Recovery of %s (%s, %s): %s %s", self.name, issue_type, trigger, phase, details)
        self.hass.bus.async_fire(EVENT_RECOVERY, data)
        async_dispatcher_send(self.hass, signal_recovery(self.entry.entry_id), phase, data)

    def diagnostics(self) -> dict[str, Any]:
        """Return the self-healing state for diagnostics (nothing secret is ever stored)."""
        return {
            "recovering": self.recovering,
            "firmware": {
                "expected_version": self.store.version.expected,
                "rolled_back_from": self.store.version.rolled_back_from,
                "update_in_progress": self.coordinator.firmware_update_in_progress,
            },
            "policy_history": self.store.history.to_dict(),
            "audit_log": list(self.store.audit),
        }


def _manual_issue(issue_type: IssueType) -> Issue:
    return Issue(
        type=issue_type,
        subtype="requested",
        description=f"Recovery of {issue_type} requested",
        severity=Severity.LOW,
        auto_recoverable=False,
        evidence={},
        recommendation="",
    )
