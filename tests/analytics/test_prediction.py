"""Trends, time to failure, fragmentation, reboots and risk hysteresis."""

from __future__ import annotations

import itertools

import numpy as np

from custom_components.predictive_maintenance.analytics import DeviceAnalytics, RiskLevel
from custom_components.predictive_maintenance.analytics.risk import RiskTracker

C07 = [
    (0, 162_448, 110_000),
    (3_600, 120_000, 60_000),
    (7_200, 80_000, 24_000),
    (10_800, 50_000, 8_000),
    (13_842, 35_000, 4_000),
    (17_694, 25_000, 2_200),
    (21_600, 24_000, 2_100),
    (23_321, 20_000, 2_000),
    (24_300, 17_000, 1_900),
]


def test_linear_heap_leak_time_to_failure_within_20_percent() -> None:
    rng = np.random.default_rng(11)
    da = DeviceAnalytics("dev")
    for i in range(400):  # -50 B/min with +-300 B noise, 60 s samples
        da.add_sample("heap_free", 150_000.0 - 50.0 * i + rng.normal(0.0, 300.0), 60.0 * i)
    rep = da.report(now=60.0 * 399)
    truth_h = (150_000.0 - 50.0 * 399 - 20_000.0) / 50.0 / 60.0
    assert rep.time_to_failure_hours is not None
    assert abs(rep.time_to_failure_hours - truth_h) <= 0.2 * truth_h
    assert rep.failing_metric == "heap_free"
    assert any("heap_free" in r for r in rep.recommendations)


def test_wall_clock_jump_c13a() -> None:
    def run(jump: bool) -> tuple[list[float], list[int]]:
        da = DeviceAnalytics("dev")
        errors: list[float] = []
        events: list[int] = []
        for i in range(790):
            stamp = 60.0 * i + (3600.0 if jump and 10 <= i < 28 else 0.0)
            if da.add_sample("heap_free", 100_000.0 - 100.0 * i, stamp) is not None:
                events.append(i)
            if i >= 50:
                ttf = da.report(now=stamp).time_to_failure_hours
                truth = (800 - i) / 60.0
                assert ttf is not None
                errors.append(abs(ttf - truth) / truth)
        return errors, events

    errors, events = run(jump=True)
    assert max(errors) <= 0.05
    assert events == run(jump=False)[1]


def _c07_samples(step: float = 60.0):
    t = np.arange(0.0, C07[-1][0] + 1, step)
    times = [r[0] for r in C07]
    free = np.interp(t, times, [r[1] for r in C07])
    block = np.interp(t, times, [r[2] for r in C07])
    return t, free, block


def test_fragmentation_drives_risk_high_before_23321_c07() -> None:
    da = DeviceAnalytics("dev")
    first_high = None
    for t, free, block in zip(*_c07_samples(), strict=True):
        da.add_sample("heap_free", float(round(free)), float(t))
        da.add_sample("heap_max_block", float(round(block)), float(t))
        rep = da.report(now=float(t))
        if t == 17_700:
            assert rep.failing_metric == "heap_max_block"  # free heap (25 kB) is not past 20 kB
            assert not any(r.startswith("heap_free") and "past" in r for r in rep.recommendations)
            assert rep.fragmentation is not None
            assert rep.fragmentation < 0.1
            assert "heap_max_block" in rep.metrics_affected
            assert any("fragment" in r for r in rep.recommendations)
        if first_high is None and rep.risk_level.rank >= RiskLevel.HIGH.rank:
            assert rep.time_to_failure_hours is not None
            first_high = t
        assert free > 12_192  # the firmware's own watchdog never fires
    assert first_high is not None
    assert first_high < 23_321 - 20 * 60
    rep = da.report(now=24_300.0)
    assert rep.risk_level.rank >= RiskLevel.HIGH.rank
    da.record_reboot(24_635.0, "panic")
    assert da.report(now=24_640.0).crashes_24h == 1


def _healthy_device() -> tuple[DeviceAnalytics, float]:
    rng = np.random.default_rng(2)
    da = DeviceAnalytics("dev")
    t = 0.0
    for i in range(300):
        t = 60.0 * i
        da.add_sample("wifi_signal", float(round(-55 + rng.normal(0.0, 1.0))), t)
        da.add_sample("heap_free", float(150_000 + 4 * int(rng.integers(-50, 50))), t)
        da.add_sample("internal_temperature", 45.0 + round(rng.normal(0.0, 0.3), 1), t)
    return da, t


def test_unobserved_reboot_does_not_raise_risk_c04() -> None:
    da, t = _healthy_device()
    before = da.report(now=t)
    da.record_reboot(t + 7_200.0, "Software reset", observed=False)
    after = da.report(now=t + 7_200.0)
    assert after.reboots_24h == 1
    assert after.crashes_24h == 0
    assert after.risk_level == RiskLevel.LOW
    assert after.health_score == before.health_score


def test_three_observed_crashes_in_an_hour_raise_risk_c04() -> None:
    da, t = _healthy_device()
    for k in range(3):
        da.record_reboot(t + 600.0 + 1_200.0 * k, "Software reset")
    rep = da.report(now=t + 3_000.0)
    assert rep.crashes_24h == 3
    assert rep.risk_level.rank >= RiskLevel.MEDIUM.rank
    assert any("reboots" in r for r in rep.recommendations)


def test_requested_restart_is_not_a_crash() -> None:
    da, t = _healthy_device()
    da.record_reboot(t + 60.0, "Software/System restart", expected=True)
    assert da.report(now=t + 60.0).crashes_24h == 0


def test_risk_does_not_flap_on_noise() -> None:
    tracker = RiskTracker()
    levels = [tracker.update(p, 60.0 * i) for i, p in enumerate([0.58, 0.62] * 100)]
    changes = sum(1 for a, b in itertools.pairwise(levels) if a != b)
    assert changes <= 1
    assert levels[-1] == RiskLevel.HIGH


def test_risk_falls_after_sustained_improvement() -> None:
    tracker = RiskTracker()
    tracker.update(0.9, 0.0)
    levels = [tracker.update(0.05, 60.0 * (i + 1)) for i in range(12)]
    assert levels[8] == RiskLevel.CRITICAL  # 9 min below: still holding
    assert levels[-1] == RiskLevel.LOW


def test_device_risk_does_not_flap_on_oscillating_rssi() -> None:
    da = DeviceAnalytics("dev")
    levels = []
    for i in range(1_440):
        da.add_sample("wifi_signal", [-79.0, -81.0, -78.0, -82.0][i % 4], 60.0 * i)
        levels.append(da.report(now=60.0 * i).risk_level)
    changes = sum(1 for a, b in itertools.pairwise(levels) if a != b)
    assert changes <= 2


def test_health_score_is_explained_by_components() -> None:
    da, t = _healthy_device()
    rep = da.report(now=t)
    assert rep.health_score == 100.0 - sum(rep.components.values())
    assert set(rep.components) == {
        "thresholds",
        "anomalies",
        "trends",
        "stability",
        "fragmentation",
    }
    for k in range(3):
        da.record_reboot(t + 600.0 * (k + 1), "Brownout")
    worse = da.report(now=t + 2_000.0)
    assert worse.health_score < rep.health_score
    assert worse.components["stability"] > 0.0


def test_anomaly_window_survives_clock_jump_c13a() -> None:
    rng = np.random.default_rng(8)
    da = DeviceAnalytics("dev")
    events = []
    for i in range(600):
        stamp = 60.0 * i + (3600.0 if 300 <= i < 318 else 0.0)
        value = 45.0 + round(rng.normal(0.0, 0.1), 1) + (15.0 if i in (200, 450) else 0.0)
        if da.add_sample("internal_temperature", value, stamp) is not None:
            events.append(i)
    assert 200 in events
    assert 450 in events
    rep = da.report(now=60.0 * 599)
    assert rep.anomaly_count == len(events)
    assert da.report(now=60.0 * 599, lookback_hours=(599 - 300) / 60.0).anomaly_count == len(
        [i for i in events if i > 300]
    )


def test_boot_time_before_last_sample_is_counted_without_moving_clock() -> None:
    da, t = _healthy_device()
    clock_before = da.clock.to_dict()
    da.record_reboot(t - 3.0, "Exception")
    assert da.clock.to_dict() == clock_before
    assert da.report(now=t).crashes_24h == 1
