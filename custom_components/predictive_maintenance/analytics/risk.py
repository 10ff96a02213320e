"""Failure probability within a horizon, and a risk level with hysteresis."""

from __future__ import annotations

from typing import Any

from .models import RiskLevel

UP_THRESHOLDS = (0.3, 0.6, 0.85)
EXTRAPOLATION = 4.0  # probability at which medium / high / critical start
DOWN_MARGIN = 0.1  # a level is left only below its threshold minus this margin ...
DOWN_DWELL_S = 600.0  # ... held for this long (C11 asks 10 min before an alert clears)


def ttf_probability(ttf_hours: float, horizon_hours: float, span_hours: float) -> float:
    """Probability of failure within the horizon given a time to failure, 0.95 once failed.

    A hyperbolic rather than a step function because extrapolated trends are uncertain:
    a TTF equal to the horizon gives 0.48, a quarter of it 0.76, twice it 0.32. A line
    fitted over ``span_hours`` is trusted up to EXTRAPOLATION times that far ahead; beyond,
    the probability shrinks in proportion.
    """
    if ttf_hours <= 0.0:
        return 0.95
    trust = min(1.0, EXTRAPOLATION * span_hours / ttf_hours)
    return 0.95 * trust * horizon_hours / (horizon_hours + ttf_hours)


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
    """Rises at once; falls only after the probability stayed clearly lower for a while.

    The dwell is measured on the device's effective clock, not in reports, so it does not
    depend on how often the coordinator publishes.
    """

    __slots__ = ("level", "low_since")

    def __init__(self) -> None:
        self.level = RiskLevel.LOW
        self.low_since: float | None = None

    def update(self, probability: float, now: float) -> RiskLevel:
        """Feed one report's probability at effective time ``now``; returns the level."""
        target = raw_level(probability)
        if target.rank >= self.level.rank:
            self.level = target
            self.low_since = None
            return self.level
        if probability >= UP_THRESHOLDS[self.level.rank - 1] - DOWN_MARGIN:
            self.low_since = None
            return self.level
        if self.low_since is None or now < self.low_since:
            self.low_since = now
        if now - self.low_since >= DOWN_DWELL_S:
            self.level = RiskLevel.from_rank(
                max(target.rank, raw_level(probability + DOWN_MARGIN).rank)
            )
            self.low_since = None
        return self.level

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state."""
        return {"level": str(self.level), "low_since": self.low_since}

    @classmethod
    def from_dict(cls, data: object) -> RiskTracker:
        """Inverse of to_dict."""
        if not isinstance(data, dict):
            raise ValueError("risk state must be a mapping")
        tracker = cls()
        try:
            tracker.level = RiskLevel(data["level"])
            since = data["low_since"]
            tracker.low_since = None if since is None else float(since)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"bad risk state: {err}") from err
        return tracker
