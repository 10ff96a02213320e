"""Recovery plans: which steps fix which issue type. The integration executes them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .models import IssueType


class StepKind(StrEnum):
    """One thing a recovery does to a device."""

    RESTART = "restart"
    SAFE_MODE = "safe_mode"
    RECONNECT = "reconnect"
    RESTART_IF_STILL_BAD = "restart_if_still_bad"
    LOAD_SWITCH_OFF = "load_switch_off"
    ROLLBACK = "rollback"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, slots=True)
class RecoveryStep:
    """A step, and for UNAVAILABLE why nothing can be done automatically."""

    kind: StepKind
    reason: str = ""

    @property
    def needs_connection(self) -> bool:
        """Return whether the step talks to the device."""
        return self.kind in (
            StepKind.RESTART,
            StepKind.SAFE_MODE,
            StepKind.RECONNECT,
            StepKind.RESTART_IF_STILL_BAD,
        )


# The metric each verified step must see improve (None: the reboot itself is the proof).
VERIFY_METRIC: dict[IssueType, tuple[str, ...]] = {
    IssueType.MEMORY: ("heap_free", "heap_max_block"),
    IssueType.PERFORMANCE: ("loop_time",),
    IssueType.CONNECTIVITY: ("wifi_signal",),
    IssueType.THERMAL: ("internal_temperature",),
}


def plan_for(issue_type: IssueType, *, load_switch: bool) -> tuple[RecoveryStep, ...]:
    """Return the steps that recover one issue type."""
    match issue_type:
        case IssueType.MEMORY | IssueType.NOT_REPORTING | IssueType.PERFORMANCE:
            return (RecoveryStep(StepKind.RESTART),)
        case IssueType.CRASH_LOOP:
            return (RecoveryStep(StepKind.SAFE_MODE),)
        case IssueType.CONNECTIVITY:
            return (RecoveryStep(StepKind.RECONNECT), RecoveryStep(StepKind.RESTART_IF_STILL_BAD))
        case IssueType.THERMAL:
            if load_switch:
                return (RecoveryStep(StepKind.LOAD_SWITCH_OFF),)
            return (
                RecoveryStep(
                    StepKind.UNAVAILABLE,
                    "overheating is not recoverable from software unless a load switch is "
                    "mapped in the options (thermal_load_switch)",
                ),
            )
        case IssueType.FIRMWARE:
            return (
                RecoveryStep(
                    StepKind.ROLLBACK,
                    "rolling back needs the firmware update feature, which is not part of "
                    "this version",
                ),
            )
        case IssueType.CONFIGURATION:
            return (
                RecoveryStep(
                    StepKind.UNAVAILABLE,
                    "configuration issues are fixed with the repair_config service or in "
                    "the device's YAML",
                ),
            )
