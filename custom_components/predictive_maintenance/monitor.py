"""Turn one device's states into metric samples, reboots and a reporting rhythm.

No Home Assistant here: the coordinator feeds it states with their arrival time.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from typing import Final

from aioesphomeapi import EntityInfo, EntityState, SensorState, TextSensorState

from .analytics import AnomalyEvent, DeviceAnalytics, InvalidSampleError
from .device.metrics import (
    RESET_REASON,
    UPTIME,
    MetricBinding,
    MetricKind,
    bind_entities,
    is_original_esp32,
    plausible_text,
    plausible_value,
)
from .device.reboots import RebootDetector, RebootSighting, UptimeReading
from .device.reporting import ReportingMonitor

_LOGGER = logging.getLogger(__name__)

RECENT_ANOMALIES: Final = 20


class DeviceMonitor:
    """Feeds a device's analytics from its states, one connection session at a time."""

    def __init__(self, analytics: DeviceAnalytics, last_uptime: UptimeReading | None) -> None:
        """Continue from what a previous run learned."""
        self.analytics = analytics
        self.recent_anomalies: deque[AnomalyEvent] = deque(maxlen=RECENT_ANOMALIES)
        self.reset_reason: str | None = None
        self.last_sample_at: float | None = None
        self._reboots = RebootDetector(last_uptime)
        self._reporting = ReportingMonitor()
        self._bindings: dict[int, MetricBinding] = {}
        self._original_esp32 = False
        self._values: dict[str, float] = {}
        # When each metric last got a plausible reading (recoveries wait for fresh ones).
        self.sampled_at: dict[str, float] = {}
        self._resent: set[str] = set()
        self._reset_reason_seen = False
        self._disconnect_was_expected = False
        self._pending_reboot: RebootSighting | None = None

    @property
    def values(self) -> dict[str, float]:
        """Return the latest plausible value of every metric (a copy)."""
        return dict(self._values)

    @property
    def units(self) -> dict[str, str | None]:
        """Return the canonical unit of every bound metric."""
        return {b.metric: b.unit for b in self._bindings.values()}

    @property
    def bindings(self) -> list[MetricBinding]:
        """Return how the current session's entities map to metrics."""
        return list(self._bindings.values())

    @property
    def original_esp32(self) -> bool:
        """Return whether the device is an original ESP32 (for the 53.3 °C filter)."""
        return self._original_esp32

    @property
    def last_uptime(self) -> UptimeReading | None:
        """Return the latest uptime reading (persisted across restarts)."""
        return self._reboots.last

    @property
    def expected_interval(self) -> float:
        """Return the learned time between two pushes of the device, in seconds."""
        return self._reporting.expected_interval

    def is_silent(self, now: float) -> bool:
        """Return whether the device missed too many pushes (C10)."""
        return self._reporting.is_silent(now)

    def session_started(self, model: str, entities: Iterable[EntityInfo]) -> None:
        """Bind a fresh connection's entities; its first states are re-sends."""
        self._bindings = bind_entities(entities)
        self._original_esp32 = is_original_esp32(model)
        self._resent = {b.metric for b in self._bindings.values()}
        self._reset_reason_seen = False
        self._reporting.session_started()

    def session_ignored(self) -> None:
        """Drop the bindings: the connected board is not the monitored device."""
        self._bindings = {}

    def connection_lost(self, at: float, *, expected: bool) -> None:
        """Note a lost connection; a reboot seen next may be what ended it."""
        self._disconnect_was_expected = expected
        self._reboots.connection_lost(at)

    def ingest(self, state: EntityState, at: float) -> bool:
        """Take one state; return whether anything worth publishing changed."""
        binding = self._bindings.get(state.key)
        if binding is None:
            return False
        if binding.kind is MetricKind.TEXT:
            return isinstance(state, TextSensorState) and self._ingest_text(binding, state, at)
        if not isinstance(state, SensorState):
            return False
        self._reporting.sample(at)
        value = plausible_value(
            binding, state.state, missing=state.missing_state, original_esp32=self._original_esp32
        )
        if value is None:
            return False
        self.last_sample_at = at
        if binding.metric == UPTIME:
            self._ingest_uptime(value, at)
        else:
            self._learn(binding.metric, value, at)
        self._values[binding.metric] = value
        self.sampled_at[binding.metric] = at
        return True

    def resolve_pending_reboot(self) -> tuple[RebootSighting, str | None] | None:
        """Record a reboot waiting for its reset reason; return it with the reason used."""
        sighting, self._pending_reboot = self._pending_reboot, None
        if sighting is None:
            return None
        reason = self.reset_reason if self._reset_reason_seen else None
        self.analytics.record_reboot(
            sighting.booted_at,
            reason,
            observed=sighting.observed,
            expected=sighting.observed and self._disconnect_was_expected,
        )
        _LOGGER.debug(
            "%s rebooted (%s, %s)",
            self.analytics.device_id,
            reason or "unknown reason",
            "observed" if sighting.observed else "during a monitoring gap",
        )
        return sighting, reason

    def _ingest_text(self, binding: MetricBinding, state: TextSensorState, at: float) -> bool:
        if binding.metric != RESET_REASON:
            return False
        self._reporting.sample(at)
        self.reset_reason = plausible_text(state.state, missing=state.missing_state)
        self._reset_reason_seen = True
        self.resolve_pending_reboot()
        return True

    def _ingest_uptime(self, uptime: float, at: float) -> None:
        sighting = self._reboots.add(UptimeReading(uptime, at))
        if sighting is None:
            return
        self._pending_reboot = sighting
        # The reset reason follows uptime in the same burst; wait for it unless it is here.
        has_reason = any(b.metric == RESET_REASON for b in self._bindings.values())
        if self._reset_reason_seen or not has_reason:
            self.resolve_pending_reboot()

    def _learn(self, metric: str, value: float, at: float) -> None:
        # After a reconnect the device resends its last states; an unchanged value is the
        # same old reading, not a fresh sample.
        if metric in self._resent:
            self._resent.discard(metric)
            if self.analytics.last_values.get(metric) == value:
                return
        try:
            event = self.analytics.add_sample(metric, value, timestamp=at)
        except InvalidSampleError:
            return
        if event is not None:
            self.recent_anomalies.append(event)
