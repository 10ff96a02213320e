"""Throughput and state size of the detector, side by side with river's HalfSpaceTrees.

python benchmarks/throughput.py [--samples N] [--streams N]
Run it in a venv with river installed (see README.md); without river only our figures print.
Everything runs in this one process, on one core: numpy's elementwise kernels are
single-threaded.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time

import _analytics_path  # noqa: F401
import analytics  # type: ignore[import-not-found]
import numpy as np
import numpy.typing as npt
from analytics.fleet import FleetDetector  # type: ignore[import-not-found]

FloatArray = npt.NDArray[np.float64]


def device_stream(samples: int, seed: int = 1) -> tuple[FloatArray, FloatArray]:
    """Free heap of a device every 10 s: noise, a slow leak, a spike and a level shift."""
    rng = np.random.default_rng(seed)
    t = 10.0 * np.arange(samples)
    heap = 150_000.0 - 0.05 * np.arange(samples) + 4.0 * rng.integers(-200, 200, samples)
    heap[samples // 3] -= 30_000.0
    heap[2 * samples // 3 :] -= 10_000.0
    return t, heap


def per_sample(values: FloatArray, t: FloatArray) -> tuple[float, int]:
    """Samples per second of StreamDetector.update, and JSON bytes of its state."""
    det = analytics.StreamDetector()
    xs: list[float] = values.tolist()
    ts: list[float] = t.tolist()
    start = time.perf_counter()
    for x, stamp in zip(xs, ts, strict=True):
        det.update(x, stamp)
    rate = len(xs) / (time.perf_counter() - start)
    return rate, len(json.dumps(det.to_dict()))


def fleet(values: FloatArray, t: FloatArray, streams: int, ticks: int) -> tuple[float, int]:
    """Samples per second of FleetDetector.update over ``streams`` streams, bytes per stream."""
    det = FleetDetector(streams)
    offsets = np.linspace(0.0, 1_000.0, streams)
    start = time.perf_counter()
    for k in range(ticks):
        det.update(values[k % values.size] + offsets, float(t[k % t.size]))
    rate = streams * ticks / (time.perf_counter() - start)
    return rate, det.state_bytes


def river_hst(values: FloatArray) -> tuple[float, int] | None:
    """Samples per second of HalfSpaceTrees score_one + learn_one, and pickled model bytes."""
    try:
        from river import anomaly  # type: ignore[import-not-found]
    except ImportError:
        return None
    lo, hi = float(values.min()), float(values.max())
    scaled: list[float] = ((values - lo) / (hi - lo)).tolist()  # HST wants features in [0, 1]
    model = anomaly.HalfSpaceTrees(seed=1)
    start = time.perf_counter()
    for x in scaled:
        features = {"x": x}
        model.score_one(features)
        model.learn_one(features)
    rate = len(scaled) / (time.perf_counter() - start)
    return rate, len(pickle.dumps(model))


def main() -> None:
    """Print the figures and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--streams", type=int, nargs="+", default=[100, 1_000, 10_000])
    parser.add_argument("--samples-per-size", type=int, default=3_000_000)
    parser.add_argument("--river-samples", type=int, default=5_000)
    args = parser.parse_args()
    t, values = device_stream(args.samples)

    ours_rate, ours_bytes = per_sample(values, t)
    fleets = [
        (size, *fleet(values, t, size, max(50, args.samples_per_size // size)))
        for size in args.streams
    ]
    print(f"per-sample path : {ours_rate:>14,.0f} samples/s  {ours_bytes:>7,} B state (JSON)")
    for size, rate, nbytes in fleets:
        print(
            f"fleet path      : {rate:>14,.0f} samples/s  {nbytes:>7,} B state/stream "
            f"({size:,} streams per tick)"
        )
    hst = river_hst(values[: args.river_samples])
    if hst is None:
        print("river not installed: run in .venv-bench for the comparison")
        return
    hst_rate, hst_bytes = hst
    print(f"river HST       : {hst_rate:>14,.0f} samples/s  {hst_bytes:>7,} B state (pickle)")
    print(f"ratio per-sample / HST : {ours_rate / hst_rate:8.1f}x faster")
    for size, rate, _ in fleets:
        print(f"ratio fleet {size:>6,} / HST : {rate / hst_rate:8.1f}x faster")
    print(f"state HST / per-sample : {hst_bytes / ours_bytes:8.1f}x larger")
    print(f"state HST / fleet      : {hst_bytes / fleets[-1][2]:8.1f}x larger")


if __name__ == "__main__":
    main()
