"""An effective clock that survives wall-clock jumps (field case C13a)."""

from __future__ import annotations

from typing import Any

MIN_JUMP_S = 900.0  # forward steps beyond max(this, JUMP_FACTOR * interval) are clock jumps
JUMP_FACTOR = 30.0
INTERVAL_RATE = 0.1


class EffectiveClock:
    """Maps caller timestamps to a monotonic timeline.

    A step backwards, or a forward step far larger than the usual sampling interval, is
    taken as a clock jump: the timeline then advances by the usual interval instead, so a
    jump neither creates a slope spike nor makes samples look like they come from the
    future. Equal timestamps (several metrics in one push) advance by zero.
    """

    __slots__ = ("effective", "interval", "last_raw")

    def __init__(self) -> None:
        self.last_raw: float | None = None
        self.effective = 0.0
        self.interval = 0.0

    def _step(self, raw: float) -> float:
        assert self.last_raw is not None
        delta = raw - self.last_raw
        limit = max(MIN_JUMP_S, JUMP_FACTOR * self.interval)
        if 0.0 <= delta <= limit:
            return delta
        return self.interval

    def advance(self, raw: float, *, learn: bool = True) -> float:
        """Effective time of a sample stamped ``raw``; ``learn`` updates the usual interval."""
        if self.last_raw is None:
            self.last_raw = raw
            self.effective = raw
            return raw
        step = self._step(raw)
        if learn and step > 0.0 and step == raw - self.last_raw:
            self.interval = (
                step
                if self.interval == 0.0
                else self.interval + INTERVAL_RATE * (step - self.interval)
            )
        self.effective += step
        self.last_raw = raw
        return self.effective

    def place(self, raw: float) -> float:
        """Effective time of an event that is not a sample (a reboot).

        Its stamp may be derived (now - uptime) and precede the last sample; it is then put
        that far in the past without moving the clock back.
        """
        if self.last_raw is not None and raw < self.last_raw:
            behind = self.last_raw - raw
            limit = max(MIN_JUMP_S, JUMP_FACTOR * self.interval)
            return self.effective - (behind if behind <= limit else 0.0)
        return self.advance(raw, learn=False)

    def peek(self, raw: float) -> float:
        """Effective time of ``raw`` without moving the clock (for reports)."""
        if self.last_raw is None:
            return raw
        delta = raw - self.last_raw
        limit = max(MIN_JUMP_S, JUMP_FACTOR * self.interval)
        return self.effective + (delta if 0.0 <= delta <= limit else 0.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state."""
        return {"last_raw": self.last_raw, "effective": self.effective, "interval": self.interval}

    @classmethod
    def from_dict(cls, data: object) -> EffectiveClock:
        """Inverse of to_dict."""
        if not isinstance(data, dict):
            raise ValueError("clock state must be a mapping")
        clock = cls()
        try:
            last = data["last_raw"]
            clock.last_raw = None if last is None else float(last)
            clock.effective = float(data["effective"])
            clock.interval = float(data["interval"])
        except (KeyError, TypeError) as err:
            raise ValueError(f"bad clock state: {err}") from err
        return clock
