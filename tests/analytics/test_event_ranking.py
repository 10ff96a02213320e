"""Event scores rank events: rare, large, confirmed excursions score higher than routine ones."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from custom_components.predictive_maintenance.analytics import DetectorConfig, StreamDetector
from custom_components.predictive_maintenance.analytics.detector import (
    FLOAT_FIELDS,
    _pack,
    _unpack,
)
from custom_components.predictive_maintenance.analytics.fleet import FleetDetector


def _run(values: list[float]) -> tuple[StreamDetector, list[tuple[int, float]]]:
    det = StreamDetector()
    events = []
    for i, v in enumerate(values):
        step = det.update(v, 60.0 * i)
        if step.event:
            events.append((i, step.score))
    return det, events


def _legacy(state: dict[str, object]) -> dict[str, object]:
    """The same state in the layout of earlier releases: one JSON number per float field."""
    old = dict(state)
    packed = old.pop("floats")
    old.update(zip(FLOAT_FIELDS, _unpack(packed, len(FLOAT_FIELDS)), strict=True))
    return old


def _noise(seed: int, n: int) -> list[float]:
    return list(50.0 + np.random.default_rng(seed).normal(0.0, 1.0, n))


def test_event_scores_stay_in_the_upper_half() -> None:
    values = _noise(1, 3_000)
    for i in range(400, 3_000, 250):
        values[i] += 8.0 + (i % 7)
    _, events = _run(values)
    assert len(events) >= 5
    assert all(0.5 <= score < 1.0 for _, score in events)


def test_a_stream_that_alarms_often_ranks_the_same_spike_lower() -> None:
    quiet = _noise(2, 2_000)
    busy = list(quiet)
    for i in range(300, 1_700, 210):  # routine spikes, each just past the cooldown
        busy[i] += 9.0
    quiet[1_900] += 9.0
    busy[1_900] += 9.0
    _, quiet_events = _run(quiet)
    _, busy_events = _run(busy)
    quiet_last = dict(quiet_events)[1_900]
    busy_last = dict(busy_events)[1_900]
    assert len(busy_events) > len(quiet_events)
    assert busy_last < quiet_last


def test_ranking_rule_prefers_confirmed_and_larger_than_recent_extremes() -> None:
    det, _ = _run(_noise(3, 1_200))
    assert det.extreme > 0.0
    lone = det._event_score(2.0, det.extreme, shifted=False)
    confirmed = det._event_score(2.0, det.extreme, shifted=True)
    larger = det._event_score(2.0, 2.0 * det.extreme, shifted=False)
    smaller = det._event_score(2.0, 0.5 * det.extreme, shifted=False)
    assert smaller < lone < larger
    assert lone < confirmed
    assert all(0.5 <= s < 1.0 for s in (lone, confirmed, larger, smaller))


def test_state_saved_before_event_ranking_still_loads() -> None:
    det, _ = _run(_noise(4, 500))
    old = _legacy(json.loads(json.dumps(det.to_dict())))
    del old["alarms"], old["extreme"]
    restored = StreamDetector.from_dict(old, DetectorConfig())
    assert restored.alarms == 0.0
    assert restored.extreme == 0.0
    step = restored.update(80.0, 60.0 * 500)
    assert step.event
    assert 0.5 <= step.score < 1.0


def test_negative_alarm_count_is_rejected() -> None:
    det, _ = _run(_noise(5, 100))
    state = _legacy(det.to_dict())
    state["alarms"] = -1.0
    with pytest.raises(ValueError, match="out of range"):
        StreamDetector.from_dict(state)
    packed = det.to_dict()
    values = _unpack(packed["floats"], len(FLOAT_FIELDS))
    values[FLOAT_FIELDS.index("alarms")] = -1.0
    packed["floats"] = _pack(values, len(FLOAT_FIELDS))
    with pytest.raises(ValueError, match="out of range"):
        StreamDetector.from_dict(packed)


def test_fleet_ranks_events_like_the_per_sample_path_without_overflow() -> None:
    rng = np.random.default_rng(6)
    fleet = FleetDetector(3)
    singles = [StreamDetector() for _ in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(400):
            x = [1.0 + 1e-12 * (i % 2), 5.0 + float(rng.normal()), 1e-3 * (i % 3)]
            if i == 300:
                x = [1e300, -1e300, 1e300]
            out = fleet.update(x, 60.0 * i)
            for k, det in enumerate(singles):
                step = det.update(x[k], 60.0 * i)
                assert step.score == out.score[k]
                assert step.event == bool(out.event[k])
    for k, det in enumerate(singles):
        assert fleet.stream(k).to_dict() == det.to_dict()


def test_a_spike_after_a_build_up_ranks_higher_than_the_same_spike_from_quiet() -> None:
    quiet = _noise(7, 1_500)
    built = list(quiet)
    for i in range(1_190, 1_200):  # ten samples just under the threshold lead up to it
        built[i] += 2.5
    quiet[1_200] += 9.0
    built[1_200] += 9.0
    q_det, q_events = _run(quiet)
    b_det, b_events = _run(built)
    assert b_det.s_recent > q_det.s_recent
    assert dict(b_events)[1_200] > dict(q_events)[1_200]


def test_a_stream_whose_raw_score_runs_high_ranks_the_same_spike_lower() -> None:
    det, _ = _run(_noise(8, 1_200))
    calm = det._event_score(2.0, det.extreme, shifted=False, excess=0.3)
    usual = det._event_score(2.0, det.extreme, shifted=False, excess=-0.3)
    capped = det._event_score(2.0, det.extreme, shifted=False, excess=50.0)
    assert usual < det._event_score(2.0, det.extreme, shifted=False) < calm < capped
    assert all(0.5 <= s < 1.0 for s in (calm, usual, capped))


def test_state_saved_before_the_score_means_still_loads() -> None:
    det, _ = _run(_noise(9, 500))
    old = _legacy(json.loads(json.dumps(det.to_dict())))
    del old["s_recent"], old["slot_usual"]
    restored = StreamDetector.from_dict(old, DetectorConfig())
    assert restored.s_recent == 0.0
    assert restored.slot_usual == [0.0] * 24
    step = restored.update(80.0, 60.0 * 500)
    assert step.event
    assert 0.5 <= step.score < 1.0
    # A state saved with one stream-wide long mean seeds every hour with it.
    old["s_usual"] = 0.25
    assert StreamDetector.from_dict(old).slot_usual == [0.25] * 24
    bad = det.to_dict()
    bad["slot_usual"] = _pack([0.1] * 23 + [1.0], 24)
    with pytest.raises(ValueError, match="out of range"):
        StreamDetector.from_dict(bad)


def test_the_long_mean_of_the_raw_score_is_kept_per_hour_of_day() -> None:
    # Hourly samples: at 03:00 the stream is three times as noisy as at other hours, so
    # the long mean of its raw score is high at 03:00 only.
    det = StreamDetector()
    rng = np.random.default_rng(11)
    for i in range(24 * 60):
        det.update(50.0 + rng.normal(0.0, 3.0 if i % 24 == 3 else 1.0), 3_600.0 * i)
    assert det.slot_usual[3] > 1.5 * max(det.slot_usual[k] for k in range(24) if k != 3)


def test_packed_scalars_round_trip_and_a_shorter_array_loads_later_fields_as_zero() -> None:
    det, _ = _run(_noise(12, 600))
    state = json.loads(json.dumps(det.to_dict()))
    assert StreamDetector.from_dict(state).to_dict() == det.to_dict()
    # The same state in the per-key layout of earlier releases loads to the same detector.
    assert StreamDetector.from_dict(_legacy(state)).to_dict() == det.to_dict()
    # A packed array written before the last field existed loads that field as 0.0.
    values = _unpack(state["floats"], len(FLOAT_FIELDS))
    state["floats"] = _pack(values[:-1], len(FLOAT_FIELDS) - 1)
    restored = StreamDetector.from_dict(state)
    assert getattr(restored, FLOAT_FIELDS[-1]) == 0.0
    assert restored.level == det.level
    state["floats"] = _pack([1.0] * (len(FLOAT_FIELDS) + 1), len(FLOAT_FIELDS) + 1)
    with pytest.raises(ValueError, match="packed"):
        StreamDetector.from_dict(state)
