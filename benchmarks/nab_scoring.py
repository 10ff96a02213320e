"""NAB scoring, implemented from the rules in shared/nab/README.md.

Per file: rows in probation (the first min(15 %, 750)) are ignored; inside a window only
the earliest detection counts, rewarded A_TP * sigmoid(y), y = -1 at the left edge to 0 at
the right edge; a window with no detection costs A_FN; a detection outside every window
is a false positive costing A_FP before the first window, and A_FP * |sigmoid(d)| after a
window, d = rows past its end / (width - 1). sigmoid(y) = 2 / (1 + exp(5 y)) - 1, and -1
beyond d = 3. One threshold per profile is chosen over the whole corpus.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PROFILES: dict[str, tuple[float, float, float]] = {
    "standard": (1.0, 0.11, 1.0),
    "reward_low_FP": (1.0, 0.22, 1.0),
    "reward_low_FN": (1.0, 0.11, 2.0),
}


def scaled_sigmoid(y: float) -> float:
    """NAB's reward curve."""
    if y > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


@dataclass(frozen=True)
class FileLabels:
    """Row geometry of one file: which window each row is in, and its reward/cost shape."""

    window_of: IntArray  # window id per row, -1 outside, -2 in probation
    tp_unit: FloatArray  # sigmoid reward per in-window row (times A_TP)
    fp_unit: FloatArray  # positive cost per outside row (times A_FP)
    windows: int


def probation_rows(rows: int) -> int:
    """Rows at the start of a file that are never scored."""
    return min(math.floor(0.15 * rows), 750)


def label_file(times: FloatArray, windows: list[tuple[float, float]]) -> FileLabels:
    """Precompute the per-row reward and cost of a detection."""
    rows = times.size
    window_of = np.full(rows, -1, dtype=np.int64)
    tp_unit = np.zeros(rows)
    fp_unit = np.zeros(rows)
    bounds: list[tuple[int, int]] = []
    for k, (start, end) in enumerate(windows):
        lo = int(np.searchsorted(times, start, side="left"))
        hi = int(np.searchsorted(times, end, side="right")) - 1
        bounds.append((lo, hi))
        width = hi - lo + 1
        for i in range(lo, hi + 1):
            window_of[i] = k
            tp_unit[i] = scaled_sigmoid(-(hi - i + 1) / width)
    previous: tuple[int, int] | None = None
    nxt = 0
    for i in range(rows):
        while nxt < len(bounds) and i > bounds[nxt][1]:
            previous = bounds[nxt]
            nxt += 1
        if window_of[i] >= 0:
            continue
        if previous is None:
            fp_unit[i] = 1.0
        else:
            lo, hi = previous
            fp_unit[i] = -scaled_sigmoid(abs(hi - i) / (hi - lo + 1 - 1))
    window_of[: probation_rows(rows)] = -2
    return FileLabels(window_of, tp_unit, fp_unit, len(windows))


@dataclass(frozen=True)
class ProfileResult:
    """Best normalised score of a profile and the threshold that gave it."""

    score: float
    threshold: float
    raw: float
    true_positives: int
    false_positives: int


def optimise(
    scores: list[FloatArray], labels: list[FileLabels], profile: tuple[float, float, float]
) -> ProfileResult:
    """Sweep every distinct score as the threshold; return the best normalised result."""
    a_tp, a_fp, a_fn = profile
    all_scores: list[FloatArray] = []
    deltas: list[FloatArray] = []
    tp_steps: list[FloatArray] = []
    fp_steps: list[FloatArray] = []
    n_windows = sum(lab.windows for lab in labels)
    for sc, lab in zip(scores, labels, strict=True):
        active = lab.window_of != -2
        s = sc[active]
        w = lab.window_of[active]
        delta = np.where(w == -1, -a_fp * lab.fp_unit[active], 0.0)
        newly_tp = np.zeros(s.size)
        is_fp = (w == -1).astype(np.float64)
        order = np.argsort(-s, kind="stable")
        for k in range(lab.windows):
            rows = order[w[order] == k]
            if rows.size == 0:
                continue
            reward = a_tp * lab.tp_unit[active][rows]
            best = np.maximum.accumulate(reward)
            gain = np.diff(np.concatenate(([-a_fn], best)))
            gain = np.maximum(gain, 0.0)
            delta[rows] = gain
            newly_tp[rows[0]] = 1.0
        all_scores.append(s)
        deltas.append(delta)
        tp_steps.append(newly_tp)
        fp_steps.append(is_fp)
    s = np.concatenate(all_scores)
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    null = -a_fn * n_windows
    totals = null + np.cumsum(np.concatenate(deltas)[order])
    tps = np.cumsum(np.concatenate(tp_steps)[order])
    fps = np.cumsum(np.concatenate(fp_steps)[order])
    # A threshold equal to a score includes all rows tied with it: evaluate at tie ends.
    ends = np.nonzero(np.diff(s_sorted) != 0)[0]
    ends = np.concatenate((ends, [s_sorted.size - 1]))
    perfect = a_tp * scaled_sigmoid(-1.0) * n_windows
    best_i = int(ends[np.argmax(totals[ends])])
    raw = float(totals[best_i])
    threshold = float(s_sorted[best_i])
    if raw < null:
        raw, threshold = null, float("inf")
    return ProfileResult(
        100.0 * (raw - null) / (perfect - null),
        threshold,
        raw,
        int(tps[best_i]) if math.isfinite(threshold) else 0,
        int(fps[best_i]) if math.isfinite(threshold) else 0,
    )
