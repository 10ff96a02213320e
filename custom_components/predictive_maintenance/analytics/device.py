"""All analytics of one device: detectors, trends, reboots, risk, health."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from .clock import EffectiveClock
from .config import DetectorConfig
from .detector import StreamDetector, confidence, severity_rank
from .errors import InvalidSampleError
from .health import MetricAssessment, health_components, health_score
from .limits import FRAGMENTATION_RATIO, limit_for
from .models import AnomalyEvent, HealthReport, Severity
from .reboots import DAY_S, Reboot, RebootLog
from .recommendations import (
    crash_recommendation,
    fragmentation_recommendation,
    metric_recommendation,
)
from .risk import RiskTracker, anomaly_probability, combine, crash_probability, ttf_probability
from .trend import TrendWindow, time_to_failure_s
from .validation import finite_float

STATE_VERSION = 1
MAX_ANOMALIES = 512
THRESHOLD_PROBABILITY = (0.0, 0.15, 0.7)
FRAGMENTATION_PROBABILITY = 0.65
_SEVERITIES = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


class DeviceAnalytics:
    """Analytics of one device. Not thread-safe; the coordinator calls it from one loop."""

    def __init__(
        self,
        device_id: str,
        warmup_samples: int = 50,
        z_threshold: float = 3.0,
        *,
        config: DetectorConfig | None = None,
        horizon_hours: float = 24.0,
    ) -> None:
        self.device_id = device_id
        self.config = config or DetectorConfig(
            warmup_samples=warmup_samples, z_threshold=z_threshold
        )
        self.horizon_hours = horizon_hours
        self.clock = EffectiveClock()
        self.detectors: dict[str, StreamDetector] = {}
        self.trends: dict[str, TrendWindow] = {}
        self.last_values: dict[str, float] = {}
        self.scores: dict[str, float] = {}  # anomaly score of each metric's latest sample
        self.anomalies: deque[tuple[float, str]] = deque(maxlen=MAX_ANOMALIES)
        self.reboots = RebootLog()
        self.risk = RiskTracker()

    # ---- input -------------------------------------------------------------------------
    def add_sample(
        self, metric: str, value: object, timestamp: float | None = None
    ) -> AnomalyEvent | None:
        """Learn one sample; returns an event for the first sample of an excursion.

        Raises InvalidSampleError (state unchanged) for NaN, inf or non-numbers.
        """
        if not isinstance(metric, str) or not metric:
            raise InvalidSampleError("metric must be a non-empty string")
        x = finite_float(value)
        stamp = time.time() if timestamp is None else finite_float(timestamp, "timestamp")
        t_eff = self.clock.advance(stamp)
        det = self.detectors.get(metric)
        if det is None:
            det = self.detectors[metric] = StreamDetector(self.config)
        # Trends see the value without its daily cycle, so a warm afternoon is no "trend".
        offset = det.daily_offset(stamp)
        step = det.update(x, stamp)
        self.last_values[metric] = x
        self.scores[metric] = step.score
        if limit_for(metric) is not None:
            trend = self.trends.get(metric)
            if trend is None:
                trend = self.trends[metric] = TrendWindow()
            trend.add(t_eff, x - offset)
        if not step.event:
            return None
        self.anomalies.append((t_eff, metric))
        t = self.config.z_threshold
        rank = severity_rank(step.z, t)
        limit = limit_for(metric)
        if limit is not None and limit.state(x) == 2:
            rank = 3
        return AnomalyEvent(
            metric=metric,
            value=x,
            timestamp=stamp,
            score=step.score,
            severity=_SEVERITIES[rank],
            confidence=confidence(step.z, t, step.samples, self.config.warmup_samples),
            expected_range=(step.expected_low, step.expected_high),
            direction=step.direction,
            z=step.z,
        )

    def record_reboot(
        self,
        timestamp: float,
        reset_reason: str | None,
        *,
        observed: bool = True,
        expected: bool = False,
    ) -> None:
        """Record a reboot (an uptime reset).

        observed=False: it happened while nobody was connected (C04); it is kept in the
        history but is not a crash. expected=True: it was requested (restart button, OTA).
        """
        stamp = finite_float(timestamp, "timestamp")
        if reset_reason is not None and not isinstance(reset_reason, str):
            raise InvalidSampleError("reset_reason must be a string or None")
        self.reboots.record(Reboot(self.clock.place(stamp), reset_reason, observed, expected))

    def reset_metrics(self, metrics: Iterable[str]) -> None:
        """Forget the baseline and trend of these metrics: they warm up again from scratch.

        For hardware-dependent metrics after a board was replaced (C06). Anomaly and reboot
        history stay; they describe what happened, not what is normal.
        """
        for metric in metrics:
            self.detectors.pop(metric, None)
            self.trends.pop(metric, None)
            self.last_values.pop(metric, None)

    # ---- output ------------------------------------------------------------------------
    def report(self, now: float | None = None, *, lookback_hours: float = 24.0) -> HealthReport:
        """Health, risk and prediction now. Updates the risk hysteresis."""
        t_now = self.clock.effective if now is None else self.clock.peek(finite_float(now, "now"))
        window = lookback_hours * 3600.0
        counts: dict[str, int] = {}
        for t, metric in self.anomalies:
            if t_now - window < t <= t_now + 1e-9:
                counts[metric] = counts.get(metric, 0) + 1

        assessments = [
            self._assess(m, v, counts.get(m, 0), t_now) for m, v in self.last_values.items()
        ]
        ratio = self._fragmentation()
        fragmented = (
            ratio is not None and ratio < FRAGMENTATION_RATIO and self._falling("heap_max_block")
        )
        reboots = self.reboots.within(t_now, DAY_S)
        crashes = [r for r in reboots if r.crash]

        probs = [m.ttf_probability for m in assessments]
        probs += [THRESHOLD_PROBABILITY[m.state] for m in assessments]
        probs.append(crash_probability(len(crashes)))
        probs.append(anomaly_probability(sum(counts.values())))
        if fragmented:
            probs.append(FRAGMENTATION_PROBABILITY)
        probability = combine(probs)
        level = self.risk.update(probability, t_now)

        components = health_components(assessments, len(crashes), fragmented)
        ranked = sorted(assessments, key=lambda m: m.badness, reverse=True)
        affected = [m.metric for m in ranked if m.badness > 0.0]
        failing = min(
            (m for m in assessments if m.ttf_hours is not None),
            key=lambda m: m.ttf_hours if m.ttf_hours is not None else 0.0,
            default=None,
        )
        recs = [r for m in ranked if (r := metric_recommendation(m)) is not None]
        if fragmented and ratio is not None:
            recs.insert(0, fragmentation_recommendation(ratio))
        if (crash_line := crash_recommendation(crashes)) is not None:
            recs.append(crash_line)
        if fragmented and "heap_max_block" not in affected:
            affected.insert(0, "heap_max_block")

        samples = sum(d.samples for d in self.detectors.values())
        maturity = min(1.0, samples / (4.0 * self.config.warmup_samples)) if self.detectors else 0.0
        trend_conf = abs(failing.tau) if failing is not None else 1.0
        return HealthReport(
            health_score=health_score(components),
            risk_level=level,
            failure_probability=probability,
            anomaly_count=sum(counts.values()),
            time_to_failure_hours=failing.ttf_hours if failing is not None else None,
            recommendations=recs,
            most_affected_metric=affected[0] if affected else None,
            metrics_affected=affected,
            components=components,
            reboots_24h=len(reboots),
            crashes_24h=len(crashes),
            confidence=maturity * (0.5 + 0.5 * trend_conf),
            failing_metric=failing.metric if failing is not None else None,
            fragmentation=ratio,
        )

    def _assess(self, metric: str, value: float, anomalies: int, t_now: float) -> MetricAssessment:
        limit = limit_for(metric)
        trend_win = self.trends.get(metric)
        fit = trend_win.fit(t_now) if trend_win is not None else None
        ttf_h: float | None = None
        if limit is not None and fit is not None:
            ttf_s = time_to_failure_s(fit, limit)
            ttf_h = None if ttf_s is None else ttf_s / 3600.0
        return MetricAssessment(
            metric=metric,
            value=value,
            state=limit.state(value) if limit is not None else 0,
            anomalies=anomalies,
            ttf_hours=ttf_h,
            ttf_probability=0.0
            if ttf_h is None or fit is None
            else ttf_probability(ttf_h, self.horizon_hours, fit.span_s / 3600.0),
            slope_per_hour=None if fit is None else fit.slope * 3600.0,
            tau=0.0 if fit is None else fit.tau,
        )

    def _fragmentation(self) -> float | None:
        free = self.last_values.get("heap_free")
        block = self.last_values.get("heap_max_block")
        if free is None or block is None or free <= 0.0:
            return None
        return block / free

    def _falling(self, metric: str) -> bool:
        trend = self.trends.get(metric)
        fit = trend.fit(self.clock.effective) if trend is not None else None
        return fit is not None and fit.slope < 0.0 and fit.tau <= -0.5

    # ---- persistence -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Versioned JSON-safe state."""
        return {
            "version": STATE_VERSION,
            "device_id": self.device_id,
            "config": self.config.to_dict(),
            "horizon_hours": self.horizon_hours,
            "clock": self.clock.to_dict(),
            "detectors": {m: d.to_dict() for m, d in self.detectors.items()},
            "trends": {m: w.to_dict() for m, w in self.trends.items()},
            "last_values": dict(self.last_values),
            "scores": dict(self.scores),
            "anomalies": [[t, m] for t, m in self.anomalies],
            "reboots": self.reboots.to_dict(),
            "risk": self.risk.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: object) -> DeviceAnalytics:
        """Inverse of to_dict; ValueError on an unknown version or a corrupt state."""
        if not isinstance(data, dict):
            raise ValueError("device analytics state must be a mapping")
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported analytics state version {data.get('version')!r}")
        try:
            config = DetectorConfig.from_dict(data["config"])
            obj = cls(
                str(data["device_id"]), config=config, horizon_hours=float(data["horizon_hours"])
            )
            obj.clock = EffectiveClock.from_dict(data["clock"])
            obj.detectors = {
                str(m): StreamDetector.from_dict(d, config) for m, d in data["detectors"].items()
            }
            obj.trends = {str(m): TrendWindow.from_dict(w) for m, w in data["trends"].items()}
            obj.last_values = {str(m): float(v) for m, v in data["last_values"].items()}
            obj.scores = {str(m): float(v) for m, v in data.get("scores", {}).items()}
            for t, m in data["anomalies"]:
                obj.anomalies.append((float(t), str(m)))
            obj.reboots = RebootLog.from_dict(data["reboots"])
            obj.risk = RiskTracker.from_dict(data["risk"])
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            raise ValueError(f"corrupt analytics state: {err}") from err
        return obj
