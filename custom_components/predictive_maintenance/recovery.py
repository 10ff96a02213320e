"""Execute recovery plans on a device and check its answer to every step.

A step only succeeds when the device shows it worked: it went away and came back with its
uptime reset, fresh readings arrived, the metric improved. Everything waits with a
timeout on the loop's own clock, so the event loop is never blocked and a device that
does not answer ends as timed_out, not as success.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import STATE_OFF
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util

from .analytics.limits import LIMITS
from .coordinator import DeviceCoordinator
from .device.link import DeviceNotConnectedError, UnknownCommandError
from .healing import IssueType, RecoveryStep, StepKind
from .healing.plans import VERIFY_METRIC

if TYPE_CHECKING:
    from .firmware_ha import FirmwareManager

_LOGGER = logging.getLogger(__name__)

RESTART_BUTTON: Final = "restart"
SAFE_MODE_BUTTON: Final = "safe_mode"
_POLL: Final = 0.1
# A boot time this much before the press is rounding (uptime is reported in whole seconds).
BOOT_TOLERANCE_S: Final = 5.0
# A metric must move this share toward healthy to count as improved.
IMPROVEMENT: Final = 0.10
THERMAL_DROP_C: Final = 1.0


@dataclass(slots=True)
class RecoveryTimeouts:
    """How long each phase may take, in seconds."""

    go_away: float = 30.0
    come_back: float = 180.0
    fresh_reading: float = 60.0
    thermal: float = 300.0
    switch: float = 15.0


TIMEOUTS = RecoveryTimeouts()


class ActionStatus(StrEnum):
    """Outcome of one recovery action."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    UNAVAILABLE = "unavailable"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class RecoveryAction:
    """One thing done to the device and what came of it."""

    action: str
    description: str
    status: ActionStatus
    details: str

    @property
    def ok(self) -> bool:
        """Return True when the action did not fail."""
        return self.status in (ActionStatus.SUCCEEDED, ActionStatus.SKIPPED)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for the recover service."""
        return {
            "action": self.action,
            "description": self.description,
            "status": str(self.status),
            "details": self.details,
        }


def _now() -> float:
    return dt_util.utcnow().timestamp()


async def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
    """Poll until predicate() holds; False after `timeout` seconds of loop time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(_POLL)
    return True


def firmware_manager_of(hass: HomeAssistant) -> FirmwareManager | None:
    """Return the firmware feature's manager when it is set up."""
    # Imported here: the firmware feature itself imports the self-healing modules.
    from .firmware_ha import DATA_FIRMWARE  # noqa: PLC0415

    return hass.data.get(DATA_FIRMWARE)


def improved(metric: str, before: float, after: float) -> bool:
    """Return whether a metric moved clearly toward healthy, or back inside its thresholds."""
    limit = LIMITS.get(metric)
    if limit is not None and limit.state(before) > 0 and limit.state(after) == 0:
        return True
    falls = limit.falls if limit is not None else True
    if falls:
        return after >= before + IMPROVEMENT * abs(before)
    return after <= before - IMPROVEMENT * abs(before)


class RecoveryExecutor:
    """Runs the steps of one plan on one device."""

    def __init__(
        self, hass: HomeAssistant, coordinator: DeviceCoordinator, load_switch: str | None
    ) -> None:
        """Bind to the device (and the user's load switch for thermal recovery)."""
        self._hass = hass
        self._coordinator = coordinator
        self._load_switch = load_switch
        self._still_bad = False

    async def async_run(
        self, issue_type: IssueType, steps: tuple[RecoveryStep, ...]
    ) -> list[RecoveryAction]:
        """Run the steps in order; a failed step ends the plan."""
        actions: list[RecoveryAction] = []
        for step in steps:
            new = await self._run_step(issue_type, step)
            actions.extend(new)
            if any(not action.ok for action in new):
                break
        return actions

    async def _run_step(self, issue_type: IssueType, step: RecoveryStep) -> list[RecoveryAction]:
        match step.kind:
            case StepKind.RESTART:
                return await self._reboot(issue_type, RESTART_BUTTON)
            case StepKind.SAFE_MODE:
                return await self._reboot(issue_type, SAFE_MODE_BUTTON)
            case StepKind.RECONNECT:
                return await self._reconnect()
            case StepKind.RESTART_IF_STILL_BAD:
                if not self._still_bad:
                    return [
                        RecoveryAction(
                            "restart",
                            "Restart the device if the connection stays bad",
                            ActionStatus.SKIPPED,
                            "not needed: the connection is good after the reconnect",
                        )
                    ]
                return await self._reboot(issue_type, RESTART_BUTTON)
            case StepKind.LOAD_SWITCH_OFF:
                return await self._load_switch_off()
            case StepKind.ROLLBACK:
                return [await self._rollback(step.reason)]
            case StepKind.UNAVAILABLE:
                return [
                    RecoveryAction(
                        "none", f"Recover {issue_type}", ActionStatus.UNAVAILABLE, step.reason
                    )
                ]

    # ---- reboots -----------------------------------------------------------------------

    async def _reboot(self, issue_type: IssueType, button: str) -> list[RecoveryAction]:
        coordinator = self._coordinator
        link = coordinator.link
        name = "safe_mode" if button == SAFE_MODE_BUTTON else "restart"
        description = (
            "Reboot into safe mode (safe_mode button)"
            if button == SAFE_MODE_BUTTON
            else "Restart the device (restart button)"
        )
        before_values = coordinator.monitor.values
        before = coordinator.last_uptime
        loop = asyncio.get_running_loop()
        started = loop.time()
        pressed_at = _now()
        try:
            link.press_button(button)
        except DeviceNotConnectedError:
            return [RecoveryAction(name, description, ActionStatus.FAILED, "not connected")]
        except UnknownCommandError:
            return [
                RecoveryAction(
                    name,
                    description,
                    ActionStatus.UNAVAILABLE,
                    f"the device has no {button} button (add `button: - platform: {button}`)",
                )
            ]
        if not await wait_until(lambda: not link.connected, TIMEOUTS.go_away):
            return [
                RecoveryAction(
                    name,
                    description,
                    ActionStatus.TIMED_OUT,
                    f"pressed {button}, but the device stayed connected for "
                    f"{TIMEOUTS.go_away:.0f} s",
                )
            ]
        away = loop.time() - started

        reboots = coordinator.analytics.reboots.entries
        last_reboot = reboots[-1] if reboots else None

        def rebooted() -> bool:
            reading = coordinator.last_uptime
            if not link.connected or reading is None or reading.at < pressed_at:
                return False
            # Uptime restarted: lower than before the press, a boot after the press, or a
            # reboot the monitor recorded since (the device's clock may run at its own pace).
            return (
                (before is not None and reading.uptime < before.uptime)
                or reading.booted_at >= pressed_at - BOOT_TOLERANCE_S
                or (bool(reboots) and reboots[-1] is not last_reboot)
            )

        if not await wait_until(rebooted, TIMEOUTS.come_back):
            reading = coordinator.last_uptime
            if link.connected and reading is not None and reading.at >= pressed_at:
                return [
                    RecoveryAction(
                        name,
                        description,
                        ActionStatus.FAILED,
                        f"the device came back without rebooting (uptime {reading.uptime:.0f} s)",
                    )
                ]
            return [
                RecoveryAction(
                    name,
                    description,
                    ActionStatus.TIMED_OUT,
                    f"the device went offline after {away:.1f} s and did not come back "
                    f"within {TIMEOUTS.come_back:.0f} s",
                )
            ]
        back = loop.time() - started
        reading = coordinator.last_uptime
        was = "unknown" if before is None else f"{before.uptime:.0f} s"
        now_up = 0.0 if reading is None else reading.uptime
        actions = [
            RecoveryAction(
                name,
                description,
                ActionStatus.SUCCEEDED,
                f"went offline after {away:.1f} s, back after {back:.1f} s with uptime "
                f"{now_up:.0f} s (was {was})",
            )
        ]
        if button == RESTART_BUTTON:
            actions.append(await self._verify(issue_type, before_values, pressed_at))
        return actions

    async def _verify(
        self, issue_type: IssueType, before: dict[str, float], since: float
    ) -> RecoveryAction:
        monitor = self._coordinator.monitor
        if issue_type is IssueType.NOT_REPORTING:
            fresh = await wait_until(
                lambda: (monitor.last_sample_at or 0.0) >= since, TIMEOUTS.fresh_reading
            )
            return RecoveryAction(
                "verify_reporting",
                "Check that readings resume",
                ActionStatus.SUCCEEDED if fresh else ActionStatus.TIMED_OUT,
                "readings resumed after the restart"
                if fresh
                else f"no reading within {TIMEOUTS.fresh_reading:.0f} s of the restart",
            )
        metrics = [m for m in VERIFY_METRIC.get(issue_type, ()) if m in before]
        if not metrics:
            return RecoveryAction(
                "verify",
                "Check the device after the restart",
                ActionStatus.SKIPPED,
                "nothing to compare",
            )
        fresh = await wait_until(
            lambda: all(monitor.sampled_at.get(m, 0.0) >= since for m in metrics),
            TIMEOUTS.fresh_reading,
        )
        description = f"Check that {', '.join(metrics)} improved"
        if not fresh:
            return RecoveryAction(
                f"verify_{issue_type}",
                description,
                ActionStatus.TIMED_OUT,
                f"no fresh {', '.join(metrics)} within {TIMEOUTS.fresh_reading:.0f} s",
            )
        after = monitor.values
        changes = ", ".join(f"{m} {before[m]:g} → {after[m]:g}" for m in metrics)
        better = any(improved(m, before[m], after[m]) for m in metrics)
        return RecoveryAction(
            f"verify_{issue_type}",
            description,
            ActionStatus.SUCCEEDED if better else ActionStatus.FAILED,
            changes if better else f"no improvement: {changes}",
        )

    # ---- reconnect ---------------------------------------------------------------------

    async def async_reconnect(self) -> RecoveryAction:
        """Open a fresh API session and report how the connection looks afterwards."""
        return (await self._reconnect())[0]

    async def _reconnect(self) -> list[RecoveryAction]:
        coordinator = self._coordinator
        link = coordinator.link
        description = "Close the API session and open a new one"
        if not link.connected:
            return [RecoveryAction("reconnect", description, ActionStatus.FAILED, "not connected")]
        before = coordinator.monitor.values
        since = _now()
        loop = asyncio.get_running_loop()
        started = loop.time()
        # A fresh client: the old session and anything stuck in it are dropped.
        await link.stop()
        coordinator.link_disconnected(True)
        await link.start()
        if not await wait_until(lambda: link.connected, TIMEOUTS.come_back):
            return [
                RecoveryAction(
                    "reconnect",
                    description,
                    ActionStatus.TIMED_OUT,
                    f"no new session within {TIMEOUTS.come_back:.0f} s",
                )
            ]
        elapsed = loop.time() - started
        signal = "wifi_signal"
        fresh = await wait_until(
            lambda: coordinator.monitor.sampled_at.get(signal, 0.0) >= since,
            TIMEOUTS.fresh_reading,
        )
        value = coordinator.monitor.values.get(signal)
        limit = LIMITS[signal]
        if not fresh or value is None:
            return [
                RecoveryAction(
                    "reconnect",
                    description,
                    ActionStatus.SUCCEEDED,
                    f"reconnected after {elapsed:.1f} s (no fresh Wi-Fi signal reading)",
                )
            ]
        if limit.state(value):
            self._still_bad = True
            return [
                RecoveryAction(
                    "reconnect",
                    description,
                    ActionStatus.SUCCEEDED,
                    f"reconnected after {elapsed:.1f} s, but the signal is still {value:g} dBm "
                    f"(was {before.get(signal, value):g} dBm)",
                )
            ]
        return [
            RecoveryAction(
                "reconnect",
                description,
                ActionStatus.SUCCEEDED,
                f"reconnected after {elapsed:.1f} s, signal {value:g} dBm",
            )
        ]

    # ---- firmware ----------------------------------------------------------------------

    async def _rollback(self, unavailable_reason: str) -> RecoveryAction:
        description = "Roll back to the previous firmware"
        manager = firmware_manager_of(self._hass)
        if manager is None:
            return RecoveryAction(
                "rollback", description, ActionStatus.UNAVAILABLE, unavailable_reason
            )
        try:
            result = await manager.async_rollback(self._coordinator, trigger="self_healing")
        except ServiceValidationError as err:
            # Nothing to roll back to (no previous image known): not a failure of the device.
            return RecoveryAction(
                "rollback",
                description,
                ActionStatus.UNAVAILABLE,
                str(err) or str(err.translation_key),
            )
        except HomeAssistantError as err:
            return RecoveryAction(
                "rollback", description, ActionStatus.FAILED, str(err) or str(err.translation_key)
            )
        succeeded = str(result.outcome) in ("succeeded", "rolled_back")
        return RecoveryAction(
            "rollback",
            description,
            ActionStatus.SUCCEEDED if succeeded else ActionStatus.FAILED,
            f"{result.old_version} → {result.new_version}: {result.outcome}"
            + (f" ({result.reason})" if result.reason else ""),
        )

    # ---- thermal -----------------------------------------------------------------------

    async def _load_switch_off(self) -> list[RecoveryAction]:
        switch = self._load_switch
        description = "Turn off the load switch mapped in the options"
        if switch is None:
            return [
                RecoveryAction(
                    "load_switch_off", description, ActionStatus.UNAVAILABLE, "no switch mapped"
                )
            ]
        monitor = self._coordinator.monitor
        metric = "internal_temperature"
        before = monitor.values.get(metric)
        since = _now()
        try:
            await self._hass.services.async_call(
                "switch", "turn_off", {"entity_id": switch}, blocking=True
            )
        except HomeAssistantError as err:
            return [
                RecoveryAction(
                    "load_switch_off", description, ActionStatus.FAILED, f"{switch}: {err}"
                )
            ]
        # A switch reports its new state when the device confirms it, not at once.
        await wait_until(lambda: self._hass.states.is_state(switch, STATE_OFF), TIMEOUTS.switch)
        state = self._hass.states.get(switch)
        if state is None or state.state != STATE_OFF:
            return [
                RecoveryAction(
                    "load_switch_off",
                    description,
                    ActionStatus.FAILED,
                    f"{switch} is {'missing' if state is None else state.state}, not off",
                )
            ]
        actions = [
            RecoveryAction(
                "load_switch_off", description, ActionStatus.SUCCEEDED, f"{switch} is off"
            )
        ]
        if before is None:
            return actions

        def cooler() -> bool:
            value = monitor.values.get(metric)
            return (
                monitor.sampled_at.get(metric, 0.0) >= since
                and value is not None
                and value <= before - THERMAL_DROP_C
            )

        dropped = await wait_until(cooler, TIMEOUTS.thermal)
        after = monitor.values.get(metric, before)
        actions.append(
            RecoveryAction(
                "verify_thermal",
                "Check that the temperature falls",
                ActionStatus.SUCCEEDED if dropped else ActionStatus.TIMED_OUT,
                f"internal_temperature {before:g} → {after:g} °C"
                if dropped
                else f"still {after:g} °C after {TIMEOUTS.thermal:.0f} s (was {before:g} °C)",
            )
        )
        return actions
