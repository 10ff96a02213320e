"""Anomaly detector behaviour: spikes, level shifts, flat and quantised metrics, warm-up."""

from __future__ import annotations

import json
import math
import random

import numpy as np

from custom_components.predictive_maintenance.analytics import (
    DetectorConfig,
    DeviceAnalytics,
    RiskLevel,
    Severity,
    StreamDetector,
)


def _feed(da: DeviceAnalytics, metric: str, values: list[float], dt: float = 10.0, t0: float = 0.0):
    events = []
    for i, v in enumerate(values):
        ev = da.add_sample(metric, v, t0 + dt * i)
        if ev is not None:
            events.append((i, ev))
    return events


def test_spike_is_detected_once() -> None:
    rng = np.random.default_rng(7)
    values = list(50.0 + rng.normal(0.0, 1.0, 400))
    values[300] = 80.0
    da = DeviceAnalytics("dev", warmup_samples=50)
    events = _feed(da, "internal_temperature", values)
    # Gaussian noise crosses z = 3 now and then; the spike itself must give exactly one event.
    at_spike = [(i, ev) for i, ev in events if i >= 300]
    assert [i for i, _ in at_spike] == [300]
    ev = at_spike[0][1]
    assert ev.direction == "high"
    assert ev.severity in (Severity.HIGH, Severity.CRITICAL)
    assert 0.5 < ev.score < 1.0
    assert 0.0 < ev.confidence <= 1.0
    lo, hi = ev.expected_range
    assert lo < 50.0 < hi < 80.0


def test_level_shift_reported_once_then_learned_c09() -> None:
    jitter = [16.0, 16.0, 17.0] * 240  # 720 samples, 2 h at 10 s
    step = [20.0] * 2160  # 6 h
    det = StreamDetector(DetectorConfig())
    da = DeviceAnalytics("dev")
    scores = []
    events = []
    for i, v in enumerate(jitter + step):
        scores.append(det.update(v).score)
        if da.add_sample("loop_time", v, 10.0 * i) is not None:
            events.append(i)
    assert events == [720]
    assert 0.0 <= da.scores["loop_time"] < 0.5
    assert all(s < 0.5 for s in scores[720 + 360 :])
    assert all(0.0 <= s < 1.0 for s in scores)
    rep = da.report(now=10.0 * (len(jitter) + len(step) - 1))
    assert rep.anomaly_count == 1
    assert rep.risk_level == RiskLevel.LOW


def test_flat_metric_does_not_alarm_on_one_step_c09() -> None:
    values = [-60.0] * 8640 + [-61.0] + [-60.0] * 10
    da = DeviceAnalytics("dev")
    assert _feed(da, "wifi_signal", values) == []


def test_quantised_metric_never_moving_gives_finite_scores() -> None:
    det = StreamDetector()
    for _ in range(500):
        step = det.update(120_000.0)
        assert step.score == 0.0
    assert det.update(120_004.0).event is False


def test_no_verdict_during_warmup() -> None:
    da = DeviceAnalytics("dev", warmup_samples=50)
    values = [10.0] * 20 + [1000.0, -1000.0] * 15
    assert _feed(da, "loop_time", values[:50]) == []
    det = StreamDetector(DetectorConfig(warmup_samples=50))
    steps = [det.update(v) for v in values]
    assert not any(s.judged or s.event or s.score for s in steps)


def test_warmup_is_configurable() -> None:
    det = StreamDetector(DetectorConfig(warmup_samples=5))
    steps = [det.update(v) for v in [1.0, 2.0, 1.0, 2.0, 1.0, 50.0]]
    assert steps[-1].event


def test_score_never_reaches_one() -> None:
    det = StreamDetector()
    for i in range(100):
        det.update(float(i % 2))
    assert det.update(1e299).score < 1.0


def test_low_excursion_direction() -> None:
    det = StreamDetector()
    rng = np.random.default_rng(3)
    for v in rng.normal(100.0, 2.0, 300):
        det.update(float(v))
    step = det.update(40.0)
    assert step.event
    assert step.direction == "low"


def test_daily_profile_learns_recurring_pattern() -> None:
    rng = np.random.default_rng(5)
    det = StreamDetector()
    events = []
    for i in range(288 * 6):  # 6 days of 5-minute samples
        t = 300.0 * i
        hour = (t % 86_400) / 3600
        value = 30.0 + (20.0 if 8 <= hour < 18 else 0.0) + rng.normal(0.0, 1.0)
        if det.update(value, t).event:
            events.append(i)
    assert det.seasonal(300.0 * 288 * 6)
    assert all(i < 288 * 2 for i in events)  # after two days the day/night step is normal


def test_smooth_daily_cycle_is_learned_not_alarmed() -> None:
    rng = np.random.default_rng(0)
    da = DeviceAnalytics("dev")
    late_events = 0
    worst = 0.0
    for i in range(60 * 24 * 5):  # 5 days of 60 s samples, 12 degC peak to peak
        t = 60.0 * i
        value = round(45.0 + 6.0 * np.sin(2 * np.pi * t / 86_400) + rng.normal(0.0, 0.2), 1)
        if da.add_sample("internal_temperature", value, t) is not None and i >= 2 * 1440:
            late_events += 1
        if i >= 2 * 1440 and i % 60 == 0:
            rep = da.report(now=t)
            worst = max(worst, rep.failure_probability)
            assert rep.risk_level == RiskLevel.LOW
    assert late_events <= 3  # <= 1 a day, from the Gaussian noise alone
    assert worst < 0.3


def test_state_is_small() -> None:
    # Full-precision floats: the size must not depend on how many digits the values have.
    det = StreamDetector()
    rng = np.random.default_rng(13)
    for i in range(3_000):
        det.update(50.0 + (i % 288) / 10.0 + float(rng.normal(0.0, 3.0)), 300.0 * i + 0.123)
    assert len(json.dumps(det.to_dict())) <= 2048


def _slide_events(escalation: float) -> list[tuple[int, str]]:
    """A daily cycle, then a slide of 60 sigma over 600 samples that stays down."""
    rng = random.Random(3)
    det = StreamDetector(DetectorConfig(escalation=escalation))
    events = []
    for i in range(3_000):
        slide = min(60.0, 0.1 * (i - 2_000)) if i >= 2_000 else 0.0
        x = 100.0 + rng.gauss(0.0, 1.0) + 10.0 * math.sin(2.0 * math.pi * i / 288.0) - slide
        step = det.update(x, 300.0 * i)
        if step.event and i >= 2_000:
            events.append((i, step.direction))
    return events


def test_growing_slide_is_reported_again_once_it_has_grown() -> None:
    plain = _slide_events(0.0)
    escalated = _slide_events(2.5)
    # The baseline absorbs the slide: without escalation it is reported twice early on;
    # with it, once more (not once per sample) when it has grown 2.5-fold since its onset.
    assert len(escalated) == len(plain) + 1
    assert escalated[: len(plain)] == plain
    assert escalated[-1][0] > plain[-1][0]
    assert escalated[-1][1] == "low"
