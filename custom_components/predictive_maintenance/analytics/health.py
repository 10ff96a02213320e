"""Health score 0-100 as 100 minus named deductions, so every point lost is explained."""

from __future__ import annotations

from dataclasses import dataclass

from .risk import crash_probability

THRESHOLD_POINTS = (0.0, 8.0, 20.0)  # per metric in normal / warning / failure state
THRESHOLD_CAP = 40.0
ANOMALY_POINTS = 20.0
TREND_POINTS = 30.0
STABILITY_POINTS = 30.0
FRAGMENTATION_POINTS = 15.0


@dataclass(frozen=True, slots=True)
class MetricAssessment:
    """Everything the report knows about one metric."""

    metric: str
    value: float
    state: int  # 0 normal, 1 warning, 2 failure (see MetricLimit.state)
    anomalies: int
    ttf_hours: float | None
    ttf_probability: float
    slope_per_hour: float | None
    tau: float

    @property
    def badness(self) -> float:
        """Ranks metrics for ``most_affected_metric``."""
        return max(self.ttf_probability, 0.35 * self.state) + 0.01 * self.anomalies


def health_components(
    metrics: list[MetricAssessment], crashes: int, fragmented: bool
) -> dict[str, float]:
    """Points deducted from 100, by cause."""
    anomalies = float(sum(m.anomalies for m in metrics))
    return {
        "thresholds": min(THRESHOLD_CAP, sum(THRESHOLD_POINTS[m.state] for m in metrics)),
        "anomalies": ANOMALY_POINTS * anomalies / (anomalies + 8.0),
        "trends": TREND_POINTS * max((m.ttf_probability for m in metrics), default=0.0),
        "stability": STABILITY_POINTS * crash_probability(crashes),
        "fragmentation": FRAGMENTATION_POINTS if fragmented else 0.0,
    }


def health_score(components: dict[str, float]) -> float:
    """100 minus the deductions, clamped to 0..100."""
    return max(0.0, min(100.0, 100.0 - sum(components.values())))
