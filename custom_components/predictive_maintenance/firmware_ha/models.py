"""Stages of a firmware change, its outcome, and the timing rules of validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class StageName(StrEnum):
    """The steps of apply_patch, in order."""

    VERIFY = "verify"
    UPLOAD = "upload"
    REBOOT = "reboot"
    VALIDATE = "validate"
    ROLLBACK = "rollback"


class StageStatus(StrEnum):
    """How a stage ended."""

    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"


class Outcome(StrEnum):
    """How a whole firmware change ended."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


@dataclass(frozen=True, slots=True)
class Stage:
    """One stage's result; `extra` carries structured facts (phase, offset, ...)."""

    stage: StageName
    status: StageStatus
    details: str
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for responses and the audit log."""
        return {"stage": str(self.stage), "status": str(self.status), "details": self.details} | (
            self.extra
        )


@dataclass(frozen=True, kw_only=True)
class FirmwareTiming:
    """How long validation waits; tests scale these down.

    The watch window is at least the device's boot-good delay (ESPHome's safe_mode marks
    a boot good 60 s after it) plus a margin: a reset before then makes the bootloader
    go back to the old image, so passing earlier would be a lie (C02).
    """

    boot_good_delay: float = 60.0
    margin: float = 30.0
    down_timeout: float = 30.0
    back_timeout: float = 180.0
    ota_attempts: int = 3
    ota_retry_pause: float = 5.0
    # A health score this many points below the one before the update fails validation.
    health_tolerance: float = 10.0

    @property
    def watch_window(self) -> float:
        """Seconds the device must run the new image without a reset."""
        return self.boot_good_delay + self.margin


@dataclass(slots=True)
class UpdateResult:
    """What apply_patch (or rollback) did."""

    old_version: str | None
    new_version: str
    outcome: Outcome = Outcome.FAILED
    reason: str = ""
    running_version: str | None = None
    stages: list[Stage] = field(default_factory=list)

    def add(self, stage: Stage) -> Stage:
        """Record a stage."""
        self.stages.append(stage)
        return stage

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for the service response."""
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "result": str(self.outcome),
            "reason": self.reason,
            "running_version": self.running_version,
            "stages": [stage.as_dict() for stage in self.stages],
        }
