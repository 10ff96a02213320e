"""Replay of recorded `timestamp,value` traces, time-compressed, as a sensor's values."""

from __future__ import annotations

import bisect
import csv
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

TRACES_DIR = Path(__file__).parent / "traces"
NAB_MACHINE_TEMPERATURE_CSV = TRACES_DIR / "machine_temperature_system_failure.csv"
DEFAULT_SPEED = 300.0


def _parse_timestamp(text: str) -> float:
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # naive stamps: no local DST jumps
    return parsed.timestamp()


@lru_cache(maxsize=16)
def load_csv(path: Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Read a `timestamp,value` CSV (ISO datetimes or seconds); times relative to the first row."""
    times: list[float] = []
    values: list[float] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if len(row) < 2:
                continue
            try:
                stamp = _parse_timestamp(row[0])
                value = float(row[1])
            except ValueError:
                continue  # header or malformed row
            times.append(stamp)
            values.append(value)
    if not times:
        raise ValueError(f"{path.name}: no samples")
    start = times[0]
    return tuple(stamp - start for stamp in times), tuple(values)


@dataclass(frozen=True)
class ReplayTrace:
    """A trace played as `offset + scale * value`, `speed` trace seconds per simulated second.

    The trace holds each sample until the next one and starts over when it ends.
    """

    path: Path
    scale: float = 1.0
    offset: float = 0.0
    speed: float = DEFAULT_SPEED
    _samples: tuple[tuple[float, ...], tuple[float, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        object.__setattr__(self, "_samples", load_csv(Path(self.path).resolve()))

    @property
    def duration(self) -> float:
        """Simulated seconds for one pass through the trace."""
        times = self._samples[0]
        step = times[-1] / (len(times) - 1) if len(times) > 1 else 1.0
        return (times[-1] + step) / self.speed

    def __len__(self) -> int:
        return len(self._samples[0])

    def value_at(self, sim_seconds: float) -> float:
        """Mapped value at `sim_seconds` since the replay started."""
        times, values = self._samples
        trace_time = (max(0.0, sim_seconds) % self.duration) * self.speed
        index = max(0, bisect.bisect_right(times, trace_time) - 1)
        return self.offset + self.scale * values[index]


def as_trace(source: Path | str | ReplayTrace) -> ReplayTrace:
    """Accept a plain path (values played unchanged) or a configured trace."""
    return source if isinstance(source, ReplayTrace) else ReplayTrace(Path(source))


def nab_machine_temperature(speed: float = DEFAULT_SPEED) -> ReplayTrace:
    """The NAB machine temperature trace mapped to ESP32 internal temperature (°C)."""
    return ReplayTrace(NAB_MACHINE_TEMPERATURE_CSV, scale=0.35, offset=20.0, speed=speed)
