"""Patch analysis: which releases this device needs, from its own analytics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from custom_components.predictive_maintenance.analytics.limits import LIMITS
from custom_components.predictive_maintenance.firmware import FirmwareRelease, PatchType

from .resolve import patch_id

DAY_S: Final = 86_400.0
CRASH_LOOP_CRASHES: Final = 3
# Reset reasons ESP-IDF / ESPHome report for a crash rather than a requested restart.
CRASH_REASONS: Final = ("exception", "panic", "watchdog", "brownout", "abort")
# Metric with anomalies -> the issue names a manifest's `fixes` may use (analytics
# scenario names and self-healing issue types alike).
ISSUES_BY_METRIC: Final[Mapping[str, tuple[str, ...]]] = {
    "heap_free": ("memory_leak", "memory"),
    "heap_max_block": ("memory_leak", "memory", "fragmentation"),
    "heap_min_free": ("memory_leak", "memory"),
    "internal_temperature": ("overheating", "thermal"),
    "wifi_signal": ("wifi_degradation", "connectivity"),
    "loop_time": ("performance",),
}


@dataclass(frozen=True, kw_only=True)
class DeviceEvidence:
    """What the device's analytics say, after any caller override."""

    version: str | None
    crash_count: int
    reset_reason: str | None
    anomalies: Mapping[str, int]
    issue_types: frozenset[str]
    heap_min_free: float | None
    risk_level: str
    known_bad: frozenset[str]
    rolled_back_from: str | None = None
    extra_issues: tuple[str, ...] = field(default_factory=tuple)


def is_crash_reason(reason: str | None) -> bool:
    """Return True for reset reasons that mean the firmware crashed."""
    return reason is not None and any(word in reason.lower() for word in CRASH_REASONS)


def anomalies_by_metric(anomalies: Iterable[tuple[float, str]], now: float) -> dict[str, int]:
    """Count the anomalies of the last 24 h per metric."""
    counts: dict[str, int] = {}
    for at, metric in anomalies:
        if now - DAY_S < at <= now + 1:
            counts[metric] = counts.get(metric, 0) + 1
    return counts


def issue_types_for(anomalies: Mapping[str, int], crashes: int) -> frozenset[str]:
    """Issue names the evidence points at."""
    found = {name for metric in anomalies for name in ISSUES_BY_METRIC.get(metric, (metric,))}
    if crashes >= CRASH_LOOP_CRASHES:
        found.add("crash_loop")
    if crashes:
        found.add("crash")
    return frozenset(found)


def critical_issues(
    evidence: DeviceEvidence, releases: list[FirmwareRelease]
) -> list[dict[str, Any]]:
    """The problems worth acting on now."""
    issues: list[dict[str, Any]] = []
    if evidence.crash_count:
        kind = "crash_loop" if evidence.crash_count >= CRASH_LOOP_CRASHES else "crash"
        issues.append(
            {
                "type": kind,
                "description": f"{evidence.crash_count} crash(es) in 24 h"
                + (f", last reset reason {evidence.reset_reason}" if evidence.reset_reason else ""),
            }
        )
    if evidence.version is not None and evidence.version in evidence.known_bad:
        issues.append(
            {"type": "known_bad_version", "description": f"{evidence.version} is known bad"}
        )
    if evidence.rolled_back_from is not None:
        issues.append(
            {
                "type": "device_rollback",
                "description": f"the device went back from {evidence.rolled_back_from} by itself",
            }
        )
    for release in releases:
        if release.patch_type is PatchType.SECURITY and release.version not in evidence.known_bad:
            issues.append(
                {
                    "type": "security_update",
                    "description": f"security fix {release.version} is available "
                    f"(running {evidence.version})",
                }
            )
            break
    floor = LIMITS["heap_min_free"].failure
    if evidence.heap_min_free is not None and evidence.heap_min_free < floor:
        issues.append(
            {
                "type": "low_memory",
                "description": f"minimum free heap {evidence.heap_min_free:.0f} B is below "
                f"{floor:.0f} B: updates are deferred until the device restarts",
            }
        )
    if evidence.risk_level in ("high", "critical"):
        issues.append({"type": "risk", "description": f"risk level is {evidence.risk_level}"})
    return issues


def _reasons(release: FirmwareRelease, evidence: DeviceEvidence) -> list[str]:
    reasons: list[str] = []
    if release.patch_type is PatchType.SECURITY:
        reasons.append(f"security fix newer than the running {evidence.version}")
    fixed = sorted(set(release.fixes) & evidence.issue_types)
    if fixed:
        reasons.append("fixes " + ", ".join(fixed) + " seen on this device")
    if release.patch_type is PatchType.BUGFIX and evidence.crash_count:
        reasons.append(f"bug fix release; the device crashed {evidence.crash_count} time(s)")
    if evidence.version is not None and evidence.version in evidence.known_bad:
        reasons.append(f"replaces {evidence.version}, which is known bad")
    return reasons


def recommend(
    releases: list[FirmwareRelease], evidence: DeviceEvidence, chip: str
) -> list[dict[str, Any]]:
    """Recommended releases (never a known-bad one), most urgent first."""
    found: list[dict[str, Any]] = []
    for release in releases:
        if release.version in evidence.known_bad:
            continue
        reasons = _reasons(release, evidence)
        if not reasons:
            continue
        build = release.build_for(chip)
        found.append(
            {
                "patch_id": patch_id(release),
                "version": release.version,
                "description": (build.summary if build and build.summary else None)
                or f"{release.project} {release.version}",
                "type": None if release.patch_type is None else str(release.patch_type),
                "priority": release.priority,
                "reason": "; ".join(reasons),
            }
        )
    found.sort(key=lambda item: -int(item["priority"]))
    return found
