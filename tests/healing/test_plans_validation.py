"""Recovery plans, validation checks, configuration checks and firmware version tracking."""

from __future__ import annotations

import dataclasses

from custom_components.predictive_maintenance.analytics import HealthReport, RiskLevel
from custom_components.predictive_maintenance.healing import (
    CheckStatus,
    DeviceFacts,
    IssueType,
    MetricFacts,
    StepKind,
    plan_for,
    validate,
)
from custom_components.predictive_maintenance.healing.config_checks import (
    Fix,
    RepairStatus,
    check_api,
    check_network,
    check_ota,
    check_sensors,
)
from custom_components.predictive_maintenance.healing.versions import VersionState, track_version

REPORT = HealthReport(
    health_score=100.0,
    risk_level=RiskLevel.LOW,
    failure_probability=0.0,
    anomaly_count=0,
    time_to_failure_hours=None,
)
FACTS = DeviceFacts(
    connected=True,
    report=REPORT,
    metrics={
        "wifi_signal": MetricFacts(value=-60.0, samples=100),
        "heap_free": MetricFacts(value=150_000.0, samples=100),
    },
    last_sample_age_s=10.0,
    bound_metrics=frozenset({"wifi_signal", "heap_free", "uptime"}),
    metrics_known=True,
    firmware_version="1.0.0",
    last_known_version="1.0.0",
)


def test_plans() -> None:
    assert [s.kind for s in plan_for(IssueType.MEMORY, load_switch=False)] == [StepKind.RESTART]
    assert [s.kind for s in plan_for(IssueType.CRASH_LOOP, load_switch=False)] == [
        StepKind.SAFE_MODE
    ]
    assert [s.kind for s in plan_for(IssueType.CONNECTIVITY, load_switch=False)] == [
        StepKind.RECONNECT,
        StepKind.RESTART_IF_STILL_BAD,
    ]
    assert [s.kind for s in plan_for(IssueType.THERMAL, load_switch=True)] == [
        StepKind.LOAD_SWITCH_OFF
    ]
    (step,) = plan_for(IssueType.THERMAL, load_switch=False)
    assert step.kind is StepKind.UNAVAILABLE
    assert "load switch" in step.reason
    (step,) = plan_for(IssueType.FIRMWARE, load_switch=False)
    assert step.kind is StepKind.ROLLBACK
    assert not step.needs_connection
    for issue_type in IssueType:
        assert plan_for(issue_type, load_switch=False)


def test_validation_passes_on_a_good_device_and_is_extensible() -> None:
    result = validate(FACTS)
    checks = {c.check: c.status for c in result.checks}
    assert result.passed
    assert checks == {
        "reachable": CheckStatus.PASSED,
        "encrypted": CheckStatus.PASSED,
        "reporting": CheckStatus.PASSED,
        "metrics_within_thresholds": CheckStatus.PASSED,
        "baseline_healthy": CheckStatus.PASSED,
        "firmware_as_expected": CheckStatus.PASSED,
    }
    from custom_components.predictive_maintenance.healing.validation import Check

    extra = validate(FACTS, [lambda _f: Check("post_update", CheckStatus.FAILED, "boot loop")])
    assert not extra.passed
    assert extra.as_dict()["validation_result"] == "failed"


def test_validation_failures() -> None:
    bad = dataclasses.replace(
        FACTS,
        connected=False,
        encrypted=False,
        metrics={"heap_free": MetricFacts(value=15_000.0, samples=10)},
        firmware_version="0.9.0",
    )
    checks = {c.check: c.status for c in validate(bad).checks}
    assert checks["reachable"] is CheckStatus.FAILED
    assert checks["encrypted"] is CheckStatus.WARNING
    assert checks["reporting"] is CheckStatus.SKIPPED
    assert checks["metrics_within_thresholds"] is CheckStatus.FAILED
    assert checks["baseline_healthy"] is CheckStatus.WARNING
    assert checks["firmware_as_expected"] is CheckStatus.FAILED
    updating = dataclasses.replace(bad, update_in_progress=True)
    checks = {c.check: c.status for c in validate(updating).checks}
    assert checks["firmware_as_expected"] is CheckStatus.SKIPPED


def test_config_checks() -> None:
    network = {i.item: i for i in check_network(FACTS, "10.0.0.5", 6053)}
    assert {i.status for i in network.values()} == {RepairStatus.OK}
    flaky = dataclasses.replace(FACTS, unexpected_disconnects_1h=4)
    (rate,) = [i for i in check_network(flaky, "h", 1) if i.item == "reconnect_rate"]
    assert rate.fix is Fix.RECONNECT
    key = dataclasses.replace(
        FACTS, key_problem=True, connect_failure="invalid_key", encrypted=True
    )
    (key_item,) = [i for i in check_api(key) if i.item == "key"]
    assert key_item.fix is Fix.REAUTH
    sensors = {i.item: i.status for i in check_sensors(FACTS)}
    assert sensors["uptime"] is RepairStatus.OK
    assert sensors["loop_time"] is RepairStatus.NEEDS_USER
    port, password = check_ota(False, "10.0.0.5", 3232, password_set=False)
    assert port.status is RepairStatus.NEEDS_USER
    assert password.status is RepairStatus.NEEDS_USER
    port, password = check_ota(True, "10.0.0.5", 3232, password_set=True)
    assert port.status is RepairStatus.OK
    assert password.status is RepairStatus.OK
    assert "secret" not in password.action


def test_version_tracking_tells_an_upgrade_from_a_rollback() -> None:
    state = track_version(VersionState(), "2.6.3", update_in_progress=False)
    assert state == VersionState(expected="2.6.3")
    state = track_version(state, "2.6.4", update_in_progress=False)
    assert state == VersionState(expected="2.6.4")
    rolled = track_version(state, "2.6.3", update_in_progress=False)
    assert rolled == VersionState(expected="2.6.4", rolled_back_from="2.6.4")
    assert track_version(rolled, "2.6.4", update_in_progress=False) == VersionState("2.6.4")
    assert track_version(state, "2.6.3", update_in_progress=True) == VersionState("2.6.3")
