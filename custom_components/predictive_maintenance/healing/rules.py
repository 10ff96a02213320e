"""Diagnosis rules: one function per issue type, each returning the issues it finds.

Every rule takes `steered`: a reported symptom pointed at its issue type, so it looks
harder (thresholds moved toward normal, deviations from the learned baseline count).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Final

from custom_components.predictive_maintenance.analytics import Severity
from custom_components.predictive_maintenance.analytics.limits import (
    FRAGMENTATION_RATIO,
    LIMITS,
    MetricLimit,
)

from .facts import DeviceFacts, MetricFacts
from .models import Issue, IssueType

type Rule = Callable[[DeviceFacts, bool], list[Issue]]

# Time-to-failure horizons: a trend further out than this is not an issue yet.
TTF_HORIZON_H: Final = 72.0
TTF_HORIZON_STEERED_H: Final = 168.0
# Warning thresholds when a symptom points at the metric (product decision: about a
# quarter of the way from the warning threshold back to typical healthy values).
STEERED_WARNING: Final[dict[str, float]] = {
    "heap_free": 60_000.0,
    "heap_max_block": 16_384.0,
    "heap_min_free": 24_576.0,
    "internal_temperature": 60.0,
    "wifi_signal": -75.0,
    "loop_time": 35.0,
}
# Deviation from the learned baseline that counts when a symptom points at the metric.
STEER_Z: Final = 3.0
STEERED_FRAGMENTATION_RATIO: Final = 0.2
CRASHES_PER_HOUR_LOOP: Final = 3
CRASHES_PER_DAY: Final = 3
RECONNECTS_PER_HOUR: Final = 3
# Health metrics and the ESPHome YAML that provides them.
HEALTH_METRICS: Final[dict[str, str]] = {
    "uptime": "sensor: - platform: uptime",
    "wifi_signal": "sensor: - platform: wifi_signal",
    "internal_temperature": "sensor: - platform: internal_temperature",
    "heap_free": "debug: + sensor: - platform: debug (free)",
    "heap_max_block": "debug: + sensor: - platform: debug (block)",
    "loop_time": "debug: + sensor: - platform: debug (loop_time)",
}


def warning_threshold(limit: MetricLimit, steered: bool, metric: str = "") -> float:
    """The warning threshold, moved toward normal when a symptom points here."""
    if not steered:
        return limit.warning
    return STEERED_WARNING.get(metric, limit.warning)


def evidence(
    metric: str, facts: MetricFacts, limit: MetricLimit | None, **extra: Any
) -> dict[str, Any]:
    """Value against baseline and thresholds, plus what the rule adds."""
    out: dict[str, Any] = {
        "metric": metric,
        "value": facts.value,
        "baseline": None if facts.baseline is None else round(facts.baseline, 2),
        "baseline_spread": None if facts.spread is None else round(facts.spread, 2),
    }
    if limit is not None:
        out["unit"] = limit.unit
        out["warning_threshold"] = limit.warning
        out["failure_threshold"] = limit.failure
    if facts.slope_per_hour is not None:
        out["trend_per_hour"] = round(facts.slope_per_hour, 2)
    if facts.ttf_hours is not None:
        out["time_to_failure_hours"] = round(facts.ttf_hours, 2)
    out.update(extra)
    return out


def _state(value: float, limit: MetricLimit, steered: bool, metric: str) -> int:
    """0 normal, 1 warning, 2 failure, with the (possibly steered) warning threshold."""
    if limit.state(value) == 2:
        return 2
    threshold = warning_threshold(limit, steered, metric)
    past = value <= threshold if limit.falls else value >= threshold
    return 1 if past else 0


def _off_baseline(facts: MetricFacts, limit: MetricLimit, warmup: int) -> bool:
    if facts.baseline is None or facts.spread is None or facts.spread <= 0.0:
        return False
    if facts.samples < warmup:
        return False
    z = (facts.value - facts.baseline) / facts.spread
    return (-z if limit.falls else z) >= STEER_Z


def _ttf_severity(hours: float) -> Severity:
    if hours <= 6.0:
        return Severity.CRITICAL
    if hours <= 24.0:
        return Severity.HIGH
    return Severity.MEDIUM


def _heading_for_failure(facts: MetricFacts, steered: bool) -> bool:
    horizon = TTF_HORIZON_STEERED_H if steered else TTF_HORIZON_H
    return facts.ttf_hours is not None and facts.ttf_hours <= horizon


def _threshold_issue(
    facts_all: DeviceFacts,
    steered: bool,
    *,
    metric: str,
    issue_type: IssueType,
    subtype: str,
    what: str,
    auto_recoverable: bool,
) -> Issue | None:
    metric_facts = facts_all.metrics.get(metric)
    limit = LIMITS[metric]
    if metric_facts is None:
        return None
    state = _state(metric_facts.value, limit, steered, metric)
    trending = _heading_for_failure(metric_facts, steered)
    deviates = steered and _off_baseline(metric_facts, limit, facts_all.warmup_samples)
    if not (state or trending or deviates):
        return None
    if state == 2:
        severity = Severity.CRITICAL
    elif trending and metric_facts.ttf_hours is not None:
        severity = _ttf_severity(metric_facts.ttf_hours)
    elif state == 1:
        severity = Severity.MEDIUM
    else:
        severity = Severity.LOW
    value = f"{metric_facts.value:g} {limit.unit}"
    if trending and metric_facts.ttf_hours is not None:
        description = (
            f"{what} is {value} and heading for {limit.failure:g} {limit.unit} "
            f"in about {metric_facts.ttf_hours:.1f} h"
        )
    elif state:
        description = (
            f"{what} is {value}, past the {'failure' if state == 2 else 'warning'} threshold"
        )
    else:
        description = (
            f"{what} is {value}, well off its usual {metric_facts.baseline:g} {limit.unit}"
        )
    return Issue(
        type=issue_type,
        subtype=subtype,
        description=description,
        severity=severity,
        auto_recoverable=auto_recoverable,
        evidence=evidence(
            metric, metric_facts, limit, steered_threshold=warning_threshold(limit, steered, metric)
        ),
        recommendation=limit.action,
        steered=steered,
    )


def memory_rule(facts: DeviceFacts, steered: bool) -> list[Issue]:
    """Leak (free heap falling toward its floor), low heap, fragmentation (C07)."""
    issues: list[Issue] = []
    heap = facts.metrics.get("heap_free")
    if heap is not None:
        leak = _heading_for_failure(heap, steered) and (heap.slope_per_hour or 0.0) < 0.0
        found = _threshold_issue(
            facts,
            steered,
            metric="heap_free",
            issue_type=IssueType.MEMORY,
            subtype="leak" if leak else "low_heap",
            what="Free heap",
            auto_recoverable=True,
        )
        if found is not None:
            issues.append(found)
    block = facts.metrics.get("heap_max_block")
    fragmented = _fragmentation_issue(facts, steered)
    if fragmented is not None:
        issues.append(fragmented)
    elif block is not None:
        # The largest block heading for its floor is fragmentation even while the ratio
        # to free heap still looks fine (C07: it collapses first).
        found = _threshold_issue(
            facts,
            steered,
            metric="heap_max_block",
            issue_type=IssueType.MEMORY,
            subtype="fragmentation",
            what="The largest free heap block",
            auto_recoverable=True,
        )
        if found is not None:
            issues.append(found)
    headroom = _threshold_issue(
        facts,
        steered,
        metric="heap_min_free",
        issue_type=IssueType.MEMORY,
        subtype="low_headroom",
        what="Minimum free heap",
        auto_recoverable=True,
    )
    if headroom is not None and not issues:
        issues.append(headroom)
    return issues


def _fragmentation_issue(facts: DeviceFacts, steered: bool) -> Issue | None:
    heap = facts.metrics.get("heap_free")
    block = facts.metrics.get("heap_max_block")
    if heap is not None and block is not None and heap.value > 0.0:
        ratio = block.value / heap.value
        threshold = STEERED_FRAGMENTATION_RATIO if steered else FRAGMENTATION_RATIO
        if ratio < threshold:
            limit = LIMITS["heap_max_block"]
            return Issue(
                type=IssueType.MEMORY,
                subtype="fragmentation",
                description=(
                    f"The largest free block is {block.value:g} B, {ratio:.1%} of the "
                    f"{heap.value:g} B free: allocations fail although memory is free"
                ),
                severity=Severity.CRITICAL if limit.state(block.value) == 2 else Severity.HIGH,
                auto_recoverable=True,
                evidence=evidence(
                    "heap_max_block",
                    block,
                    limit,
                    heap_free=heap.value,
                    ratio=round(ratio, 4),
                    ratio_threshold=threshold,
                ),
                recommendation=limit.action,
                steered=steered,
            )
    return None


def thermal_rule(facts: DeviceFacts, steered: bool) -> list[Issue]:
    """Internal temperature past its warning threshold or rising toward failure."""
    found = _threshold_issue(
        facts,
        steered,
        metric="internal_temperature",
        issue_type=IssueType.THERMAL,
        subtype="overheating",
        what="Internal temperature",
        auto_recoverable=facts.load_switch is not None,
    )
    if found is None:
        return []
    if facts.load_switch is None:
        found = _with_recommendation(
            found,
            f"{found.recommendation}; map a load switch in the options to let "
            "Predictive Maintenance turn the load off",
        )
    return [found]


def connectivity_rule(facts: DeviceFacts, steered: bool) -> list[Issue]:
    """Unreachable, weak signal, or a connection that keeps dropping."""
    if not facts.connected:
        return [
            Issue(
                type=IssueType.CONNECTIVITY,
                subtype="unreachable",
                description="The device is not connected; reconnecting in the background",
                severity=Severity.HIGH,
                auto_recoverable=False,
                evidence={"connected": False, "connect_failure": facts.connect_failure},
                recommendation="check power and Wi-Fi of the device, or its address (Reconfigure)",
                steered=steered,
            )
        ]
    issues: list[Issue] = []
    weak = _threshold_issue(
        facts,
        steered,
        metric="wifi_signal",
        issue_type=IssueType.CONNECTIVITY,
        subtype="weak_signal",
        what="Wi-Fi signal",
        auto_recoverable=True,
    )
    if weak is not None:
        issues.append(weak)
    limit = RECONNECTS_PER_HOUR - 1 if steered else RECONNECTS_PER_HOUR
    drops = facts.unexpected_disconnects_1h
    if drops >= limit:
        issues.append(
            Issue(
                type=IssueType.CONNECTIVITY,
                subtype="reconnect_rate",
                description=f"The connection dropped {drops} times in the last hour",
                severity=Severity.MEDIUM,
                auto_recoverable=True,
                evidence={"unexpected_disconnects_1h": drops, "threshold_per_hour": limit},
                recommendation="check Wi-Fi coverage and power supply; a reconnect may help",
                steered=steered,
            )
        )
    return issues


def crash_loop_rule(facts: DeviceFacts, steered: bool) -> list[Issue]:
    """Repeated crashes: observed, unrequested reboots only (C04: gap reboots are not crashes)."""
    per_hour = facts.crashes_1h
    per_day = facts.report.crashes_24h
    day_limit = CRASHES_PER_DAY - 1 if steered else CRASHES_PER_DAY
    if per_hour >= CRASHES_PER_HOUR_LOOP:
        severity = Severity.HIGH
    elif per_day >= day_limit:
        severity = Severity.MEDIUM
    else:
        return []
    reasons = Counter(facts.crash_reasons)
    top = ", ".join(f"{reason} x{count}" for reason, count in reasons.most_common())
    return [
        Issue(
            type=IssueType.CRASH_LOOP,
            subtype="crash_loop" if per_hour >= CRASHES_PER_HOUR_LOOP else "frequent_crashes",
            description=f"{per_hour} crashes in the last hour, {per_day} in 24 h ({top})",
            severity=severity,
            auto_recoverable=True,
            evidence={
                "crashes_1h": per_hour,
                "crashes_24h": per_day,
                "threshold_per_hour": CRASHES_PER_HOUR_LOOP,
                "threshold_per_day": day_limit,
                "reset_reasons": dict(reasons),
                "reboots_during_gaps_24h": facts.gap_reboots_24h,
            },
            recommendation=(
                "boot into safe mode to stop the crashing components, then check the "
                "logs and the last firmware change"
            ),
            steered=steered,
        )
    ]


def performance_rule(facts: DeviceFacts, steered: bool) -> list[Issue]:
    """Main loop taking too long."""
    found = _threshold_issue(
        facts,
        steered,
        metric="loop_time",
        issue_type=IssueType.PERFORMANCE,
        subtype="slow_loop",
        what="Loop time",
        auto_recoverable=False,
    )
    return [] if found is None else [found]


def firmware_rule(facts: DeviceFacts, steered: bool) -> list[Issue]:
    """A release known to be bad, or a device that rolled itself back (C02)."""
    version = facts.firmware_version
    issues: list[Issue] = []
    if version is not None and version in facts.known_bad_versions:
        issues.append(
            Issue(
                type=IssueType.FIRMWARE,
                subtype="known_bad_version",
                description=f"Firmware {version} is listed as a bad release",
                severity=Severity.HIGH,
                auto_recoverable=False,
                evidence={
                    "version": version,
                    "known_bad_versions": sorted(facts.known_bad_versions),
                },
                recommendation="update to a fixed release or roll back to the previous one",
                steered=steered,
            )
        )
    if facts.rollback_seen:
        issues.append(
            Issue(
                type=IssueType.FIRMWARE,
                subtype="rollback",
                description=(
                    f"The device runs {version or 'an older version'} after having run "
                    f"{facts.last_known_version or 'a newer one'}: it rolled back by itself"
                ),
                severity=Severity.HIGH,
                auto_recoverable=False,
                evidence={"version": version, "last_known_version": facts.last_known_version},
                recommendation=(
                    "the new image did not get marked valid: make sure the YAML has "
                    "`safe_mode:` and that the device stays up for a minute after an update"
                ),
                steered=steered,
            )
        )
    return issues


def configuration_rule(facts: DeviceFacts, steered: bool) -> list[Issue]:
    """Health metrics the device does not expose, and an unencrypted API."""
    issues: list[Issue] = []
    if facts.metrics_known:
        missing = [m for m in HEALTH_METRICS if m not in facts.bound_metrics]
        if missing:
            issues.append(
                Issue(
                    type=IssueType.CONFIGURATION,
                    subtype="missing_metrics",
                    description=f"The device does not report {', '.join(missing)}",
                    severity=Severity.MEDIUM
                    if len(missing) == len(HEALTH_METRICS)
                    else Severity.LOW,
                    auto_recoverable=False,
                    evidence={
                        "missing_metrics": missing,
                        "esphome_components": {m: HEALTH_METRICS[m] for m in missing},
                    },
                    recommendation="add to the device's YAML: "
                    + "; ".join(sorted({HEALTH_METRICS[m] for m in missing})),
                    steered=steered,
                )
            )
    if not facts.encrypted:
        issues.append(
            Issue(
                type=IssueType.CONFIGURATION,
                subtype="not_encrypted",
                description="The native API of the device is not encrypted",
                severity=Severity.LOW,
                auto_recoverable=False,
                evidence={"encrypted": False},
                recommendation=(
                    "add `api: encryption: key:` to the device's YAML and enter the key here"
                ),
                steered=steered,
            )
        )
    return issues


def not_reporting_rule(facts: DeviceFacts, steered: bool) -> list[Issue]:
    """Connected but silent (C10)."""
    if not facts.not_reporting:
        return []
    age = facts.last_sample_age_s
    interval = facts.expected_interval_s
    missed = None if age is None or interval <= 0 else int(age // interval)
    return [
        Issue(
            type=IssueType.NOT_REPORTING,
            subtype="silent",
            description=(
                f"Connected, but the last reading is {age or 0:.0f} s old "
                f"(expected every {interval:.0f} s)"
            ),
            severity=Severity.HIGH,
            auto_recoverable=True,
            evidence={
                "last_sample_age_s": None if age is None else round(age, 1),
                "expected_interval_s": round(interval, 1),
                "missed_intervals": missed,
            },
            recommendation=(
                "restart the device; if it recurs, look for a scheduler or sensor bus fault"
            ),
            steered=steered,
        )
    ]


def _with_recommendation(issue: Issue, text: str) -> Issue:
    return Issue(
        type=issue.type,
        subtype=issue.subtype,
        description=issue.description,
        severity=issue.severity,
        auto_recoverable=issue.auto_recoverable,
        evidence=issue.evidence,
        recommendation=text,
        steered=issue.steered,
    )


RULES: Final[dict[IssueType, Rule]] = {
    IssueType.NOT_REPORTING: not_reporting_rule,
    IssueType.CRASH_LOOP: crash_loop_rule,
    IssueType.MEMORY: memory_rule,
    IssueType.THERMAL: thermal_rule,
    IssueType.CONNECTIVITY: connectivity_rule,
    IssueType.PERFORMANCE: performance_rule,
    IssueType.FIRMWARE: firmware_rule,
    IssueType.CONFIGURATION: configuration_rule,
}
