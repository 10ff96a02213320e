"""What the diagnosis rules look at: one device's state at one instant, as plain values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from custom_components.predictive_maintenance.analytics import DeviceAnalytics, HealthReport
from custom_components.predictive_maintenance.analytics.detector import MAD_TO_SIGMA
from custom_components.predictive_maintenance.analytics.limits import limit_for
from custom_components.predictive_maintenance.analytics.trend import time_to_failure_s

HOUR_S = 3600.0
DAY_S = 86_400.0


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricFacts:
    """The latest value of a metric against what the models learned about it."""

    value: float
    baseline: float | None = None
    spread: float | None = None  # sigma of the learned baseline
    samples: int = 0
    slope_per_hour: float | None = None
    ttf_hours: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceFacts:
    """Everything the diagnosis, validation and configuration checks need about a device."""

    connected: bool
    report: HealthReport
    metrics: Mapping[str, MetricFacts] = field(default_factory=dict)
    warmup_samples: int = 50
    crashes_1h: int = 0
    crash_reasons: tuple[str, ...] = ()  # reset reasons of the crashes of the last 24 h
    gap_reboots_24h: int = 0
    unexpected_disconnects_1h: int = 0
    not_reporting: bool = False
    last_sample_age_s: float | None = None
    expected_interval_s: float = 60.0
    bound_metrics: frozenset[str] = frozenset()
    metrics_known: bool = False  # False until a session told which entities exist
    encrypted: bool = True
    connect_failure: str | None = None
    key_problem: bool = False
    firmware_version: str | None = None
    last_known_version: str | None = None
    update_in_progress: bool = False
    # Filled by the firmware feature (catalogue of bad releases, device-side rollback seen).
    known_bad_versions: frozenset[str] = frozenset()
    rollback_seen: bool = False
    load_switch: str | None = None


def facts_from_analytics(
    analytics: DeviceAnalytics,
    *,
    report: HealthReport,
    now: float,
    values: Mapping[str, float],
    connected: bool,
) -> DeviceFacts:
    """Build the analytics part of the facts; the caller replaces the rest it knows."""
    t_eff = analytics.clock.peek(now)
    metrics: dict[str, MetricFacts] = {}
    for metric, value in values.items():
        metrics[metric] = _metric_facts(analytics, metric, value, t_eff)
    reboots = analytics.reboots.within(t_eff, DAY_S)
    crashes = [r for r in reboots if r.crash]
    return DeviceFacts(
        report=report,
        metrics=metrics,
        warmup_samples=analytics.config.warmup_samples,
        crashes_1h=sum(1 for r in crashes if r.timestamp > t_eff - HOUR_S),
        crash_reasons=tuple(r.reason or "unknown" for r in crashes),
        gap_reboots_24h=sum(1 for r in reboots if not r.observed),
        connected=connected,
    )


def _metric_facts(
    analytics: DeviceAnalytics, metric: str, value: float, t_eff: float
) -> MetricFacts:
    detector = analytics.detectors.get(metric)
    baseline = spread = None
    samples = 0
    if detector is not None and detector.samples > 0:
        baseline = detector.plain
        spread = MAD_TO_SIGMA * detector.dev_plain
        samples = detector.samples
    slope = ttf = None
    window = analytics.trends.get(metric)
    fit = window.fit(t_eff) if window is not None else None
    limit = limit_for(metric)
    if fit is not None:
        slope = fit.slope * HOUR_S
        if limit is not None:
            seconds = time_to_failure_s(fit, limit)
            ttf = None if seconds is None else seconds / HOUR_S
    return MetricFacts(
        value=value,
        baseline=baseline,
        spread=spread,
        samples=samples,
        slope_per_hour=slope,
        ttf_hours=ttf,
    )


def count_recent(times: Iterable[float], now: float, window_s: float = HOUR_S) -> int:
    """Return how many of the times fall in the window up to now."""
    return sum(1 for t in times if now - window_s < t <= now)
