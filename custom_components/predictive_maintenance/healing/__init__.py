"""Self-healing: diagnosis rules, recovery plans, validation and the automatic policy (pure).

Nothing here imports Home Assistant: the integration builds `DeviceFacts` from its runtime
state, and executes the plans through the device link.
"""

from __future__ import annotations

from .diagnosis import diagnose
from .facts import DeviceFacts, MetricFacts, facts_from_analytics
from .models import Diagnosis, Issue, IssueType, SymptomMatch
from .plans import RecoveryStep, StepKind, plan_for
from .policy import Decision, DecisionReason, PolicyHistory, PolicySettings, decide
from .validation import Check, CheckStatus, ValidationResult, validate

__all__ = [
    "Check",
    "CheckStatus",
    "Decision",
    "DecisionReason",
    "DeviceFacts",
    "Diagnosis",
    "Issue",
    "IssueType",
    "MetricFacts",
    "PolicyHistory",
    "PolicySettings",
    "RecoveryStep",
    "StepKind",
    "SymptomMatch",
    "ValidationResult",
    "decide",
    "diagnose",
    "facts_from_analytics",
    "plan_for",
    "validate",
]
