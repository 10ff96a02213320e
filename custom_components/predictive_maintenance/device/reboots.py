"""Infer device reboots from the uptime a device reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# Uptime sensors publish on an interval (60 s by default) and a new client first gets the
# last published value, so a reading can be that old: boot time estimates from two readings
# of one boot differ by up to that interval.
BOOT_SHIFT_TOLERANCE: Final = 90.0
CLOCK_DRIFT: Final = 0.002
# An uptime shorter than the time nobody watched means the boot happened in between.
UNWATCHED_MARGIN: Final = 5.0
# A reboot this soon after the connection dropped is what caused the drop.
OBSERVED_WINDOW: Final = 300.0


@dataclass(frozen=True, slots=True)
class UptimeReading:
    """An uptime value and when it was received."""

    uptime: float
    at: float

    @property
    def booted_at(self) -> float:
        """Return the boot time this reading implies."""
        return self.at - self.uptime


@dataclass(frozen=True, slots=True)
class RebootSighting:
    """A reboot inferred from uptime; observed is False when nobody was watching."""

    booted_at: float
    observed: bool


class RebootDetector:
    """Turns a stream of uptime readings into reboot sightings, one per reboot."""

    def __init__(self, last: UptimeReading | None = None) -> None:
        """Start from the last reading known from a previous run, if any."""
        self._last = last
        # None while watching; otherwise since when nobody was, and whether we lost it.
        self._unwatched_since: float | None = last.at if last is not None else None
        self._lost_connection = False

    @property
    def last(self) -> UptimeReading | None:
        """Return the latest reading (persisted across restarts)."""
        return self._last

    def connection_lost(self, at: float) -> None:
        """Note that the connection dropped; the next reboot may have caused it."""
        self._unwatched_since = at
        self._lost_connection = True

    def add(self, reading: UptimeReading) -> RebootSighting | None:
        """Record an uptime reading and return a sighting if the device rebooted."""
        previous, self._last = self._last, reading
        unwatched_since, lost_connection = self._unwatched_since, self._lost_connection
        self._unwatched_since = None
        self._lost_connection = False
        if previous is None or not _rebooted_between(previous, reading, unwatched_since):
            return None
        if unwatched_since is None:
            observed = True
        else:
            observed = lost_connection and (reading.booted_at <= unwatched_since + OBSERVED_WINDOW)
        return RebootSighting(booted_at=reading.booted_at, observed=observed)


def _rebooted_between(
    previous: UptimeReading, current: UptimeReading, unwatched_since: float | None
) -> bool:
    if current.uptime < previous.uptime:
        return True
    if (
        unwatched_since is not None
        and current.uptime < current.at - unwatched_since - UNWATCHED_MARGIN
    ):
        return True
    elapsed = max(0.0, current.at - previous.at)
    shift = current.booted_at - previous.booted_at
    return shift > BOOT_SHIFT_TOLERANCE + CLOCK_DRIFT * elapsed
