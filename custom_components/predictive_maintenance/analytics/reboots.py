"""Reboot and crash history of one device."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

MAX_REBOOTS = 64
DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Reboot:
    """One reboot; ``crash`` is True when it was seen, unexpected and unrequested."""

    timestamp: float
    reason: str | None
    observed: bool
    expected: bool

    @property
    def crash(self) -> bool:
        """Counts toward crash frequency (C04: reboots in a monitoring gap do not)."""
        return self.observed and not self.expected


class RebootLog:
    """Bounded history of reboots on the effective timeline."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: deque[Reboot] = deque(maxlen=MAX_REBOOTS)

    def record(self, reboot: Reboot) -> None:
        """Append one reboot."""
        self.entries.append(reboot)

    def within(self, now: float, window_s: float = DAY_S) -> list[Reboot]:
        """Reboots in the ``window_s`` seconds up to ``now``."""
        return [r for r in self.entries if now - window_s < r.timestamp <= now + 1e-9]

    def to_dict(self) -> list[dict[str, Any]]:
        """JSON-safe state."""
        return [
            {"t": r.timestamp, "reason": r.reason, "observed": r.observed, "expected": r.expected}
            for r in self.entries
        ]

    @classmethod
    def from_dict(cls, data: object) -> RebootLog:
        """Inverse of to_dict."""
        if not isinstance(data, list):
            raise ValueError("reboot log must be a list")
        log = cls()
        try:
            for item in data:
                reason = item["reason"]
                log.record(
                    Reboot(
                        float(item["t"]),
                        None if reason is None else str(reason),
                        bool(item["observed"]),
                        bool(item["expected"]),
                    )
                )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"bad reboot log: {err}") from err
        return log
