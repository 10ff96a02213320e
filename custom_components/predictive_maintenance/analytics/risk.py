"""Failure probability within a horizon, and a risk level with hysteresis."""

from __future__ import annotations

from typing import Any

from .models import RiskLevel

UP_THRESHOLDS = (0.3, 0.6, 0.85)  # probability at which medium / high / critical start
DOWN_MARGIN = 0.1  # a level is left only below its threshold minus this margin ...
DOWN_REPORTS = 3  # ... on this many consecutive reports


def ttf_probability(ttf_hours: float, horizon_hours: float) -> float:
    """Probability of failure within the horizon given a time to failure, 0.95 once failed.

    A hyperbolic rather than a step function because extrapolated trends are uncertain:
    a TTF equal to the horizon gives 0.5, a quarter of it 0.8, twice it 0.33.
    """
    if ttf_hours <= 0.0:
        return 0.95
    return 0.95 * horizon_hours / (horizon_hours + ttf_hours)


def crash_probability(crashes: int) -> float:
    """One crash a day is noise (0.2); three are a pattern (0.69)."""
    n = float(crashes)
    return n * n / (n * n + 4.0)


def anomaly_probability(anomalies: int) -> float:
    """Anomalies alone never push risk beyond medium."""
    a = float(anomalies)
    return 0.45 * a / (a + 10.0)


def combine(probabilities: list[float]) -> float:
    """Probability that at least one independent cause fails."""
    survive = 1.0
    for p in probabilities:
        survive *= 1.0 - min(max(p, 0.0), 1.0)
    return 1.0 - survive


def raw_level(probability: float) -> RiskLevel:
    """Level of a probability without hysteresis."""
    rank = sum(1 for th in UP_THRESHOLDS if probability >= th)
    return RiskLevel.from_rank(rank)


class RiskTracker:
    """Rises at once, falls only after DOWN_REPORTS reports clearly below the level."""

    __slots__ = ("level", "low_reports")

    def __init__(self) -> None:
        self.level = RiskLevel.LOW
        self.low_reports = 0

    def update(self, probability: float) -> RiskLevel:
        """Feed one report's probability; returns the level to show."""
        target = raw_level(probability)
        if target.rank >= self.level.rank:
            self.level = target
            self.low_reports = 0
            return self.level
        if probability < UP_THRESHOLDS[self.level.rank - 1] - DOWN_MARGIN:
            self.low_reports += 1
            if self.low_reports >= DOWN_REPORTS:
                self.level = RiskLevel.from_rank(
                    max(target.rank, raw_level(probability + DOWN_MARGIN).rank)
                )
                self.low_reports = 0
        else:
            self.low_reports = 0
        return self.level

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state."""
        return {"level": str(self.level), "low_reports": self.low_reports}

    @classmethod
    def from_dict(cls, data: object) -> RiskTracker:
        """Inverse of to_dict."""
        if not isinstance(data, dict):
            raise ValueError("risk state must be a mapping")
        tracker = cls()
        try:
            tracker.level = RiskLevel(data["level"])
            tracker.low_reports = int(data["low_reports"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"bad risk state: {err}") from err
        return tracker
