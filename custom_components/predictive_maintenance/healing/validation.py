"""Prove a device is healthy: reachable, encrypted, within thresholds, learned, as flashed.

`CHECKS` is a tuple of functions so other features (post-update checks of the firmware
feature) can add their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from custom_components.predictive_maintenance.analytics.limits import LIMITS

from .facts import DeviceFacts

MAX_ANOMALIES_24H: Final = 3


class CheckStatus(StrEnum):
    """Outcome of one check; only FAILED fails the validation."""

    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Check:
    """One validation check."""

    check: str
    status: CheckStatus
    details: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"check": self.check, "status": str(self.status), "details": self.details}


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """All checks and the verdict."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """Return True when no check failed."""
        return all(check.status is not CheckStatus.FAILED for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for the validate service."""
        return {
            "validation_result": "passed" if self.passed else "failed",
            "checks": [check.as_dict() for check in self.checks],
        }


type CheckFn = Callable[[DeviceFacts], Check]


def check_reachable(facts: DeviceFacts) -> Check:
    """The native API is connected."""
    if facts.connected:
        return Check("reachable", CheckStatus.PASSED, "connected over the native API")
    reason = f" ({facts.connect_failure})" if facts.connect_failure else ""
    return Check("reachable", CheckStatus.FAILED, f"not connected{reason}")


def check_encrypted(facts: DeviceFacts) -> Check:
    """The API uses a Noise key."""
    if facts.encrypted:
        return Check("encrypted", CheckStatus.PASSED, "the API connection is encrypted")
    return Check("encrypted", CheckStatus.WARNING, "the API is not encrypted")


def check_reporting(facts: DeviceFacts) -> Check:
    """Readings arrive at the learned interval (C10)."""
    if not facts.connected:
        return Check("reporting", CheckStatus.SKIPPED, "not connected")
    if facts.not_reporting:
        age = facts.last_sample_age_s or 0.0
        return Check(
            "reporting",
            CheckStatus.FAILED,
            f"no reading for {age:.0f} s (expected every {facts.expected_interval_s:.0f} s)",
        )
    if facts.last_sample_age_s is None:
        return Check("reporting", CheckStatus.WARNING, "no reading received yet")
    return Check(
        "reporting", CheckStatus.PASSED, f"last reading {facts.last_sample_age_s:.0f} s ago"
    )


def check_thresholds(facts: DeviceFacts) -> Check:
    """Every metric with a limit is on the healthy side of its warning threshold."""
    warnings: list[str] = []
    failures: list[str] = []
    for metric, limit in LIMITS.items():
        metric_facts = facts.metrics.get(metric)
        if metric_facts is None:
            continue
        state = limit.state(metric_facts.value)
        text = f"{metric} {metric_facts.value:g} {limit.unit}"
        if state == 2:
            failures.append(f"{text} (failure at {limit.failure:g})")
        elif state == 1:
            warnings.append(f"{text} (warning at {limit.warning:g})")
    if failures:
        return Check(
            "metrics_within_thresholds", CheckStatus.FAILED, "; ".join(failures + warnings)
        )
    if warnings:
        return Check("metrics_within_thresholds", CheckStatus.WARNING, "; ".join(warnings))
    if not facts.metrics:
        return Check("metrics_within_thresholds", CheckStatus.SKIPPED, "no readings yet")
    return Check("metrics_within_thresholds", CheckStatus.PASSED, "all metrics within thresholds")


def check_baseline(facts: DeviceFacts) -> Check:
    """The models finished warming up and the anomaly rate is low."""
    learning = [
        f"{metric} {m.samples}/{facts.warmup_samples}"
        for metric, m in facts.metrics.items()
        if metric in LIMITS and m.samples < facts.warmup_samples
    ]
    if learning:
        return Check(
            "baseline_healthy", CheckStatus.WARNING, "still learning: " + ", ".join(learning)
        )
    anomalies = facts.report.anomaly_count
    if anomalies > MAX_ANOMALIES_24H:
        return Check(
            "baseline_healthy",
            CheckStatus.FAILED,
            f"{anomalies} anomalies in 24 h (at most {MAX_ANOMALIES_24H} expected)",
        )
    return Check("baseline_healthy", CheckStatus.PASSED, f"learned; {anomalies} anomalies in 24 h")


def check_firmware(facts: DeviceFacts) -> Check:
    """The running version is the one last seen, unless an update is under way."""
    if facts.update_in_progress:
        return Check(
            "firmware_as_expected", CheckStatus.SKIPPED, "a firmware update is in progress"
        )
    if facts.firmware_version is None:
        return Check("firmware_as_expected", CheckStatus.SKIPPED, "version not known yet")
    if facts.firmware_version in facts.known_bad_versions:
        return Check(
            "firmware_as_expected",
            CheckStatus.FAILED,
            f"{facts.firmware_version} is a known bad release",
        )
    if facts.rollback_seen or (
        facts.last_known_version is not None and facts.last_known_version != facts.firmware_version
    ):
        return Check(
            "firmware_as_expected",
            CheckStatus.FAILED,
            f"running {facts.firmware_version}, expected {facts.last_known_version}",
        )
    return Check("firmware_as_expected", CheckStatus.PASSED, f"running {facts.firmware_version}")


CHECKS: Final[tuple[CheckFn, ...]] = (
    check_reachable,
    check_encrypted,
    check_reporting,
    check_thresholds,
    check_baseline,
    check_firmware,
)


def validate(facts: DeviceFacts, extra_checks: Iterable[CheckFn] = ()) -> ValidationResult:
    """Run the standard checks, then any extra ones."""
    return ValidationResult(tuple(check(facts) for check in (*CHECKS, *extra_checks)))
