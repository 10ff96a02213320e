"""Value types returned by the analytics engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """How far outside its expected range a sample is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class RiskLevel(StrEnum):
    """Risk that a device fails within the prediction horizon."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position of the level, 0 (low) to 3 (critical)."""
        return _RISK_ORDER.index(self)

    @classmethod
    def from_rank(cls, rank: int) -> RiskLevel:
        """Level at position ``rank`` (clamped to the valid range)."""
        return _RISK_ORDER[max(0, min(rank, len(_RISK_ORDER) - 1))]


_RISK_ORDER: tuple[RiskLevel, ...] = (
    RiskLevel.LOW,
    RiskLevel.MEDIUM,
    RiskLevel.HIGH,
    RiskLevel.CRITICAL,
)


@dataclass(frozen=True, slots=True)
class AnomalyEvent:
    """The first sample of an excursion outside the expected range of a metric."""

    metric: str
    value: float
    timestamp: float
    score: float
    severity: Severity
    confidence: float
    expected_range: tuple[float, float]
    direction: str
    z: float

    def __getitem__(self, key: str) -> object:
        """Dict-style access, for callers of the seed facade that indexed its dicts."""
        return self.as_dict()[key]

    def as_dict(self) -> dict[str, object]:
        """JSON-safe form, for events, diagnostics and the seed facade."""
        return {
            "metric": self.metric,
            "value": self.value,
            "timestamp": self.timestamp,
            "score": self.score,
            "severity": str(self.severity),
            "confidence": self.confidence,
            "expected_range": [self.expected_range[0], self.expected_range[1]],
            "direction": self.direction,
            "z": self.z,
        }


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Health, risk and prediction for one device at one instant."""

    health_score: float
    risk_level: RiskLevel
    failure_probability: float
    anomaly_count: int
    time_to_failure_hours: float | None
    recommendations: list[str] = field(default_factory=list)
    most_affected_metric: str | None = None
    metrics_affected: list[str] = field(default_factory=list)
    components: dict[str, float] = field(default_factory=dict)
    reboots_24h: int = 0
    crashes_24h: int = 0
    confidence: float = 0.0
    failing_metric: str | None = None
    fragmentation: float | None = None
