"""NAB file reading/writing and the streaming detector run used by both NAB scripts."""

from __future__ import annotations

import csv
from pathlib import Path

import _analytics_path  # noqa: F401
import analytics  # type: ignore[import-not-found]
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
NON_EVENT_WEIGHT = 0.0


def read_series(path: Path) -> tuple[list[str], FloatArray]:
    """Timestamps (as text) and values of a NAB csv file."""
    stamps: list[str] = []
    values: list[float] = []
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for row in reader:
            stamps.append(row[0])
            values.append(float(row[1]))
    return stamps, np.asarray(values, dtype=np.float64)


def epoch_seconds(stamps: list[str]) -> FloatArray:
    """NAB timestamps (naive, 'YYYY-MM-DD HH:MM:SS[.ffffff]') as seconds since the epoch."""
    parsed = np.array([s.replace(" ", "T") for s in stamps], dtype="datetime64[us]")
    seconds: FloatArray = parsed.astype(np.int64).astype(np.float64) / 1e6
    return seconds


def detect(
    values: FloatArray, times: FloatArray | None = None, config: object = None
) -> FloatArray:
    """One pass, no look-ahead: NAB score per row.

    The first row of an excursion carries the detector's event score (0.5..1); the other
    rows carry NON_EVENT_WEIGHT times theirs (0), so one excursion gives at most one
    detection whatever threshold NAB picks.
    """
    det = analytics.StreamDetector(config)
    out = np.empty(values.size, dtype=np.float64)
    xs: list[float] = values.tolist()
    for i, x in enumerate(xs):
        step = det.update(x, None if times is None else float(times[i]))
        out[i] = step.score if step.event else NON_EVENT_WEIGHT * step.score
    return out


def write_scores(path: Path, stamps: list[str], values: FloatArray, scores: FloatArray) -> None:
    """timestamp,value,anomaly_score with one row per input row."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["timestamp", "value", "anomaly_score"])
        xs: list[float] = values.tolist()
        ss: list[float] = scores.tolist()
        for stamp, value, score in zip(stamps, xs, ss, strict=True):
            writer.writerow([stamp, repr(value), f"{score:.12f}"])
