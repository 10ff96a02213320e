"""Score the detector on a NAB corpus with the three NAB profiles.

python benchmarks/nab_score.py [--data DIR] [--windows FILE]
Defaults: ../shared/nab/data and ../shared/nab/windows.json relative to the repository.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _analytics_path import REPO
from nab_io import FloatArray, detect, epoch_seconds, read_series
from nab_scoring import PROFILES, FileLabels, label_file, optimise

DEFAULT_NAB = REPO.parent / "shared" / "nab"


def load_corpus(
    data_dir: Path, windows_file: Path
) -> tuple[list[str], list[FloatArray], list[FloatArray], list[FileLabels]]:
    """Names, values, times and labels of every file listed in the windows file."""
    windows = json.loads(windows_file.read_text())
    names: list[str] = []
    values: list[FloatArray] = []
    times: list[FloatArray] = []
    labels: list[FileLabels] = []
    for name in sorted(windows):
        path = data_dir / name
        if not path.exists():
            continue
        stamps, vals = read_series(path)
        t = epoch_seconds(stamps)
        bounds = [
            (float(epoch_seconds([a])[0]), float(epoch_seconds([b])[0])) for a, b in windows[name]
        ]
        names.append(name)
        values.append(vals)
        times.append(t)
        labels.append(label_file(t, bounds))
    return names, values, times, labels


def self_check(labels: list[FileLabels]) -> None:
    """A detector firing on the first row of every window scores 100, a silent one 0."""
    perfect = []
    for lab in labels:
        scores = np.zeros(lab.window_of.size)
        for k in range(lab.windows):
            rows = np.nonzero(lab.window_of == k)[0]
            scores[rows[:1]] = 1.0
        perfect.append(scores)
    silent = [np.zeros(lab.window_of.size) for lab in labels]
    for profile, weights in PROFILES.items():
        best = optimise(perfect, labels, weights).score
        null = optimise(silent, labels, weights).score
        print(f"self-check {profile:>14}: perfect {best:.1f}, null {null:.1f}")


def main() -> None:
    """Print the standard, reward_low_FP and reward_low_FN scores."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_NAB / "data")
    parser.add_argument("--windows", type=Path, default=DEFAULT_NAB / "windows.json")
    parser.add_argument("--per-file", action="store_true", help="print detections per file")
    parser.add_argument(
        "--self-check", action="store_true", help="score a perfect and a null detector first"
    )
    args = parser.parse_args()
    names, values, times, labels = load_corpus(args.data, args.windows)
    if args.self_check:
        self_check(labels)
    started = time.perf_counter()
    scores = [detect(v, t) for v, t in zip(values, times, strict=True)]
    elapsed = time.perf_counter() - started
    rows = sum(v.size for v in values)
    print(f"{len(names)} files, {rows} rows, detector {rows / elapsed:,.0f} rows/s")
    for profile, weights in PROFILES.items():
        res = optimise(scores, labels, weights)
        print(
            f"{profile:>14}: {res.score:6.1f}  (threshold {res.threshold:.4f}, "
            f"windows hit {res.true_positives}, false positives {res.false_positives})"
        )
        if args.per_file and profile == "standard":
            for name, sc, lab in zip(names, scores, labels, strict=True):
                hits = [
                    int(i) for i in (sc >= res.threshold).nonzero()[0] if lab.window_of[i] != -2
                ]
                inside = sum(1 for i in hits if lab.window_of[i] >= 0)
                print(
                    f"    {name}: windows {lab.windows}, detections {len(hits)}, "
                    f"in windows {inside}"
                )


if __name__ == "__main__":
    main()
