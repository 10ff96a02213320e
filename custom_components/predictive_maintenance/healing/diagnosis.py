"""Run every rule over a device's facts, steered by the symptoms the user reported."""

from __future__ import annotations

from collections.abc import Iterable

from .facts import DeviceFacts
from .models import Diagnosis, Issue, severity_rank
from .rules import RULES
from .symptoms import read_symptoms, steered_types


def diagnose(facts: DeviceFacts, symptoms: Iterable[str] = ()) -> Diagnosis:
    """Return the device's issues, most important first, and what to do about them."""
    matches = read_symptoms(symptoms)
    steered = steered_types(matches)
    issues: list[Issue] = []
    for issue_type, rule in RULES.items():
        issues.extend(rule(facts, issue_type in steered))
    # Issues the user pointed at come first; within each group, the worst first.
    issues.sort(key=lambda issue: (not issue.steered, -severity_rank(issue.severity)))

    recommendations: list[str] = []
    for issue in issues:
        if issue.recommendation not in recommendations:
            recommendations.append(issue.recommendation)
    for line in facts.report.recommendations:
        if line not in recommendations:
            recommendations.append(line)
    found_types = {issue.type for issue in issues}
    for match in matches:
        if not match.understood:
            recommendations.append(
                f"Symptom not understood: {match.text!r}. Describe it with words like "
                "memory, slow, hot, Wi-Fi, reboots, firmware or no data."
            )
            continue
        for issue_type in match.issue_types:
            if issue_type not in found_types:
                recommendations.append(
                    f"Checked {issue_type} for {match.text!r}: the readings show no problem."
                )
    return Diagnosis(issues=tuple(issues), recommendations=tuple(recommendations), symptoms=matches)
