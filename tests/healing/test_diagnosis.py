"""Diagnosis rules over facts built from real analytics: C07, C04, C10, symptoms."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from custom_components.predictive_maintenance.analytics import DeviceAnalytics, RiskLevel
from custom_components.predictive_maintenance.healing import (
    DeviceFacts,
    IssueType,
    diagnose,
    facts_from_analytics,
)
from custom_components.predictive_maintenance.healing.symptoms import read_symptom

T0 = 1_800_000_000.0
HEALTHY = {
    "wifi_signal": -60.0,
    "internal_temperature": 45.0,
    "heap_free": 160_000.0,
    "heap_max_block": 100_000.0,
    "heap_min_free": 140_000.0,
    "loop_time": 12.0,
}
ALL_METRICS = frozenset({*HEALTHY, "uptime"})


def facts_of(
    analytics: DeviceAnalytics, now: float, values: dict[str, float], **extra: object
) -> DeviceFacts:
    base = facts_from_analytics(
        analytics, report=analytics.report(now=now), now=now, values=values, connected=True
    )
    defaults: dict[str, object] = {"bound_metrics": ALL_METRICS, "metrics_known": True}
    return dataclasses.replace(base, **{**defaults, **extra})  # type: ignore[arg-type]


def learned(values: dict[str, float] = HEALTHY, samples: int = 60) -> DeviceAnalytics:
    analytics = DeviceAnalytics("dev", warmup_samples=50)
    rng = np.random.default_rng(1)
    for i in range(samples):
        for metric, value in values.items():
            analytics.add_sample(metric, value + float(rng.normal(0, 0.5)), T0 + 60.0 * i)
    return analytics


def test_healthy_device_has_no_issue() -> None:
    analytics = learned()
    now = T0 + 3600
    diagnosis = diagnose(facts_of(analytics, now, HEALTHY))
    assert diagnosis.issues == ()
    assert diagnosis.severity == "none"


def test_c07_fragmentation_from_the_table() -> None:
    """From the 17,694 s sample on: memory/fragmentation with the ratio under 10 %."""
    table = [
        (0, 162_448, 110_000),
        (3_600, 120_000, 60_000),
        (7_200, 80_000, 24_000),
        (10_800, 50_000, 8_000),
        (13_842, 35_000, 4_000),
        (17_694, 25_000, 2_200),
    ]
    analytics = DeviceAnalytics("c07", warmup_samples=50)
    times = np.arange(0, 17_694 + 1, 60.0)
    free = np.interp(times, [t for t, _, _ in table], [f for _, f, _ in table])
    block = np.interp(times, [t for t, _, _ in table], [b for _, _, b in table])
    for t, f, b in zip(times, free, block, strict=True):
        analytics.add_sample("heap_free", float(f), T0 + float(t))
        analytics.add_sample("heap_max_block", float(b), T0 + float(t))
    now = T0 + 17_694
    diagnosis = diagnose(
        facts_of(analytics, now, {"heap_free": 25_000.0, "heap_max_block": 2_200.0})
    )
    memory = {issue.subtype: issue for issue in diagnosis.issues_of(IssueType.MEMORY)}
    assert "fragmentation" in memory
    evidence = memory["fragmentation"].evidence
    assert evidence["ratio"] < 0.10
    assert evidence["heap_free"] == 25_000.0
    assert memory["fragmentation"].auto_recoverable
    assert analytics.report(now=now).risk_level.rank >= RiskLevel.HIGH.rank


def test_c04_three_observed_crashes_in_an_hour_are_a_crash_loop() -> None:
    analytics = learned()
    now = T0 + 3600
    for minutes, reason in ((40, "Exception"), (48, "Task watchdog"), (56, "Exception")):
        analytics.record_reboot(T0 + minutes * 60, reason, observed=True)
    facts = facts_of(analytics, now, HEALTHY)
    (issue,) = diagnose(facts).issues_of(IssueType.CRASH_LOOP)
    assert issue.evidence["crashes_1h"] == 3
    assert issue.evidence["reset_reasons"] == {"Exception": 2, "Task watchdog": 1}
    assert facts.report.risk_level.rank >= RiskLevel.MEDIUM.rank


def test_c04_reboots_during_a_gap_are_no_crash_loop() -> None:
    analytics = learned()
    now = T0 + 3600
    for minutes in (40, 48, 56):
        analytics.record_reboot(T0 + minutes * 60, "Software/System restart", observed=False)
    facts = facts_of(analytics, now, HEALTHY)
    assert diagnose(facts).issues_of(IssueType.CRASH_LOOP) == []
    assert facts.gap_reboots_24h == 3


def test_c10_not_reporting_has_age_against_interval() -> None:
    analytics = learned()
    facts = facts_of(
        analytics,
        T0 + 3600,
        HEALTHY,
        not_reporting=True,
        last_sample_age_s=780.0,
        expected_interval_s=60.0,
    )
    (issue,) = diagnose(facts).issues_of(IssueType.NOT_REPORTING)
    assert issue.evidence == {
        "last_sample_age_s": 780.0,
        "expected_interval_s": 60.0,
        "missed_intervals": 13,
    }
    assert issue.auto_recoverable


@pytest.mark.parametrize(
    ("metric", "value", "issue_type", "subtype"),
    [
        ("internal_temperature", 74.0, IssueType.THERMAL, "overheating"),
        ("wifi_signal", -84.0, IssueType.CONNECTIVITY, "weak_signal"),
        ("loop_time", 80.0, IssueType.PERFORMANCE, "slow_loop"),
        ("heap_free", 30_000.0, IssueType.MEMORY, "low_heap"),
    ],
)
def test_threshold_rules(metric: str, value: float, issue_type: IssueType, subtype: str) -> None:
    analytics = learned()
    values = {**HEALTHY, metric: value}
    if metric == "heap_free":
        values["heap_max_block"] = value * 0.6
    (issue,) = diagnose(facts_of(analytics, T0 + 3600, values)).issues_of(issue_type)
    assert issue.subtype == subtype
    assert issue.evidence["value"] == value
    assert issue.evidence["baseline"] == pytest.approx(HEALTHY[metric], abs=2.0)
    assert "warning_threshold" in issue.evidence


def test_symptoms_steer_priority_and_thresholds() -> None:
    """35 ms loop time is fine, unless the user says it is slow; unknown words are echoed."""
    analytics = learned()
    values = {**HEALTHY, "loop_time": 40.0, "internal_temperature": 74.0}
    plain = diagnose(facts_of(analytics, T0 + 3600, values))
    assert plain.issues_of(IssueType.PERFORMANCE) == []
    steered = diagnose(facts_of(analytics, T0 + 3600, values), ["it is slow", "blue"])
    assert steered.issues[0].type is IssueType.PERFORMANCE
    assert steered.issues[0].steered
    understood = {s.text: s.understood for s in steered.symptoms}
    assert understood == {"it is slow": True, "blue": False}
    assert steered.issues_of(IssueType.THERMAL)  # found as well, listed after
    assert any("not understood: 'blue'" in line for line in steered.recommendations)


def test_symptom_reading() -> None:
    assert read_symptom("slow performance").issue_types == (IssueType.PERFORMANCE,)
    assert read_symptom("High memory usage").issue_types == (IssueType.MEMORY,)
    assert read_symptom("keeps rebooting").issue_types == (IssueType.CRASH_LOOP,)
    assert read_symptom("no data since yesterday").issue_types == (IssueType.NOT_REPORTING,)
    assert IssueType.CONNECTIVITY in read_symptom("Wi-Fi drops").issue_types
    assert not read_symptom("purple").understood


def test_configuration_and_firmware_rules() -> None:
    analytics = learned()
    facts = facts_of(
        analytics,
        T0 + 3600,
        HEALTHY,
        bound_metrics=frozenset({"uptime", "wifi_signal"}),
        encrypted=False,
        firmware_version="2.6.3",
        known_bad_versions=frozenset({"2.6.3"}),
        rollback_seen=True,
        last_known_version="2.6.4",
    )
    diagnosis = diagnose(facts)
    config = {i.subtype: i for i in diagnosis.issues_of(IssueType.CONFIGURATION)}
    assert config["missing_metrics"].evidence["missing_metrics"] == [
        "internal_temperature",
        "heap_free",
        "heap_max_block",
        "loop_time",
    ]
    assert "not_encrypted" in config
    firmware = {i.subtype for i in diagnosis.issues_of(IssueType.FIRMWARE)}
    assert firmware == {"known_bad_version", "rollback"}
    assert not any(i.auto_recoverable for i in diagnosis.issues_of(IssueType.FIRMWARE))


def test_thermal_is_auto_recoverable_only_with_a_load_switch() -> None:
    analytics = learned()
    values = {**HEALTHY, "internal_temperature": 82.0}
    (without,) = diagnose(facts_of(analytics, T0 + 3600, values)).issues_of(IssueType.THERMAL)
    (with_switch,) = diagnose(
        facts_of(analytics, T0 + 3600, values, load_switch="switch.heater")
    ).issues_of(IssueType.THERMAL)
    assert not without.auto_recoverable
    assert "load switch" in without.recommendation
    assert with_switch.auto_recoverable


def test_unreachable_device() -> None:
    analytics = learned()
    facts = dataclasses.replace(
        facts_of(analytics, T0 + 3600, HEALTHY), connected=False, connect_failure="cannot_connect"
    )
    (issue,) = diagnose(facts).issues_of(IssueType.CONNECTIVITY)
    assert issue.subtype == "unreachable"
    assert not issue.auto_recoverable


def test_largest_block_heading_for_its_floor_is_fragmentation() -> None:
    """The block collapses first (C07): a falling trend toward 4 kB is an issue at once."""
    analytics = DeviceAnalytics("frag", warmup_samples=50)
    for i in range(240):
        t = T0 + 60.0 * i
        analytics.add_sample("heap_free", 150_000.0 - 20.0 * i, t)
        analytics.add_sample("heap_max_block", 60_000.0 - 200.0 * i, t)
    now = T0 + 60.0 * 239
    values = {"heap_free": 150_000.0 - 20.0 * 239, "heap_max_block": 60_000.0 - 200.0 * 239}
    memory = {
        i.subtype: i for i in diagnose(facts_of(analytics, now, values)).issues_of(IssueType.MEMORY)
    }
    assert "fragmentation" in memory
    assert memory["fragmentation"].evidence["time_to_failure_hours"] < 72
    assert memory["fragmentation"].auto_recoverable
