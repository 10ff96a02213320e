"""Robust degradation trend: Theil-Sen slope over a bounded window of time buckets."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .limits import MetricLimit

MIN_POINTS = 4
RECENT_POINTS = 3


@dataclass(frozen=True, slots=True)
class Trend:
    """Slope (unit per second), fitted value now, and Kendall's tau of the window."""

    slope: float
    level: float
    tau: float
    points: int
    span_s: float


def theil_sen(t: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    """(slope, intercept, tau) of the median pairwise slope; pairs with equal t are skipped."""
    i, j = np.triu_indices(len(t), k=1)
    dt = t[j] - t[i]
    dv = v[j] - v[i]
    keep = dt > 0
    if not np.any(keep):
        return 0.0, float(np.median(v)), 0.0
    slopes = dv[keep] / dt[keep]
    slope = float(np.median(slopes))
    intercept = float(np.median(v - slope * t))
    tau = float((np.count_nonzero(slopes > 0) - np.count_nonzero(slopes < 0)) / slopes.size)
    return slope, intercept, tau


class TrendWindow:
    """Bucketed samples of one metric; O(1) per sample, the fit runs only on demand."""

    __slots__ = ("bucket_s", "capacity", "count", "points", "start", "sum_t", "sum_v")

    def __init__(self, bucket_s: float = 600.0, capacity: int = 32) -> None:
        self.bucket_s = bucket_s
        self.capacity = capacity
        self.points: deque[tuple[float, float]] = deque(maxlen=capacity)
        self.start = 0.0
        self.sum_t = 0.0
        self.sum_v = 0.0
        self.count = 0

    def add(self, t: float, value: float) -> None:
        """Add a sample at effective time ``t`` (non-decreasing)."""
        if self.count and t - self.start >= self.bucket_s:
            self.points.append((self.sum_t / self.count, self.sum_v / self.count))
            self.count = 0
        if self.count == 0:
            self.start = t
            self.sum_t = self.sum_v = 0.0
        self.sum_t += t
        self.sum_v += value
        self.count += 1

    def _series(self) -> list[tuple[float, float]]:
        series = list(self.points)
        if self.count:
            series.append((self.sum_t / self.count, self.sum_v / self.count))
        return series[-self.capacity :]

    def fit(self, now: float) -> Trend | None:
        """Theil-Sen fit, or None while the window is too short to say anything."""
        series = self._series()
        if len(series) < MIN_POINTS:
            return None
        arr = np.asarray(series, dtype=np.float64)
        t0 = arr[-1, 0]
        t = arr[:, 0] - t0  # relative times keep the intercept well conditioned
        slope, _, tau = theil_sen(t, arr[:, 1])
        # The level now is projected from the most recent points, not read off the line's
        # middle: on a decline that is levelling off the line would undershoot.
        recent = arr[-RECENT_POINTS:]
        level = float(np.median(recent[:, 1] + slope * (now - recent[:, 0])))
        return Trend(slope, level, tau, len(series), float(-t[0]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state."""
        return {
            "points": [[t, v] for t, v in self.points],
            "start": self.start,
            "sum_t": self.sum_t,
            "sum_v": self.sum_v,
            "count": self.count,
        }

    @classmethod
    def from_dict(cls, data: object, bucket_s: float = 600.0, capacity: int = 32) -> TrendWindow:
        """Inverse of to_dict."""
        if not isinstance(data, dict):
            raise ValueError("trend state must be a mapping")
        win = cls(bucket_s, capacity)
        try:
            for t, v in data["points"]:
                win.points.append((float(t), float(v)))
            win.start = float(data["start"])
            win.sum_t = float(data["sum_t"])
            win.sum_v = float(data["sum_v"])
            win.count = int(data["count"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"bad trend state: {err}") from err
        return win


def time_to_failure_s(trend: Trend, limit: MetricLimit, min_tau: float = 0.5) -> float | None:
    """Seconds until the fitted line reaches the failure limit; None if not heading there."""
    headroom = limit.headroom(trend.level)
    if headroom <= 0.0:
        return 0.0
    toward = -trend.slope if limit.falls else trend.slope
    consistent = -trend.tau if limit.falls else trend.tau
    if toward <= 0.0 or consistent < min_tau:
        return None
    return headroom / toward
