"""Tell a device that is connected but silent (C10) from one that reports normally."""

from __future__ import annotations

from typing import Final

DEFAULT_INTERVAL: Final = 60.0
MIN_INTERVAL: Final = 1.0
MISSED_INTERVALS: Final = 5
# Samples this close together belong to one push of the device's sensors.
BURST_WINDOW: Final = 0.5
_SMOOTHING: Final = 0.2


class ReportingMonitor:
    """Learns how often a device reports and flags it after too many missed intervals."""

    def __init__(self, missed_intervals: int = MISSED_INTERVALS) -> None:
        """Start with no estimate; DEFAULT_INTERVAL applies until one is learned."""
        self._missed_intervals = missed_intervals
        self._interval: float | None = None
        self._last_sample_at: float | None = None
        self._burst_started_at: float | None = None
        self._gap_is_meaningful = False

    @property
    def expected_interval(self) -> float:
        """Return the learned time between two pushes, in seconds."""
        if self._interval is None:
            return DEFAULT_INTERVAL
        return max(self._interval, MIN_INTERVAL)

    @property
    def last_sample_at(self) -> float | None:
        """Return when the latest sample arrived."""
        return self._last_sample_at

    def session_started(self) -> None:
        """Forget the last arrival, so the offline gap does not count as an interval."""
        self._gap_is_meaningful = False

    def sample(self, at: float) -> None:
        """Record that a sample arrived."""
        start = self._burst_started_at
        if start is None or not self._gap_is_meaningful or at - start >= BURST_WINDOW:
            if start is not None and self._gap_is_meaningful:
                gap = at - start
                previous = self._interval
                self._interval = (
                    gap if previous is None else previous + _SMOOTHING * (gap - previous)
                )
            self._burst_started_at = at
        self._last_sample_at = at
        self._gap_is_meaningful = True

    def is_silent(self, now: float) -> bool:
        """Return whether the device has missed too many intervals."""
        if self._last_sample_at is None:
            return False
        return now - self._last_sample_at > self._missed_intervals * self.expected_interval
