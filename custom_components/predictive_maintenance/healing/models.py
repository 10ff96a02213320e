"""What a diagnosis returns: issues with their evidence, and how symptoms were read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from custom_components.predictive_maintenance.analytics import Severity


class IssueType(StrEnum):
    """Kinds of problems a diagnosis can report (and `recover` accepts)."""

    MEMORY = "memory"
    THERMAL = "thermal"
    CONNECTIVITY = "connectivity"
    CRASH_LOOP = "crash_loop"
    PERFORMANCE = "performance"
    FIRMWARE = "firmware"
    CONFIGURATION = "configuration"
    NOT_REPORTING = "not_reporting"


SEVERITY_ORDER: tuple[Severity, ...] = (
    Severity.LOW,
    Severity.MEDIUM,
    Severity.HIGH,
    Severity.CRITICAL,
)


def severity_rank(severity: Severity) -> int:
    """0 (low) to 3 (critical)."""
    return SEVERITY_ORDER.index(severity)


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """One problem found on a device, with the numbers that show it."""

    type: IssueType
    subtype: str
    description: str
    severity: Severity
    auto_recoverable: bool
    evidence: Mapping[str, Any]
    recommendation: str
    steered: bool = False  # a reported symptom pointed at this issue type

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for service responses and the audit log."""
        return {
            "type": str(self.type),
            "subtype": self.subtype,
            "description": self.description,
            "severity": str(self.severity),
            "auto_recoverable": self.auto_recoverable,
            "evidence": dict(self.evidence),
        }

    @property
    def signature(self) -> str:
        """Identifies the condition, so a recovery that did not help is not repeated."""
        return f"{self.type}:{self.subtype}"


@dataclass(frozen=True, slots=True)
class SymptomMatch:
    """How one free-text symptom was understood."""

    text: str
    issue_types: tuple[IssueType, ...]

    @property
    def understood(self) -> bool:
        """Return whether any keyword of the symptom was recognised."""
        return bool(self.issue_types)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "text": self.text,
            "understood": self.understood,
            "issue_types": [str(t) for t in self.issue_types],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnosis:
    """Everything found on a device, most important first."""

    issues: tuple[Issue, ...]
    recommendations: tuple[str, ...]
    symptoms: tuple[SymptomMatch, ...] = field(default_factory=tuple)

    @property
    def severity(self) -> str:
        """The worst issue's severity, or "none" for a healthy device."""
        if not self.issues:
            return "none"
        return str(max((i.severity for i in self.issues), key=severity_rank))

    def issues_of(self, issue_type: IssueType) -> list[Issue]:
        """Return the issues of one type."""
        return [issue for issue in self.issues if issue.type is issue_type]

    def auto_recoverable(self) -> list[Issue]:
        """Issues the policy may act on, most important first."""
        return [issue for issue in self.issues if issue.auto_recoverable]

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe form for the diagnose service."""
        return {
            "severity": self.severity,
            "issues": [issue.as_dict() for issue in self.issues],
            "recommendations": list(self.recommendations),
            "symptoms": [symptom.as_dict() for symptom in self.symptoms],
        }
