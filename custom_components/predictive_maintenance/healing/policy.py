"""When the automatic policy may recover a device: pure decisions over a remembered history.

The history lives with the device (persisted by the integration), so limits survive a
restart of Home Assistant. Times are plain POSIX seconds; tests pass a fake clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from custom_components.predictive_maintenance.analytics import RiskLevel

from .models import Diagnosis, Issue, IssueType

DAY_S: Final = 86_400.0
MAX_ATTEMPTS_KEPT: Final = 64
# A blocked condition must stay away this long to count as cleared: a metric hovering
# around its threshold (C11) would otherwise clear and return at every reading.
CLEAR_AFTER_S: Final = 600.0
# The policy tries the gentlest recovery first and escalates only when it did not help:
# a leak that makes a device crash is cured by a restart; safe mode stops its function.
GENTLENESS: Final[dict[IssueType, int]] = {
    IssueType.CONNECTIVITY: 0,
    IssueType.NOT_REPORTING: 1,
    IssueType.MEMORY: 1,
    IssueType.PERFORMANCE: 1,
    IssueType.THERMAL: 2,
    IssueType.CRASH_LOOP: 3,
}


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """The user's choices (options flow)."""

    enabled: bool = False
    min_risk: RiskLevel = RiskLevel.HIGH
    cooldown_s: float = 30 * 60.0
    max_attempts_per_day: int = 3


class DecisionReason(StrEnum):
    """Why the policy did or did not act."""

    RECOVER = "recover"
    DISABLED = "disabled"
    OFFLINE = "offline"
    RISK_BELOW_LEVEL = "risk_below_level"
    NO_RECOVERABLE_ISSUE = "no_recoverable_issue"
    FIRMWARE_UPDATE = "firmware_update"
    BUSY = "busy"
    COOLDOWN = "cooldown"
    DAILY_LIMIT = "daily_limit"
    DID_NOT_HELP = "did_not_help"


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict, and the issue to recover when it is RECOVER."""

    reason: DecisionReason
    issue: Issue | None = None

    @property
    def recover(self) -> bool:
        """Return True when the policy should act now."""
        return self.reason is DecisionReason.RECOVER


@dataclass(frozen=True, slots=True)
class Attempt:
    """One recovery attempt (by the policy or a service call)."""

    at: float
    signature: str
    automatic: bool


class PolicyHistory:
    """What the policy remembers about one device."""

    def __init__(self) -> None:
        """Start with no attempts and nothing blocked."""
        self.attempts: deque[Attempt] = deque(maxlen=MAX_ATTEMPTS_KEPT)
        # Condition signature -> when a recovery for it did not help.
        self.blocked: dict[str, float] = {}
        # Blocked signature -> since when diagnoses no longer show it.
        self.clearing: dict[str, float] = {}

    def record_attempt(self, at: float, issue: Issue, *, automatic: bool) -> None:
        """Remember that a recovery started."""
        self.attempts.append(Attempt(at, issue.signature, automatic))

    def record_outcome(self, at: float, issue: Issue, *, helped: bool) -> None:
        """Remember whether it helped; one that did not is not repeated for this condition."""
        self.clearing.pop(issue.signature, None)
        if helped:
            self.blocked.pop(issue.signature, None)
        else:
            self.blocked[issue.signature] = at

    def observe(self, diagnosis: Diagnosis, now: float) -> None:
        """Unblock conditions that stayed away CLEAR_AFTER_S: a new occurrence may be tried."""
        present = {issue.signature for issue in diagnosis.issues}
        for signature in list(self.blocked):
            if signature in present:
                self.clearing.pop(signature, None)
                continue
            since = self.clearing.setdefault(signature, now)
            if now - since >= CLEAR_AFTER_S:
                del self.blocked[signature]
                del self.clearing[signature]

    def last_attempt_at(self) -> float | None:
        """Return when the latest attempt started."""
        return self.attempts[-1].at if self.attempts else None

    def automatic_attempts_since(self, since: float) -> int:
        """Return how many automatic attempts started after `since`."""
        return sum(1 for a in self.attempts if a.automatic and a.at > since)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state."""
        return {
            "attempts": [[a.at, a.signature, a.automatic] for a in self.attempts],
            "blocked": dict(self.blocked),
            "clearing": dict(self.clearing),
        }

    @classmethod
    def from_dict(cls, data: object) -> PolicyHistory:
        """Inverse of to_dict; ValueError on anything malformed."""
        if not isinstance(data, dict):
            raise ValueError("policy history must be a mapping")
        history = cls()
        try:
            for at, signature, automatic in data["attempts"]:
                history.attempts.append(Attempt(float(at), str(signature), bool(automatic)))
            history.blocked = {str(k): float(v) for k, v in data["blocked"].items()}
            history.clearing = {str(k): float(v) for k, v in data.get("clearing", {}).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"bad policy history: {err}") from err
        return history


def decide(
    settings: PolicySettings,
    history: PolicyHistory,
    *,
    now: float,
    online: bool,
    risk: RiskLevel,
    diagnosis: Diagnosis | None,
    busy: bool,
    firmware_update: bool,
) -> Decision:
    """Decide whether to recover now. `diagnosis` may be None when risk is below the level."""
    if not settings.enabled:
        return Decision(DecisionReason.DISABLED)
    if not online:
        return Decision(DecisionReason.OFFLINE)
    if risk.rank < settings.min_risk.rank:
        return Decision(DecisionReason.RISK_BELOW_LEVEL)
    if firmware_update:
        return Decision(DecisionReason.FIRMWARE_UPDATE)
    candidates = [] if diagnosis is None else diagnosis.auto_recoverable()
    if not candidates:
        return Decision(DecisionReason.NO_RECOVERABLE_ISSUE)
    fresh = sorted(
        (issue for issue in candidates if issue.signature not in history.blocked),
        key=lambda issue: GENTLENESS.get(issue.type, 2),
    )
    if not fresh:
        return Decision(DecisionReason.DID_NOT_HELP, candidates[0])
    issue = fresh[0]
    if busy:
        return Decision(DecisionReason.BUSY, issue)
    last = history.last_attempt_at()
    if last is not None and now - last < settings.cooldown_s:
        return Decision(DecisionReason.COOLDOWN, issue)
    if history.automatic_attempts_since(now - DAY_S) >= settings.max_attempts_per_day:
        return Decision(DecisionReason.DAILY_LIMIT, issue)
    return Decision(DecisionReason.RECOVER, issue)
