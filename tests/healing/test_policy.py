"""The policy's pure decisions, driven by a fake clock."""

from __future__ import annotations

import pytest

from custom_components.predictive_maintenance.analytics import HealthReport, RiskLevel, Severity
from custom_components.predictive_maintenance.healing import (
    DecisionReason,
    Diagnosis,
    Issue,
    IssueType,
    PolicyHistory,
    PolicySettings,
    decide,
)

T0 = 1_800_000_000.0
MINUTE = 60.0
ON = PolicySettings(enabled=True, min_risk=RiskLevel.HIGH, cooldown_s=30 * MINUTE)


def issue(subtype: str = "leak", *, recoverable: bool = True) -> Issue:
    return Issue(
        type=IssueType.MEMORY,
        subtype=subtype,
        description="",
        severity=Severity.HIGH,
        auto_recoverable=recoverable,
        evidence={},
        recommendation="",
    )


def diagnosis(*issues: Issue) -> Diagnosis:
    return Diagnosis(issues=issues, recommendations=())


class Clock:
    """A fake clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def tick(self, seconds: float) -> None:
        self.now += seconds


def run(
    history: PolicyHistory,
    clock: Clock,
    *,
    settings: PolicySettings = ON,
    risk: RiskLevel = RiskLevel.HIGH,
    found: Diagnosis | None = None,
    busy: bool = False,
    firmware: bool = False,
    online: bool = True,
) -> DecisionReason:
    found = diagnosis(issue()) if found is None else found
    history.observe(found, clock.now)
    decision = decide(
        settings,
        history,
        now=clock.now,
        online=online,
        risk=risk,
        diagnosis=found,
        busy=busy,
        firmware_update=firmware,
    )
    if decision.recover:
        assert decision.issue is not None
        history.record_attempt(clock.now, decision.issue, automatic=True)
    return decision.reason


def test_off_by_default() -> None:
    assert run(PolicyHistory(), Clock(), settings=PolicySettings()) is DecisionReason.DISABLED


@pytest.mark.parametrize(
    ("level", "risk", "expected"),
    [
        (RiskLevel.HIGH, RiskLevel.MEDIUM, DecisionReason.RISK_BELOW_LEVEL),
        (RiskLevel.HIGH, RiskLevel.HIGH, DecisionReason.RECOVER),
        (RiskLevel.HIGH, RiskLevel.CRITICAL, DecisionReason.RECOVER),
        (RiskLevel.MEDIUM, RiskLevel.MEDIUM, DecisionReason.RECOVER),
        (RiskLevel.CRITICAL, RiskLevel.HIGH, DecisionReason.RISK_BELOW_LEVEL),
    ],
)
def test_risk_level_threshold(level: RiskLevel, risk: RiskLevel, expected: DecisionReason) -> None:
    settings = PolicySettings(enabled=True, min_risk=level)
    assert run(PolicyHistory(), Clock(), settings=settings, risk=risk) is expected


def test_needs_an_auto_recoverable_issue() -> None:
    found = diagnosis(issue(recoverable=False))
    assert run(PolicyHistory(), Clock(), found=found) is DecisionReason.NO_RECOVERABLE_ISSUE
    assert run(PolicyHistory(), Clock(), found=diagnosis()) is DecisionReason.NO_RECOVERABLE_ISSUE


def test_never_offline_busy_or_during_a_firmware_update() -> None:
    assert run(PolicyHistory(), Clock(), online=False) is DecisionReason.OFFLINE
    assert run(PolicyHistory(), Clock(), firmware=True) is DecisionReason.FIRMWARE_UPDATE
    assert run(PolicyHistory(), Clock(), busy=True) is DecisionReason.BUSY


def test_cooldown_counts_from_the_last_attempt() -> None:
    history, clock = PolicyHistory(), Clock()
    assert run(history, clock) is DecisionReason.RECOVER
    history.record_outcome(clock.now, issue(), helped=True)
    clock.tick(29 * MINUTE)
    assert run(history, clock) is DecisionReason.COOLDOWN
    clock.tick(1 * MINUTE)
    assert run(history, clock) is DecisionReason.RECOVER


def test_manual_attempts_also_start_the_cooldown_but_not_the_daily_count() -> None:
    history, clock = PolicyHistory(), Clock()
    settings = PolicySettings(enabled=True, cooldown_s=MINUTE, max_attempts_per_day=1)
    history.record_attempt(clock.now, issue(), automatic=False)
    assert run(history, clock, settings=settings) is DecisionReason.COOLDOWN
    clock.tick(MINUTE)
    assert run(history, clock, settings=settings) is DecisionReason.RECOVER


def test_attempts_per_day_roll_over_after_24_hours() -> None:
    history, clock = PolicyHistory(), Clock()
    settings = PolicySettings(enabled=True, cooldown_s=MINUTE, max_attempts_per_day=3)
    for _ in range(3):
        assert run(history, clock, settings=settings) is DecisionReason.RECOVER
        clock.tick(2 * MINUTE)
    assert run(history, clock, settings=settings) is DecisionReason.DAILY_LIMIT
    clock.tick(24 * 60 * MINUTE - 5 * MINUTE)
    assert run(history, clock, settings=settings) is DecisionReason.RECOVER


def test_a_recovery_that_did_not_help_waits_for_the_condition_to_change() -> None:
    history, clock = PolicyHistory(), Clock()
    assert run(history, clock) is DecisionReason.RECOVER
    history.record_outcome(clock.now, issue(), helped=False)
    clock.tick(24 * 60 * MINUTE)
    assert run(history, clock) is DecisionReason.DID_NOT_HELP
    # Another condition of the same type is a change: it may be tried.
    both = diagnosis(issue(), issue("fragmentation"))
    assert run(history, clock, found=both) is DecisionReason.RECOVER
    history.record_outcome(clock.now, issue("fragmentation"), helped=True)
    clock.tick(31 * MINUTE)
    # Gone for a moment (a value hovering at its threshold) is not cleared ...
    run(history, clock, found=diagnosis())
    clock.tick(5 * MINUTE)
    assert run(history, clock) is DecisionReason.DID_NOT_HELP
    # ... gone for 10 minutes is: when it comes back, it may be tried again.
    run(history, clock, found=diagnosis())
    clock.tick(10 * MINUTE)
    run(history, clock, found=diagnosis())
    assert not history.blocked
    assert run(history, clock) is DecisionReason.RECOVER


def test_blocked_condition_does_not_hide_another_recoverable_one() -> None:
    history, clock = PolicyHistory(), Clock()
    history.record_outcome(clock.now, issue("leak"), helped=False)
    found = diagnosis(issue("leak"), issue("fragmentation"))
    decision = decide(
        ON,
        history,
        now=clock.now,
        online=True,
        risk=RiskLevel.HIGH,
        diagnosis=found,
        busy=False,
        firmware_update=False,
    )
    assert decision.recover
    assert decision.issue is not None
    assert decision.issue.subtype == "fragmentation"


def test_history_round_trip_and_corrupt_state() -> None:
    history, clock = PolicyHistory(), Clock()
    run(history, clock)
    history.record_outcome(clock.now, issue(), helped=False)
    again = PolicyHistory.from_dict(history.to_dict())
    assert again.to_dict() == history.to_dict()
    for bad in (None, [], {"attempts": [[1]], "blocked": {}}, {"attempts": []}):
        with pytest.raises(ValueError, match="policy history"):
            PolicyHistory.from_dict(bad)


def test_report_fields_are_not_needed_for_a_decision() -> None:
    """decide() looks at the risk level it is given, not at a HealthReport."""
    report = HealthReport(
        health_score=10.0,
        risk_level=RiskLevel.CRITICAL,
        failure_probability=0.9,
        anomaly_count=0,
        time_to_failure_hours=1.0,
    )
    assert run(PolicyHistory(), Clock(), risk=report.risk_level) is DecisionReason.RECOVER


def test_gentlest_recovery_first_then_escalation() -> None:
    """A leaking device that crashes: restart first; safe mode only if that did not help."""
    crash = Issue(
        type=IssueType.CRASH_LOOP,
        subtype="crash_loop",
        description="",
        severity=Severity.CRITICAL,
        auto_recoverable=True,
        evidence={},
        recommendation="",
    )
    history, clock = PolicyHistory(), Clock()
    found = diagnosis(crash, issue())

    def pick() -> IssueType | None:
        decision = decide(
            ON,
            history,
            now=clock.now,
            online=True,
            risk=RiskLevel.HIGH,
            diagnosis=found,
            busy=False,
            firmware_update=False,
        )
        return None if decision.issue is None else decision.issue.type

    assert pick() is IssueType.MEMORY
    history.record_outcome(clock.now, issue(), helped=False)
    assert pick() is IssueType.CRASH_LOOP
