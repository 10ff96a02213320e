"""State persistence round trips, version checks, the fleet path and the seed facade."""

from __future__ import annotations

import json

import numpy as np
import pytest

from custom_components.predictive_maintenance.analytics import (
    AnomalyDetector,
    DeviceAnalytics,
    InvalidSampleError,
    StreamDetector,
)
from custom_components.predictive_maintenance.analytics.fleet import FleetDetector


def _stream(rng: np.random.Generator, n: int) -> list[float]:
    values = list(1_000.0 + rng.normal(0.0, 5.0, n))
    values[n // 2] += 200.0
    return values


def test_round_trip_gives_identical_scores() -> None:
    rng = np.random.default_rng(4)
    values = _stream(rng, 1_000)
    da = DeviceAnalytics("dev")
    for i, v in enumerate(values[:400]):
        da.add_sample("heap_free", v, 60.0 * i)
        da.add_sample("loop_time", v / 100.0, 60.0 * i)
    da.record_reboot(60.0 * 399, "panic")
    restored = DeviceAnalytics.from_dict(json.loads(json.dumps(da.to_dict())))
    assert restored.to_dict() == da.to_dict()
    for i, v in enumerate(values[400:], start=400):
        a = da.add_sample("heap_free", v, 60.0 * i)
        b = restored.add_sample("heap_free", v, 60.0 * i)
        assert a == b
    assert restored.to_dict() == da.to_dict()
    assert restored.report(now=60_000.0) == da.report(now=60_000.0)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(version=99),
        lambda d: d.pop("version"),
        lambda d: d.pop("detectors"),
        lambda d: d["detectors"]["heap_free"].update(floats="x"),
        lambda d: d["detectors"]["heap_free"].update(floats=7),
        lambda d: d["detectors"]["heap_free"].update(season=[1.0]),
        lambda d: d.update(reboots="nope"),
        lambda d: d["risk"].update(level="purple"),
    ],
)
def test_corrupt_or_unknown_state_raises_value_error(mutate) -> None:
    da = DeviceAnalytics("dev")
    for i in range(60):
        da.add_sample("heap_free", 1000.0 + i % 3, 60.0 * i)
    data = json.loads(json.dumps(da.to_dict()))
    mutate(data)
    with pytest.raises(ValueError, match="analytics state"):
        DeviceAnalytics.from_dict(data)
    with pytest.raises(ValueError, match="analytics state"):
        DeviceAnalytics.from_dict("not a dict")


@pytest.mark.parametrize("timestamps", [False, True])
def test_fleet_path_equals_per_sample_path(timestamps: bool) -> None:
    rng = np.random.default_rng(9)
    size, ticks = 12, 2_500
    data = rng.normal(0.0, 1.0, (ticks, size))
    data[:, 0:3] = np.round(data[:, 0:3] * 3.0)  # quantised
    data[:, 3] = 5.0  # flat
    data[1_200:, 4] += 12.0  # level shift
    data[900, 5] += 40.0  # spike
    fleet = FleetDetector(size)
    singles = [StreamDetector() for _ in range(size)]
    for k in range(ticks):
        t = 300.0 * k if timestamps else None
        out = fleet.update(data[k], t)
        for i, det in enumerate(singles):
            step = det.update(float(data[k, i]), t)
            assert step.score == out.score[i]
            assert step.event == bool(out.event[i])
            assert step.z == out.z[i]
    for i, det in enumerate(singles):
        assert fleet.stream(i).to_dict() == det.to_dict()
    again = FleetDetector.from_dict(json.loads(json.dumps(fleet.to_dict())))
    assert again.to_dict() == fleet.to_dict()
    assert fleet.state_bytes <= 2048


def test_fleet_rejects_bad_values_without_change() -> None:
    fleet = FleetDetector(3)
    fleet.update([1.0, 2.0, 3.0])
    before = json.dumps(fleet.to_dict())
    with pytest.raises(InvalidSampleError):
        fleet.update([1.0, float("nan"), 3.0])
    with pytest.raises(InvalidSampleError):
        fleet.update([1.0, 2.0])
    assert json.dumps(fleet.to_dict()) == before


def test_seed_facade() -> None:
    det = AnomalyDetector()
    rng = np.random.default_rng(1)
    for i in range(200):
        det.update_baseline("esp", "internal_temperature", 45.0 + rng.normal(0.0, 0.2), 60.0 * i)
    anomaly = det.detect_anomaly("esp", "internal_temperature", 75.0, 60.0 * 200)
    assert anomaly is not None
    assert anomaly["severity"] == anomaly.severity
    assert set(anomaly.as_dict()) >= {"severity", "confidence", "expected_range", "score"}
    pred = det.predict_failure("esp", lookback_hours=24)
    assert set(pred) >= {
        "risk_level",
        "failure_probability",
        "time_to_failure_hours",
        "confidence",
        "recommendations",
        "anomaly_count",
        "metrics_affected",
        "most_affected_metric",
    }
    assert pred["anomaly_count"] >= 1
    assert pred["most_affected_metric"] == "internal_temperature"
    assert 0.0 <= det.get_device_health_score("esp") <= 100.0
    assert det.get_device_health_score("unknown") == 100.0
    assert det.predict_failure("unknown")["risk_level"] == "low"
    assert "unknown" not in det.devices
    assert det.detect_anomaly("esp", "loop_time", 16.0) is None  # timestamp defaults to now
    restored = AnomalyDetector.from_dict(json.loads(json.dumps(det.to_dict())))
    assert restored.to_dict() == det.to_dict()
    with pytest.raises(ValueError, match="anomaly detector state"):
        AnomalyDetector.from_dict({"version": 0})
