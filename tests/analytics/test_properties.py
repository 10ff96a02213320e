"""Property tests: any finite stream gives scores in [0, 1); bad values change nothing."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.predictive_maintenance.analytics import (
    DetectorConfig,
    DeviceAnalytics,
    InvalidSampleError,
    StreamDetector,
)

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
bad = st.one_of(
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(float("-inf")),
    st.none(),
    st.text(max_size=3),
    st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(finite, min_size=1, max_size=120), st.integers(min_value=1, max_value=20))
def test_scores_in_unit_interval_never_nan(values: list[float], warmup: int) -> None:
    det = StreamDetector(DetectorConfig(warmup_samples=warmup))
    for i, v in enumerate(values):
        step = det.update(v, 3_600.0 * i)
        assert 0.0 <= step.score < 1.0
        assert not math.isnan(step.z)
        assert not math.isnan(step.expected_low)
        assert not math.isnan(step.expected_high)
    json.dumps(det.to_dict(), allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(st.lists(finite, min_size=1, max_size=60), bad)
def test_bad_values_rejected_without_state_change(values: list[float], value: object) -> None:
    da = DeviceAnalytics("dev", warmup_samples=5)
    for i, v in enumerate(values):
        da.add_sample("m", v, 60.0 * i)
    before = json.dumps(da.to_dict(), sort_keys=True, allow_nan=False)
    try:
        da.add_sample("m", value, 1e6)
    except InvalidSampleError:
        pass
    else:
        raise AssertionError("bad value accepted")
    assert json.dumps(da.to_dict(), sort_keys=True, allow_nan=False) == before
    report = da.report(now=1e6)
    assert 0.0 <= report.health_score <= 100.0
    assert 0.0 <= report.failure_probability <= 1.0
