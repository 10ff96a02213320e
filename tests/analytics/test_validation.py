"""Bad readings are rejected and leave the model byte-identical (C08)."""

from __future__ import annotations

import json

import pytest

from custom_components.predictive_maintenance.analytics import (
    AnomalyDetector,
    DeviceAnalytics,
    InvalidSampleError,
)

BAD = [float("nan"), float("inf"), float("-inf"), None, "45.1", True, [1.0], 1e301]


def _trained() -> DeviceAnalytics:
    da = DeviceAnalytics("dev")
    for i, v in enumerate([45.1, 45.2, 45.3, 45.2] * 20):
        da.add_sample("internal_temperature", v, 60.0 * i)
    return da


@pytest.mark.parametrize("value", BAD)
def test_bad_value_rejected_state_unchanged(value: object) -> None:
    da = _trained()
    before = json.dumps(da.to_dict(), sort_keys=True)
    with pytest.raises(InvalidSampleError):
        da.add_sample("internal_temperature", value, 99_999.0)
    assert json.dumps(da.to_dict(), sort_keys=True) == before


@pytest.mark.parametrize("stamp", [float("nan"), float("inf"), "now"])
def test_bad_timestamp_rejected_state_unchanged(stamp: object) -> None:
    da = _trained()
    before = json.dumps(da.to_dict(), sort_keys=True)
    with pytest.raises(InvalidSampleError):
        da.add_sample("internal_temperature", 45.0, stamp)  # type: ignore[arg-type]
    with pytest.raises(InvalidSampleError):
        da.record_reboot(stamp, "panic")  # type: ignore[arg-type]
    assert json.dumps(da.to_dict(), sort_keys=True) == before


def test_c08_sequence_gives_no_anomaly() -> None:
    da = DeviceAnalytics("dev", warmup_samples=3)
    accepted = 0
    for i, v in enumerate([45.1, float("nan"), 45.2, float("inf"), 45.3]):
        try:
            assert da.add_sample("internal_temperature", v, 60.0 * i) is None
            accepted += 1
        except InvalidSampleError:
            pass
    assert accepted == 3
    assert da.report(now=300.0).anomaly_count == 0


def test_invalid_sample_error_is_value_error() -> None:
    assert issubclass(InvalidSampleError, ValueError)
    with pytest.raises(ValueError, match="finite"):
        AnomalyDetector().detect_anomaly("d", "heap_free", float("nan"))
